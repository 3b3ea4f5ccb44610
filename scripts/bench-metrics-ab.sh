#!/usr/bin/env bash
# A/B load benchmark of what the metrics cost the token endpoint: client-credentials ES256 against an
# IdP with `admin.metrics = true` and one with `admin.metrics = false`, both loaded at the same time.
#
# The method of scripts/bench-auth-ab.sh (docs/BENCHMARKS.md, "The A/B method"): runs one after the
# other on this 2-core VM differ by 20-35%, so both sides run at once under the very same
# conditions. Three IdP processes on one SQLite file (one tokio worker each) share core 0; two wrk
# processes on core 1 load two of them at the same time; the ratio of their throughputs is the
# ratio of their costs per request. Every round has an A/A pair (metrics off against a second
# metrics-off process) to show the method's own bias; which load starts first, and which metrics-off
# process is the baseline, alternate between rounds. The metrics-on process is scraped every
# $SCRAPE_EVERY seconds throughout (Prometheus scrapes every 15-60 s: this is the harsher case), so
# rendering is part of its cost.
#
# Usage: [ROUNDS=10] [SCRAPE_EVERY=1] scripts/bench-metrics-ab.sh [SECONDS_PER_RUN] [CONNECTIONS_PER_SIDE]
#        (defaults: 5 s, 32 connections).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-32}
rounds=${ROUNDS:-10}
scrape_every=${SCRAPE_EVERY:-1}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release -q -p auth-server
bin=$PWD/target/release/auth-server
work=$(mktemp -d /tmp/auth-bench-metrics.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/lib/idp-env.sh
secret=$("$bin" client create --name bench-es --id bench-es --alg ES256 --scope read --default-scope read --resource https://api.example --json | secret_of)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start NAME true|false: an IdP with metrics on or off, one tokio worker, on core 0. Sets
# ${NAME}_pid, ${NAME}_url and ${NAME}_admin.
start() {
  local name=$1 metrics=$2 p a pid
  p=$(free_port); a=$(free_port)
  AUTH_SERVER_SERVER_BIND="127.0.0.1:$p" AUTH_SERVER_SERVER_ISSUER="http://127.0.0.1:$p" \
    AUTH_SERVER_ADMIN_BIND="127.0.0.1:$a" AUTH_SERVER_ADMIN_METRICS="$metrics" \
    TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" serve &
  pid=$!
  pids="$pids $pid"
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_url" %s "http://127.0.0.1:$p"
  printf -v "${name}_admin" %s "http://127.0.0.1:$a"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
}
start on true   # first alone: it creates the keys the others load
start off1 false
start off2 false
for url in "$on_url" "$off1_url" "$off2_url"; do
  curl -sf -u "bench-es:$secret" -d grant_type=client_credentials "$url/token" >/dev/null
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$off1_admin/metrics")" = 404 ]

cat > "$work/token.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "grant_type=client_credentials"
LUA
export BENCH_BASIC; BENCH_BASIC=$(printf '%s' "bench-es:$secret" | base64 -w0)
(while :; do taskset -c 1 curl -sf "$on_admin/metrics" > "$work/scrape"; sleep "$scrape_every"; done) &
pids="$pids $!"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One pair: "<name> <round> <rps A> <rps B> <CPU ticks A> <CPU ticks B>" (A is the first URL).
pair() {
  local name=$1 url_a=$2 pid_a=$3 url_b=$4 pid_b=$5 a0 b0 a1 b1
  a0=$(ticks "$pid_a"); b0=$(ticks "$pid_b")
  load() { taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "$work/token.lua" "$1/token" > "$2"; }
  if [ $((r % 2)) = 1 ]; then
    load "$url_a" "$work/a" & load "$url_b" "$work/b"
  else
    load "$url_b" "$work/b" & load "$url_a" "$work/a"
  fi
  wait $!
  a1=$(ticks "$pid_a"); b1=$(ticks "$pid_b")
  if grep -q Non-2xx "$work/a" "$work/b"; then echo "NON-2XX in $name" >&2; cat "$work/a" "$work/b" >&2; fi
  echo "$name $r $(awk '/Requests\/sec/ {print $2}' "$work/a") $(awk '/Requests\/sec/ {print $2}' "$work/b") \
$((a1 - a0)) $((b1 - b0))" >> "$work/results"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')"
echo "per side: wrk -t1 -c$conns -d${secs}s on core 1; three IdPs on core 0, one tokio worker each; metrics-on scraped every ${scrape_every}s; $rounds rounds"
: > "$work/results"
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    base=$off1_url base_pid=$off1_pid other=$off2_url other_pid=$off2_pid
  else
    base=$off2_url base_pid=$off2_pid other=$off1_url other_pid=$off1_pid
  fi
  pair control "$other" "$other_pid" "$base" "$base_pid"
  pair metrics "$on_url" "$on_pid" "$base" "$base_pid"
done
python3 - "$work/results" "$secs" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
secs, hz = float(sys.argv[2]), float(sys.argv[3])
rows = {}
for line in open(sys.argv[1]):
    name, _r, a, b, ta, tb = line.split()
    rows.setdefault(name, []).append((float(a), float(b), int(ta) / hz / secs, int(tb) / hz / secs))
label = {"control": "off / off (A/A control)", "metrics": "on / off"}
print("| pair (ES256 client credentials) | throughput ratio per round | median | mean | requests per CPU-second, ratio (median) |")
print("|---|---|---|---|---|")
for k in ["control", "metrics"]:
    ratios = [a / b for a, b, _, _ in rows[k]]
    per_cpu = [(a / ta) / (b / tb) for a, b, ta, tb in rows[k] if ta > 0 and tb > 0]
    print(f"| {label[k]} | {', '.join(f'{x:.1%}' for x in ratios)} | {statistics.median(ratios):.1%} "
          f"| {statistics.mean(ratios):.1%} | {statistics.median(per_cpu):.1%} |")
print()
for k in ["control", "metrics"]:
    a = statistics.median(x[0] for x in rows[k]); b = statistics.median(x[1] for x in rows[k])
    print(f"{label[k]}: median requests/s {a:.0f} / {b:.0f}")
PY
echo
echo "the metrics-on process's last scrape (what it recorded):"
grep -E '^auth_server_(tokens_issued_total|client_cache_lookups_total|http_request_duration_seconds_count)' "$work/scrape"

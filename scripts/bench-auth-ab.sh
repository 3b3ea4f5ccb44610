#!/usr/bin/env bash
# A/B load benchmark of authentication in a resource service, both sides loaded at the same time.
#
# Identical runs of this 2-core VM differ by 20-35% from one minute to the next (and by as much
# within a minute), so throughputs measured one after the other cannot resolve a 10% difference.
# Here both sides run at once, under the very same conditions: two `auth_overhead` processes (one
# tokio worker each) share core 0, so the scheduler gives each half of it, and two wrk processes on
# core 1 load them at the same time. The ratio of their throughputs is the ratio of their costs per
# request. An A/A pair (two unauthenticated processes) in every round shows the method's own bias;
# which side's load starts first, and which unauthenticated process is the baseline, alternate
# between rounds.
#
# Pairs, each with the same Authorization header sent to both sides (so both receive the same bytes):
#   control  open (header ignored)   vs  open (header ignored), a second process
#   es       ES256 bearer, cache warm  vs  open (header ignored)
#   rs       RS256 bearer, cache warm  vs  open (header ignored)
#
# Usage: [ROUNDS=10] [REVOKED=1] scripts/bench-auth-ab.sh [SECONDS_PER_RUN] [CONNECTIONS_PER_SIDE]
#        (defaults: 4 s, 32 connections). REVOKED=1 revokes one other token first, so every
#        verification also checks a non-empty revocation list (polled from the IdP's feed).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
conns=${2:-32}
rounds=${ROUNDS:-10}
pin_load="taskset -c 1"
. scripts/lib/bench-idp.sh

one="TOKIO_WORKER_THREADS=1"
start_service protected $one taskset -c 0; prot_pid=$svc_pid
start_service open $one taskset -c 0; open_pid=$svc_pid
mv "$work/urls.open" "$work/urls.open1"
start_service open $one taskset -c 0; open2_pid=$svc_pid
protected=$(awk '{print $2}' "$work/urls.protected")
open=$(awk '{print $2}' "$work/urls.open1")
open2=$(awk '{print $2}' "$work/urls.open")
curl -sf -H "Authorization: Bearer $es_token" "$protected/items/widget" >/dev/null
curl -sf -H "Authorization: Bearer $rs_token" "$protected/items/widget" >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One pair: "<name> <round> <rps A> <rps B> <CPU share A> <CPU share B>" (A is the first URL).
pair() {
  local name=$1 token=$2 url_a=$3 pid_a=$4 url_b=$5 pid_b=$6 a0 b0 a1 b1
  a0=$(ticks "$pid_a"); b0=$(ticks "$pid_b")
  load() { $pin_load wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $token" "$1/items/widget" > "$2"; }
  # The wrk started first gets a small head start: it goes first in odd rounds, second in even ones.
  if [ $((r % 2)) = 1 ]; then
    load "$url_a" "$work/a" & load "$url_b" "$work/b"
  else
    load "$url_b" "$work/b" & load "$url_a" "$work/a"
  fi
  wait $!
  a1=$(ticks "$pid_a"); b1=$(ticks "$pid_b")
  if grep -q Non-2xx "$work/a" "$work/b"; then echo "NON-2XX in $name" >&2; cat "$work/a" "$work/b" >&2; fi
  echo "$name $r $(awk '/Requests\/sec/ {print $2}' "$work/a") $(awk '/Requests\/sec/ {print $2}' "$work/b") \
$(( (a1 - a0) )) $(( (b1 - b0) ))" >> "$work/results"
}

echo "machine: $(nproc) cores, $(uname -r); REVOKED=${REVOKED:-0}; per side wrk -t1 -c$conns -d${secs}s on core 1; both services on core 0, one tokio worker each; IdP idle on core 1"
: > "$work/results"
for r in $(seq "$rounds"); do
  # The two unauthenticated processes take turns as the baseline (and as A in the control).
  if [ $((r % 2)) = 1 ]; then
    base=$open base_pid=$open_pid other=$open2 other_pid=$open2_pid
  else
    base=$open2 base_pid=$open2_pid other=$open other_pid=$open_pid
  fi
  pair control "$es_token" "$other" "$other_pid" "$base" "$base_pid"
  pair es "$es_token" "$protected" "$prot_pid" "$base" "$base_pid"
  pair rs "$rs_token" "$protected" "$prot_pid" "$base" "$base_pid"
done
python3 - "$work/results" "$secs" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
secs, hz = float(sys.argv[2]), float(sys.argv[3])
rows = {}
for line in open(sys.argv[1]):
    name, _r, a, b, ta, tb = line.split()
    rows.setdefault(name, []).append((float(a), float(b), int(ta) / hz / secs, int(tb) / hz / secs))
label = {"control": "open / open (A/A control)", "es": "ES256 / open", "rs": "RS256 / open"}
print("| pair (same header bytes to both) | throughput ratio per round | median | mean | requests per CPU-second, ratio (median) | core 0 busy, A + B (median) |")
print("|---|---|---|---|---|---|")
for k in ["control", "es", "rs"]:
    ratios = [a / b for a, b, _, _ in rows[k]]
    per_cpu = [(a / ta) / (b / tb) for a, b, ta, tb in rows[k] if ta > 0 and tb > 0]
    busy = statistics.median(ta + tb for _, _, ta, tb in rows[k])
    print(f"| {label[k]} | {', '.join(f'{x:.1%}' for x in ratios)} | {statistics.median(ratios):.1%} "
          f"| {statistics.mean(ratios):.1%} | {statistics.median(per_cpu):.1%} | {busy:.0%} |")
print()
for k in ["control", "es", "rs"]:
    a = statistics.median(x[0] for x in rows[k]); b = statistics.median(x[1] for x in rows[k])
    print(f"{label[k]}: median requests/s {a:.0f} / {b:.0f}")
PY

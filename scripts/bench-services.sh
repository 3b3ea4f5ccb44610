#!/usr/bin/env bash
# Load benchmark of a resource service: inventory-service's GET /items/{sku} behind the real bearer and
# scope checks against the same handler with no authentication, with a warm verified-token cache.
# Also the verifier's per-verification cost against raw josekit, in the same run.
# Usage: [ROUNDS=5] [PIN=1] [WORKERS=n] scripts/bench-services.sh [SECONDS_PER_RUN] [CONNECTIONS]
#        (defaults: 5 s, 64 connections)
# PIN=1 runs the service on core 0 and wrk (one thread) and the idle IdP on core 1, so the load
# generator does not compete with the service it measures; without it everything shares both cores.
# WORKERS sets the service's tokio worker threads (default: one per core; 1 suits PIN=1's one core).
# Each round runs the four variants back to back, in reverse order every other round, and the ratios
# are taken within each round, so slow drifts of this noisy machine hit both sides of a ratio alike.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-64}
if [ "${PIN:-0}" = 1 ]; then
  pin_svc="taskset -c 0"; pin_load="taskset -c 1"; wrk_threads=1
else
  pin_svc=""; pin_load=""; wrk_threads=2
fi
. scripts/lib/bench-idp.sh

workers=${WORKERS:+TOKIO_WORKER_THREADS=$WORKERS}
start_service both $workers $pin_svc
protected=$(awk '/^protected/ {print $2}' "$work/urls.both")
open=$(awk '/^open/ {print $2}' "$work/urls.both")
curl -sf -H "Authorization: Bearer $es_token" "$protected/items/widget" >/dev/null
curl -sf -H "Authorization: Bearer $rs_token" "$protected/items/widget" >/dev/null

rounds=${ROUNDS:-5}
echo "machine: $(nproc) cores, $(uname -r); wrk -t$wrk_threads -c$conns -d${secs}s on the same machine; IdP idle; PIN=${PIN:-0} WORKERS=${WORKERS:-default}"
echo "$rounds interleaved rounds of the four variants (the machine is noisy: per-round ratios and medians are compared)"
# CPU time (user + system, clock ticks) the service has used so far.
svc_ticks() { awk '{print $14 + $15}' "/proc/$svc_pid/stat"; }
# Prints "requests/s  service-CPU-µs-per-request" for one wrk run.
rps() {
  local t0 t1 out
  t0=$(svc_ticks)
  out=$($pin_load wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" "$@")
  t1=$(svc_ticks)
  grep -q Non-2xx <<<"$out" && echo "NON-2XX: $out" >&2
  awk -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" '
    / requests in / {n = $1} /Requests\/sec/ {r = $2}
    END {printf "%s %.3f\n", r, (t1 - t0) / hz * 1e6 / n}' <<<"$out"
}
: > "$work/results"
variant() {
  case $1 in
    open) echo "open $r $(rps "$open/items/widget")" ;;
    open_hdr) echo "open_hdr $r $(rps -H "Authorization: Bearer $es_token" "$open/items/widget")" ;;
    es) echo "es $r $(rps -H "Authorization: Bearer $es_token" "$protected/items/widget")" ;;
    rs) echo "rs $r $(rps -H "Authorization: Bearer $rs_token" "$protected/items/widget")" ;;
  esac >> "$work/results"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="open open_hdr es rs"; else order="rs es open_hdr open"; fi
  for v in $order; do variant "$v"; done
done
python3 - "$work/results" <<'PY'
import statistics, sys
runs, rounds, cpu = {}, {}, {}
for line in open(sys.argv[1]):
    k, r, v, us = line.split()
    runs.setdefault(k, []).append(float(v))
    rounds.setdefault(r, {})[k] = float(v)
    cpu.setdefault(r, {})[k] = float(us)
names = {"open": "no authentication", "open_hdr": "no authentication, same Authorization header sent and ignored",
         "es": "ES256 bearer token, cache warm", "rs": "RS256 bearer token, cache warm"}
print("| GET /items/widget | runs (requests/s) | median |")
print("|---|---|---|")
for k in ["open", "open_hdr", "es", "rs"]:
    print(f"| {names[k]} | {', '.join(f'{x:.0f}' for x in runs[k])} | {statistics.median(runs[k]):.0f} |")
m = {k: statistics.median(v) for k, v in runs.items()}
print(f"\nmedian ratio to no authentication: ES256 {m['es']/m['open']:.1%}, RS256 {m['rs']/m['open']:.1%}")
print(f"median ratio to no authentication with the same bytes sent: ES256 {m['es']/m['open_hdr']:.1%}, RS256 {m['rs']/m['open_hdr']:.1%}")
def per_round(a, b):
    return [x[a] / x[b] for x in rounds.values()]
print("\nratios within each round (the same minute of the machine), and their median:")
for a, b in [("es", "open"), ("rs", "open"), ("es", "open_hdr"), ("rs", "open_hdr")]:
    rs_ = per_round(a, b)
    print(f"  {a} / {b}: {', '.join(f'{x:.1%}' for x in rs_)}; median {statistics.median(rs_):.1%}")
print("\nservice CPU per request (user + system, µs), per round:")
for k in ["open", "open_hdr", "es", "rs"]:
    xs = [c[k] for c in cpu.values()]
    print(f"  {k}: {', '.join(f'{x:.2f}' for x in xs)}; median {statistics.median(xs):.2f}")
print("throughput that CPU cost allows, as a ratio (no-auth CPU / authenticated CPU, within each round):")
for a, b in [("es", "open"), ("rs", "open"), ("es", "open_hdr"), ("rs", "open_hdr")]:
    xs = [c[b] / c[a] for c in cpu.values()]
    print(f"  {a} vs {b}: {', '.join(f'{x:.1%}' for x in xs)}; median {statistics.median(xs):.1%}")
PY
echo
echo "verifier cost per token against raw josekit (cargo bench -p auth-verifier --bench verify):"
cargo bench -q -p auth-verifier --bench verify 2>/dev/null

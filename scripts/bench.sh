#!/usr/bin/env bash
# Load benchmark of the IdP on this machine: wrk (Debian's package) against a release build on the
# embedded default (SQLite), with the raw signing ceiling measured in the same run.
# Usage: scripts/bench.sh [SECONDS_PER_RUN] [CONNECTIONS]     (defaults: 15, 64)
# Results go to stdout as Markdown; copy them into docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release -q -p auth-server
bin=$PWD/target/release/auth-server
work=$(mktemp -d /tmp/auth-bench.XXXXXX)
. scripts/lib/idp-env.sh
base=$idp

es=$("$bin" client create --name bench-es --id bench-es --alg ES256 --scope read --default-scope read --resource https://api.example --json | secret_of)
rs=$("$bin" client create --name bench-rs --id bench-rs --alg RS256 --scope read --default-scope read --resource https://api.example --json | secret_of)

"$bin" serve & pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
peak_rss() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
cat > "$work/token.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "grant_type=client_credentials"
LUA
b64() { printf '%s' "$1" | base64 -w0; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); wrk -t2 -c$conns -d${secs}s on the same machine"
echo "idle RSS after start: $(rss) KiB"
curl -sf -u "bench-es:$es" -d grant_type=client_credentials "$base/token" >/dev/null
curl -sf -u "bench-rs:$rs" -d grant_type=client_credentials "$base/token" >/dev/null
echo "idle RSS after first tokens: $(rss) KiB"
echo

run() { # name, wrk args...
  local name=$1; shift
  local out; out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errs; errs=$(awk '/Non-2xx/ {print $5}' <<<"$out"); errs=${errs:-0}
  local sockerr; sockerr=$(grep -c 'Socket errors' <<<"$out" || true)
  printf '| %s | %s | %s | %s | %s | %s KiB |\n' "$name" "$rps" "$p99" "$errs" "$sockerr" "$(rss)"
}
echo "| endpoint | requests/s | p99 latency | non-2xx | socket-error lines | RSS after run |"
echo "|---|---|---|---|---|---|"
run "GET /jwks" "$base/jwks"
BENCH_BASIC=$(b64 "bench-es:$es") run "POST /token ES256" -s "$work/token.lua" "$base/token"
BENCH_BASIC=$(b64 "bench-rs:$rs") run "POST /token RS256 (2048)" -s "$work/token.lua" "$base/token"
echo
echo "peak RSS of the server during the whole run: $(peak_rss) KiB"
echo
echo "raw signing ceiling, same machine, same run (server idle):"
kill $pid; wait $pid 2>/dev/null || true
cargo bench -q -p auth-server --bench raw_sign -- 5 2>/dev/null

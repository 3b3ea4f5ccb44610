#!/usr/bin/env bash
# Login benchmark: password sign-ins per second through POST /login (wrk, Debian's package) against a
# release build on the embedded default (SQLite), compared with the raw argon2id verification rate of
# the same machine measured in the same run; then a storm of 256 concurrent sign-ins, during which a
# gentle probe measures the latency of GET /jwks and POST /token (client credentials) against idle,
# and the server's peak resident memory is read from /proc. The sign-in rate at 256 connections is
# printed as a share of the rate at 8 connections measured in the same run (issue 8: a storm must not
# halve the sign-ins served; the target is at least 80%).
# Usage: scripts/bench-login.sh [SECONDS_PER_RUN]      (default 20). Results go to stdout as Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cargo build --release -q -p auth-server
bin=$PWD/target/release/auth-server
work=$(mktemp -d /tmp/auth-bench-login.XXXXXX)
idp_log=error
. scripts/lib/idp-env.sh
# The benchmark signs in as one user from one address thousands of times: lift the throttle's limits
# (they count failures only, and every sign-in here succeeds, but keep them out of the picture).
export AUTH_SERVER_LOGIN_MAX_FAILURES_PER_ACCOUNT=1000000 AUTH_SERVER_LOGIN_MAX_FAILURES_PER_ADDRESS=1000000
export AUTH_SERVER_LOGIN_MAX_FAILURES_PER_PAIR=1000000
base=$idp

cc=$("$bin" client create --name bench-cc --id bench-cc --alg ES256 --scope read --default-scope read --resource https://api.example --json | secret_of)
"$bin" client create --name "Bench web" --id bench-web --first-party --scope openid \
  --redirect-uri https://bench.example/cb --json >/dev/null
echo 'bench-password-1' | "$bin" user create --username bench --password-stdin >/dev/null

"$bin" serve & pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
peak_rss() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }

idle_rss=$(rss)
csrf=benchcsrfbenchcsrfbenchcsrfbenchcsrfbench12
cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "auth_csrf=$csrf"
wrk.body = "csrf=$csrf&response_type=code&client_id=bench-web&redirect_uri=https%3A%2F%2Fbench.example%2Fcb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&username=bench&password=bench-password-1"
LUA
# One sign-in by hand: it must redirect with a code.
loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: auth_csrf=$csrf" --data "@-" "$base/login" <<<"$(sed -n 's/^wrk.body = "\(.*\)"$/\1/p' "$work/login.lua")")
case "$loc" in https://bench.example/cb\?code=*) ;; *) echo "sign-in does not work: $loc"; exit 1;; esac

basic=$(printf '%s' "bench-cc:$cc" | base64 -w0)
echo "load average before the run (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); wrk on the same machine; ${secs}s per run"
echo "idle RSS: $idle_rss KiB (after start); after one sign-in: $(rss) KiB"
echo
echo "latency probes (one request every 20 ms on one connection; p50 / p99 / max ms, errors, requests):"
echo
echo "| probe | server | p50 ms | p99 ms | max ms | errors | requests |"
echo "|---|---|---|---|---|---|---|"
probe() { # label, state, url, [basic]
  read -r p50 p99 max errs n < <(python3 scripts/latency_probe.py "$3" "$secs" 0.02 ${4:-})
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$p50" "$p99" "$max" "$errs" "$n"
}
probe "GET /jwks" idle "$base/jwks"
probe "POST /token (client credentials, ES256)" idle "$base/token" "$basic"

wrk_login() { # connections -> prints "logins/s non2xx total_requests p99"
  local out; out=$(wrk -t2 -c"$1" -d"${secs}s" --latency -s "$work/login.lua" "$base/login")
  local total; total=$(awk '/requests in/ {print $1}' <<<"$out")
  local non; non=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non=${non:-0}
  local dur; dur=$(awk '/requests in/ {sub("s,","",$4); print $4}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  python3 -c "print(f'{($total-$non)/$dur:.1f} $non $total $p99')"
}

# The storm: 256 concurrent sign-ins, with both probes running alongside.
python3 scripts/latency_probe.py "$base/jwks" "$secs" 0.02 > "$work/p-jwks" &
python3 scripts/latency_probe.py "$base/token" "$secs" 0.02 "$basic" > "$work/p-cc" &
read -r storm_rate storm_busy storm_total storm_p99 < <(wrk_login 256)
wait %2 %3 2>/dev/null || wait
read -r p50 p99 max errs n < "$work/p-jwks"
printf '| %s | %s | %s | %s | %s | %s | %s |\n' "GET /jwks" "256 concurrent sign-ins" "$p50" "$p99" "$max" "$errs" "$n"
read -r p50 p99 max errs n < "$work/p-cc"
printf '| %s | %s | %s | %s | %s | %s | %s |\n' "POST /token (client credentials, ES256)" "256 concurrent sign-ins" "$p50" "$p99" "$max" "$errs" "$n"
storm_peak=$(peak_rss)
echo
# Let the storm's queued sign-ins finish, so the 8-connection run starts on an idle server.
sleep 3
read -r rate8 busy8 total8 p99_8 < <(wrk_login 8)
echo "| POST /login | connections | successful sign-ins/s | answered busy (503) | requests | p99 latency |"
echo "|---|---|---|---|---|---|"
echo "| sign-in, redirect with a code | 8 | $rate8 | $busy8 | $total8 | $p99_8 |"
echo "| sign-in, redirect with a code | 256 | $storm_rate | $storm_busy | $storm_total | $storm_p99 |"
echo
python3 -c "print(f'sign-ins/s at 256 connections / at 8 connections, same run: {$storm_rate}/{$rate8} = {100*$storm_rate/$rate8:.0f}% (target: at least 80%)')"
echo "load average after the sign-in runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "peak RSS of the server (VmHWM) after the 256-connection storm: $storm_peak KiB; RSS now: $(rss) KiB"
echo
echo "raw argon2id ceiling, same machine, same run (server stopped):"
kill $pid; wait $pid 2>/dev/null || true
echo
echo "| measurement | rate |"
echo "|---|---|"
cargo bench -q -p auth-server --bench raw_argon2 -- 8 2>/dev/null

# Sourced by the resource-service load benchmarks: builds the IdP and the `auth_overhead` example
# (release), starts the IdP on a throwaway SQLite file (pinned with $pin_load when set), registers an
# ES256 and an RS256 client for https://inventory.internal, and sets $idp, $es_token, $rs_token, $work.
# Processes appended to $pids are killed on exit.
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# Two commands: with `--example`, cargo would build only that example, leaving a stale IdP binary.
cargo build --release -q -p auth-server
cargo build --release -q -p inventory-service --example auth_overhead
idp_bin=$PWD/target/release/auth-server
work=$(mktemp -d /tmp/auth-bench-svc.XXXXXX)
pids=""
trap 'kill $pids 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/lib/idp-env.sh

es=$("$idp_bin" client create --name ops-es --id ops-es --alg ES256 --scope inventory:read --default-scope inventory:read --resource https://inventory.internal --json | secret_of)
rs=$("$idp_bin" client create --name ops-rs --id ops-rs --alg RS256 --scope inventory:read --default-scope inventory:read --resource https://inventory.internal --json | secret_of)
${pin_load:-} "$idp_bin" serve & pids="$pids $!"
for _ in $(seq 100); do curl -sf "$idp/healthz" >/dev/null && break; sleep 0.1; done

token() { curl -sf -u "$1:$2" -d grant_type=client_credentials "$idp/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
es_token=$(token ops-es "$es")
rs_token=$(token ops-rs "$rs")
# REVOKED=1: revoke one (other) token first, so the services' revocation feed is not empty and every
# verification checks the revocation list, as in a deployment where tokens get revoked.
if [ "${REVOKED:-0}" = 1 ]; then
  curl -sf -u "ops-es:$es" --data-urlencode "token=$(token ops-es "$es")" "$idp/revoke" >/dev/null
  [ "$(curl -sf "$idp/revocations" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["revoked"]))')" = 1 ]
fi

# Starts `auth_overhead` serving $1 (protected, open, or both) with extra env $2..; waits for its
# URLs in "$work/urls.<name>", where <name> is $1. Sets $svc_pid.
start_service() {
  local name=$1 want=1
  shift
  [ "$name" = both ] && want=2
  env INVENTORY_ISSUER="$idp" AUTH_OVERHEAD_ONLY="${name/both/}" "$@" target/release/examples/auth_overhead > "$work/urls.$name" &
  svc_pid=$!
  pids="$pids $svc_pid"
  for _ in $(seq 100); do [ "$(wc -l < "$work/urls.$name")" -ge $want ] && break; sleep 0.1; done
}

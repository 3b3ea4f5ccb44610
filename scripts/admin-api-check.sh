#!/usr/bin/env bash
# Checks the admin API against its own OpenAPI document with schemathesis (PyPI, unmodified): a
# real auth-server binary on a throwaway SQLite database, the admin API on its own listener, an
# admin client made with the CLI (the documented bootstrap), a client-credentials token, then
# generated requests to every operation; it fails on any 5xx and on any response that does not
# match the document. Bounded (examples per operation, time budget) to stay under two minutes.
# Usage: scripts/admin-api-check.sh   (needs python3 with venv and pip, curl)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wait-ready.sh

venv=${SCHEMATHESIS_VENV:-/tmp/auth-server-schemathesis-venv}
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q '4.32.5'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
cargo build -q --locked -p auth-server
bin=target/debug/auth-server

work=$(mktemp -d /tmp/auth-admin-api.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin_port=$(free_port)
export AUTH_SERVER_SERVER_BIND="127.0.0.1:$port"
export AUTH_SERVER_SERVER_ISSUER="http://127.0.0.1:$port"
export AUTH_SERVER_ADMIN_BIND="127.0.0.1:$admin_port"
export AUTH_SERVER_ADMIN_API=admin
export AUTH_SERVER_DATABASE_URL="sqlite://$work/idp.db?mode=rwc"
export AUTH_SERVER_KEYS_KEK_FILE="$work/kek"
export AUTH_SERVER_LOG=warn
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The bootstrap, as the README documents it: an admin client for the admin audience.
audience=urn:auth-server:admin  # admin.audience (the default)
secret=$("$bin" client create --name "admin automation" --id ops \
  --scope admin:read --scope admin:write --resource "$audience" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')

"$bin" serve &
pid=$!
wait_ready "http://127.0.0.1:$port/healthz" "$pid"
token=$(curl -fsS -u "ops:$secret" -d grant_type=client_credentials \
  --data-urlencode "scope=admin:read admin:write" "http://127.0.0.1:$port/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# The token works before the fuzzing starts (a broken bootstrap must not pass as "no 5xx").
curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/admin/v1/keys" >/dev/null

# Key revocation runs last, on its own: revoking the key that signed the token turns every later
# request into a (documented) 401, which would leave the other operations untested.
# Run from the throwaway directory: schemathesis keeps its caches in the working directory.
check() {
  (cd "$work" && "$venv/bin/schemathesis" run "http://127.0.0.1:$admin_port/admin/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --workers 1 --seed 10 --no-color --report-dir "$work/report" "$@")
}
check --exclude-path-regex '/revoke$' --max-examples "${ADMIN_API_CHECK_EXAMPLES:-25}" --max-time 60
check --include-path-regex '/revoke$' --max-examples 10 --max-time 20

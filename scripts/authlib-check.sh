#!/usr/bin/env bash
# Runs the authorization-code flow, and client credentials with private_key_jwt, with Python's authlib (unmodified, from PyPI) against a real
# auth-server binary on a throwaway SQLite database: see scripts/authlib_check.py.
# Usage: scripts/authlib-check.sh   (needs python3 with venv and pip; installs authlib in a venv)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wait-ready.sh

venv=${AUTHLIB_VENV:-/tmp/auth-server-authlib-venv}
if ! "$venv/bin/python" -c 'import authlib, requests' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check authlib==1.9.9 requests==2.34.2
fi
cargo build -q --locked -p auth-server
bin=target/debug/auth-server

work=$(mktemp -d /tmp/auth-authlib.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AUTH_SERVER_SERVER_BIND="127.0.0.1:$port"
export AUTH_SERVER_SERVER_ISSUER="http://127.0.0.1:$port"
export AUTH_SERVER_ADMIN_BIND="127.0.0.1:0"
export AUTH_SERVER_DATABASE_URL="sqlite://$work/idp.db?mode=rwc"
export AUTH_SERVER_KEYS_KEK_FILE="$work/kek"
export AUTH_SERVER_LOG=warn
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

secret=$("$bin" client create --name "authlib app" --id authlib-app --first-party \
  --scope openid --scope profile --scope email --scope offline_access \
  --redirect-uri http://127.0.0.1:9/cb --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
"$bin" client create --name "authlib public app" --id authlib-public --public --first-party \
  --scope openid --scope profile --scope offline_access --redirect-uri http://127.0.0.1:9/cb >/dev/null
# A partner that authenticates with private_key_jwt (RFC 7523): its key pair is made with joserfc
# (authlib's JOSE library); only the public JWK Set is registered.
"$venv/bin/python" - "$work" <<'PY'
import json, sys
from joserfc.jwk import ECKey
key = ECKey.generate_key("P-256", private=True, auto_kid=True)
open(f"{sys.argv[1]}/partner.pem", "wb").write(key.as_pem(private=True))
json.dump({"keys": [key.as_dict(private=False)]}, open(f"{sys.argv[1]}/partner-jwks.json", "w"))
PY
"$bin" client create --name "authlib partner" --id authlib-partner --scope partner:read \
  --resource https://partner-api.example --auth-method private_key_jwt \
  --jwks-file "$work/partner-jwks.json" >/dev/null
echo 'authlib-check-password' | "$bin" user create --username alice --email alice@example.com --password-stdin >/dev/null

"$bin" serve &
pid=$!
wait_ready "http://127.0.0.1:$port/healthz" "$pid"
"$venv/bin/python" scripts/authlib_check.py "http://127.0.0.1:$port" authlib-app "$secret" \
  authlib-public alice authlib-check-password authlib-partner "$work/partner.pem"

# Sourced by the load benchmarks (scripts/bench.sh, scripts/bench-login.sh, scripts/lib/bench-idp.sh):
# configures a throwaway IdP in $work (a free loopback port, a SQLite file, a KEK file; logs at
# ${idp_log:-warn}) through AUTH_SERVER_* variables, sets $port and $idp (its base URL), and defines
# `secret_of` (the client secret in the JSON of `auth-server client create --json` on stdin).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AUTH_SERVER_SERVER_BIND="127.0.0.1:$port" AUTH_SERVER_SERVER_ISSUER="http://127.0.0.1:$port"
export AUTH_SERVER_ADMIN_BIND="127.0.0.1:$((port + 1))"
export AUTH_SERVER_DATABASE_URL="sqlite://$work/auth.db?mode=rwc" AUTH_SERVER_KEYS_KEK_FILE="$work/kek"
export AUTH_SERVER_LOG=${idp_log:-warn}
idp="http://127.0.0.1:$port"
secret_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])'; }

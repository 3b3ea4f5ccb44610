#!/usr/bin/env bash
# The database statements of each flow, measured (docs/SCALING.md): starts a throwaway PostgreSQL
# cluster with pg_stat_statements and durable settings (fsync on, synchronous_commit on), runs the
# release server against it with a config file, registers clients and N users with the CLI, then
# drives every flow N times (scripts/scaling_flows.py), printing per flow the statements PostgreSQL
# ran and the transactions it committed. Last, the background job's statements per tick. Not part of
# the test command. Needs PostgreSQL's server packages (Debian's `postgresql`) and Python's requests.
# Usage: scripts/scaling-measure.sh [N]     (default 200). Markdown on stdout.
# The statement counts do not depend on N (beyond the client cache's refills, one a client per
# clients.cache_ttl_secs); N only averages them.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}

# SCALING_SERVER_BIN: another build of the server (the statements do not depend on the profile).
bin=${SCALING_SERVER_BIN:-}
[ -n "$bin" ] || { cargo build --release -q -p auth-server; bin=$PWD/target/release/auth-server; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
work=$(mktemp -d /tmp/auth-scaling.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port)
as_pg "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $pgport -k $work \
  -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements \
  -c pg_stat_statements.track=all -c pg_stat_statements.max=5000 -c fsync=on -c synchronous_commit=on -c autovacuum=off" \
  start >/dev/null
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export PSQL="psql -h 127.0.0.1 -p $pgport -U postgres -d postgres -X -q" AUTH_DB=auth
$PSQL -c "create extension pg_stat_statements" -c "create database auth"

port=$(free_port)
cat > "$work/auth-server.toml" <<TOML
[server]
bind = "127.0.0.1:$port"
issuer = "http://127.0.0.1:$port"
[database]
url = "postgres://postgres@127.0.0.1:$pgport/auth"
max_connections = 16
[keys]
kek_file = "$work/kek"
# No maintenance tick during the flows (measured on its own at the end).
refresh_interval_secs = 1800
[authorize]
# The codes of the first sign-ins wait while the others sign in.
code_ttl_secs = 600
[admin]
enabled = false
TOML
export AUTH_SERVER_CONFIG="$work/auth-server.toml" AUTH_SERVER_LOG=warn
secret_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])'; }
"$bin" migrate
WEB_SECRET=$("$bin" client create --name "Scaling web" --id scaling-web --first-party --scope openid \
  --scope offline_access --redirect-uri https://app.example/cb --json | secret_of)
CC_SECRET=$("$bin" client create --name "Scaling cc" --id scaling-cc --alg ES256 --scope read \
  --default-scope read --resource https://api.example --json | secret_of)
export WEB_SECRET CC_SECRET USER_PREFIX=user
for i in $(seq 0 $((n - 1))); do
  echo 'scaling-password-1' | "$bin" user create --username "user$i" --password-stdin >/dev/null
done

"$bin" serve & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r);" \
  "$($PSQL -At -c 'select version()' | cut -d, -f1); fsync=$($PSQL -At -c 'show fsync')," \
  "synchronous_commit=$($PSQL -At -c 'show synchronous_commit'); $(date -u '+%Y-%m-%d %H:%M UTC')"
python3 scripts/scaling_flows.py "http://127.0.0.1:$port" "$n"

# The background job (key maintenance, purge of expired rows, audit retention), every 5 s (the
# shortest interval the configuration accepts), for 30 s.
kill "$pid"; wait "$pid" 2>/dev/null || true
AUTH_SERVER_KEYS_REFRESH_INTERVAL_SECS=5 "$bin" serve & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
sleep 1
$PSQL -c "select pg_stat_statements_reset()" >/dev/null
sleep 30
echo
echo "### The background job: 30 s with keys.refresh_interval_secs = 5 (6 ticks) on an idle server"
echo
echo "| calls | rows | mean ms | statement |"
echo "|---|---|---|---|"
$PSQL -At -F '|' -c "select s.calls, s.rows, round(s.mean_exec_time::numeric, 3),
  left(regexp_replace(s.query, '\s+', ' ', 'g'), 140) from pg_stat_statements s
  join pg_database d on d.oid = s.dbid where d.datname = 'auth' order by s.calls desc, s.query" |
  sed 's/^/| /; s/$/ |/'

# The start-contract checks of scripts/image-check.sh, run against the built image $IMAGE with the
# docker daemon (sourced; `docker`, `say` and `fail` come from the caller). Every container and volume
# made here is named auth-image-check-$$-* and removed by image_run_cleanup.

IMAGE=auth-server:check
IMAGE_PREFIX=auth-image-check-$$
IMAGE_CONTAINERS=()
IMAGE_VOLUMES=()
# Seconds a container gets to turn healthy (it migrates first; the HEALTHCHECK runs every second here).
IMAGE_HEALTH_DEADLINE=90

image_run_cleanup() {
  local c
  for c in "${IMAGE_CONTAINERS[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
  for c in "${IMAGE_VOLUMES[@]}"; do docker volume rm -f "$c" >/dev/null 2>&1 || true; done
}

# free_ports N: N distinct free TCP ports on this machine, one per line.
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("0.0.0.0", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# start NAME [docker run arguments...]: runs a container detached, named $IMAGE_PREFIX-NAME (set in
# $started), recorded for cleanup. The image's HEALTHCHECK command runs every second instead of every 10.
start() {
  started=$IMAGE_PREFIX-$1
  shift
  IMAGE_CONTAINERS+=("$started")
  docker run -d --name "$started" --health-interval 1s "$@" >/dev/null || fail "docker run $started failed"
}

# dump NAME: the container's last log lines, on stderr.
dump() {
  echo "--- last log lines of $1:" >&2
  docker logs --tail 30 "$1" >&2 2>&1 || true
}

# wait_healthy NAME: polls the health status the image's HEALTHCHECK sets, until `healthy`.
wait_healthy() {
  local name=$1 deadline=$((SECONDS + IMAGE_HEALTH_DEADLINE)) status
  while :; do
    status=$(docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' "$name")
    case $status in
      "running healthy") return 0 ;;
      running*) ;;
      *) dump "$name"; fail "$name stopped before it was healthy ($status)" ;;
    esac
    [ $SECONDS -lt $deadline ] || { dump "$name"; fail "$name not healthy within ${IMAGE_HEALTH_DEADLINE} s ($status)"; }
    sleep 0.5
  done
}

# json_field FIELD: FIELD of the JSON object on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# log_field NAME MESSAGE FIELD: FIELD of the container's JSON log line whose message is MESSAGE.
log_field() {
  docker logs "$1" 2>&1 | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("message") == sys.argv[1]:
        print(event.get(sys.argv[2], "(absent)"))
        break
else:
    print("(no such log line)")' "$2" "$3"
}

# expect WHAT GOT WANT
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# kids URL: the sorted key ids of the JWKS at URL, space-separated.
kids() {
  curl -fsS "$1/jwks" | python3 -c 'import json,sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))'
}

# client NAME ID: creates a client-credentials client with the CLI inside container NAME; prints its secret.
client() {
  docker exec "$1" auth-server client create --name "image check" --id "$2" \
    --scope check:read --resource https://api.check.example --json | json_field client_secret \
    || fail "auth-server client create in $1 failed"
}

# token URL ID SECRET: a client-credentials access token from the server at URL; fails loudly.
token() {
  curl -fsS -u "$2:$3" -d grant_type=client_credentials -d scope=check:read \
    -d resource=https://api.check.example "$1/token" | json_field access_token
}

# The image's own declarations: user, configuration, volume, ports, health check.
image_check_config() {
  say "image configuration"
  docker image inspect -f '{{json .Config}}' "$IMAGE" | python3 -c '
import json, sys
c = json.load(sys.stdin)
want = {
    "User": "10001:10001",
    "Healthcheck.Test": ["CMD", "auth-server", "healthcheck"],
    "Entrypoint": ["auth-server"],
    "Cmd": ["serve"],
    "Volumes": ["/var/lib/auth-server"],
    "ExposedPorts": ["8080/tcp", "9090/tcp"],
    "AUTH_SERVER_CONFIG": "/etc/auth-server/container.toml",
}
got = {
    "User": c.get("User"),
    "Healthcheck.Test": (c.get("Healthcheck") or {}).get("Test"),
    "Entrypoint": c.get("Entrypoint"),
    "Cmd": c.get("Cmd"),
    "Volumes": sorted(c.get("Volumes") or {}),
    "ExposedPorts": sorted(c.get("ExposedPorts") or {}),
    "AUTH_SERVER_CONFIG": dict(e.split("=", 1) for e in c.get("Env") or []).get("AUTH_SERVER_CONFIG"),
}
bad = [f"{k}: got {got[k]!r}, want {v!r}" for k, v in want.items() if got[k] != v]
if bad:
    sys.exit("image-check FAILED: image configuration: " + "; ".join(bad))'
}

# The baked configuration as it ships, in a network namespace of its own: it listens on 0.0.0.0:8080,
# the health check reaches it there, and the process and its files belong to uid 10001.
image_check_baked() {
  say "baked configuration: 0.0.0.0:8080, healthy, uid 10001, data in the volume"
  local c
  start baked --network none "$IMAGE"
  c=$started
  wait_healthy "$c"
  expect "bind in the startup log" "$(log_field "$c" "auth-server listening" bind)" "0.0.0.0:8080"
  expect "issuer in the startup log" "$(log_field "$c" "auth-server listening" issuer)" "http://localhost:8080"
  docker exec "$c" auth-server healthcheck | grep -q '^http://127.0.0.1:8080/readyz: 200 ' \
    || fail "auth-server healthcheck in the container did not get 200 from 127.0.0.1:8080"
  expect "uid of the server process" \
    "$(docker exec "$c" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2, $3, $4, $5}')" "10001 10001 10001 10001"
  expect "owner and mode of the generated KEK" \
    "$(docker exec "$c" stat -c '%u %a' /var/lib/auth-server/kek)" "10001 600"
  expect "owner of the SQLite database" \
    "$(docker exec "$c" stat -c '%u' /var/lib/auth-server/auth-server.db)" "10001"
  docker rm -f -v "$c" >/dev/null
}

# On the host's network (free ports, bind and issuer from the environment), SQLite in a named volume:
# discovery, a token for a client made with the CLI, and the same keys and client after the container
# is replaced by a new one on the same volume.
image_check_sqlite() {
  say "SQLite in a volume: discovery, a token, keys and client kept across a new container"
  local ports port admin vol base env c secret before after
  ports=$(free_ports 2)
  port=$(sed -n 1p <<<"$ports")
  admin=$(sed -n 2p <<<"$ports")
  base=http://127.0.0.1:$port
  vol=$IMAGE_PREFIX-data
  IMAGE_VOLUMES+=("$vol")
  docker volume create "$vol" >/dev/null
  env=(-e "AUTH_SERVER_SERVER_BIND=0.0.0.0:$port" -e "AUTH_SERVER_SERVER_ISSUER=$base"
    -e "AUTH_SERVER_ADMIN_BIND=127.0.0.1:$admin")
  start sqlite-1 --network host -v "$vol:/var/lib/auth-server" "${env[@]}" "$IMAGE"
  c=$started
  wait_healthy "$c"
  expect "discovery issuer" "$(curl -fsS "$base/.well-known/openid-configuration" | json_field issuer)" "$base"
  secret=$(client "$c" image-check)
  [ -n "$(token "$base" image-check "$secret")" ] || fail "no access token from $base"
  before=$(kids "$base")
  [ -n "$before" ] || fail "the JWKS at $base has no keys"
  SQLITE_CPUS=$(log_field "$c" "thread pools sized" available_cpus)
  docker stop -t 30 "$c" >/dev/null
  docker rm "$c" >/dev/null

  start sqlite-2 --network host -v "$vol:/var/lib/auth-server" "${env[@]}" "$IMAGE"
  c=$started
  wait_healthy "$c"
  after=$(kids "$base")
  expect "JWKS key ids after a new container on the same volume" "$after" "$before"
  [ -n "$(token "$base" image-check "$secret")" ] || fail "the client made before the restart got no token"
  docker rm -f "$c" >/dev/null
}

# A PostgreSQL URL and a KEK from secret files (the _FILE variables), on a fresh database of
# $AUTH_TEST_PG_URL's server, under a CPU quota of one (--cpus=1): the server migrates it, serves
# tokens with the given KEK (none generated), and sizes its pools to one CPU.
image_check_postgres() {
  if [ -z "${AUTH_TEST_PG_URL:-}" ]; then
    [ "${AUTH_TEST_REQUIRE_PG:-}" = 1 ] && fail "AUTH_TEST_REQUIRE_PG=1 but AUTH_TEST_PG_URL is not set"
    say "PostgreSQL: SKIPPED (AUTH_TEST_PG_URL is not set); the CPU quota is checked on SQLite"
    local ports
    ports=$(free_ports 2)
    start cpus --network host --cpus=1 -e "AUTH_SERVER_SERVER_BIND=127.0.0.1:$(sed -n 1p <<<"$ports")" \
      -e "AUTH_SERVER_ADMIN_BIND=127.0.0.1:$(sed -n 2p <<<"$ports")" "$IMAGE"
    CPUS_CONTAINER=$started
    CPUS_ADMIN=$(sed -n 2p <<<"$ports")
    wait_healthy "$CPUS_CONTAINER"
    return 0
  fi
  command -v psql >/dev/null || fail "psql is needed to make the check's database (apt-get install postgresql-client)"
  say "PostgreSQL and the KEK from secret files (AUTH_SERVER_DATABASE_URL_FILE, AUTH_SERVER_KEYS_KEK_FILE), --cpus=1"
  local ports port admin base url c secret tables
  pg_db=auth_image_check_$$
  psql -q "$AUTH_TEST_PG_URL" -c "CREATE DATABASE $pg_db" >/dev/null || fail "could not create database $pg_db"
  url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
    "$AUTH_TEST_PG_URL" "$pg_db")
  ports=$(free_ports 2)
  port=$(sed -n 1p <<<"$ports")
  admin=$(sed -n 2p <<<"$ports")
  base=http://127.0.0.1:$port
  # The database URL and the KEK as secrets: files readable by the image's user only, named by
  # AUTH_SERVER_DATABASE_URL_FILE and AUTH_SERVER_KEYS_KEK_FILE.
  mkdir -p "$work/secrets"
  printf '%s\n' "$url" >"$work/secrets/db-url"
  head -c 32 /dev/urandom | base64 >"$work/secrets/kek"
  chown 10001:10001 "$work/secrets/db-url" "$work/secrets/kek"
  chmod 0400 "$work/secrets/db-url" "$work/secrets/kek"
  start postgres --network host --cpus=1 -v "$work/secrets:/run/secrets:ro" \
    -e AUTH_SERVER_DATABASE_URL_FILE=/run/secrets/db-url -e AUTH_SERVER_KEYS_KEK_FILE=/run/secrets/kek \
    -e "AUTH_SERVER_SERVER_BIND=0.0.0.0:$port" -e "AUTH_SERVER_SERVER_ISSUER=$base" \
    -e "AUTH_SERVER_ADMIN_BIND=127.0.0.1:$admin" "$IMAGE"
  c=$started
  wait_healthy "$c"
  docker exec "$c" test ! -e /var/lib/auth-server/kek || fail "a KEK was generated although AUTH_SERVER_KEYS_KEK_FILE names one"
  secret=$(client "$c" image-check-pg)
  [ -n "$(token "$base" image-check-pg "$secret")" ] || fail "no access token from $base (PostgreSQL)"
  tables=$(psql -At "$url" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  [ "$tables" -gt 0 ] || fail "the server did not migrate $pg_db"
  docker exec "$c" test ! -e /var/lib/auth-server/auth-server.db || fail "a SQLite file was made although the URL names PostgreSQL"
  CPUS_CONTAINER=$c
  CPUS_ADMIN=$admin
}

# The hashing and signing pools follow the CPU quota: one thread each under --cpus=1 (the startup log,
# and the hashing capacity on /metrics), against the machine's count without a quota.
image_check_cpus() {
  say "thread pools under --cpus=1 (without a quota: $SQLITE_CPUS)"
  local c=$CPUS_CONTAINER
  expect "available_cpus under --cpus=1" "$(log_field "$c" "thread pools sized" available_cpus)" 1
  expect "password_hash_threads under --cpus=1" "$(log_field "$c" "thread pools sized" password_hash_threads)" 1
  expect "signing_threads under --cpus=1" "$(log_field "$c" "thread pools sized" signing_threads)" 1
  expect "available_cpus without a quota" "$SQLITE_CPUS" "$(nproc)"
  if [ -n "${CPUS_ADMIN:-}" ]; then
    # Capacity = hashing threads + passwords.max_waiting (64 by default).
    expect "auth_server_password_hash_capacity under --cpus=1" \
      "$(curl -fsS "http://127.0.0.1:$CPUS_ADMIN/metrics" | awk '$1 == "auth_server_password_hash_capacity" {print $2}')" 65
  fi
  [ "$(nproc)" -gt 1 ] || say "note: this machine has one CPU, so the quota changes nothing here"
}

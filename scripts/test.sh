#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing (OpenSSL headers, PostgreSQL,
# Chromium and chromedriver for the browser tests), starts a throwaway PostgreSQL cluster, checks
# formatting and lints, and runs every test on SQLite and PostgreSQL.
# Usage: scripts/test.sh [extra nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromedriver >/dev/null || missing+=(chromium chromium-driver)
command -v curl >/dev/null || missing+=(curl)
# Debian's nginx, the reverse proxy of the two-replica test (tests/e2e/proxy_replicas*.rs).
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
# The authlib check (scripts/authlib-check.sh) and the admin API check (scripts/admin-api-check.sh)
# make virtualenvs and install authlib and schemathesis from PyPI.
# Debian's docker.io and debootstrap: the container image is built and started (scripts/image-check.sh).
[ -x /usr/bin/docker ] && command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# docker.io 20.10 cannot start a container on a kernel with AppArmor on but no apparmor_parser.
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && ! command -v apparmor_parser >/dev/null; then
  missing+=(apparmor)
fi
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# fmt and clippy are rustup components, absent from a minimal toolchain.
if ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  echo "== installing rustfmt and clippy"
  rustup component add rustfmt clippy >/dev/null
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install --locked cargo-nextest >/dev/null
fi

echo "== starting a throwaway PostgreSQL"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdir=$(mktemp -d /tmp/auth-test-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -o \
  "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
  start >/dev/null
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  if [ -n "${bases_pid:-}" ]; then
    kill -- -"$bases_pid" 2>/dev/null || true
    wait "$bases_pid" 2>/dev/null || true
  fi
  # The dockerd the image check started (none when one was already running).
  if [ -s "$pgdir/dockerd.pid" ]; then as_root kill "$(cat "$pgdir/dockerd.pid")" 2>/dev/null || true; fi
  rm -rf "$pgdir"
}
trap cleanup EXIT
export AUTH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
export AUTH_TEST_REQUIRE_PG=1
export AUTH_TEST_REQUIRE_BROWSER=1
AUTH_TEST_NGINX=$(command -v nginx || echo /usr/sbin/nginx)
export AUTH_TEST_NGINX AUTH_TEST_REQUIRE_NGINX=1

# The image check's base images (debootstrap, mostly downloads) are made in the background while the
# rest runs; the dockerd it starts is stopped at exit.
# In a session of its own, so that stopping it stops its debootstraps too.
export AUTH_IMAGE_DOCKERD_PIDFILE="$pgdir/dockerd.pid"
setsid scripts/image-check.sh --bases-only >"$pgdir/image-bases.log" 2>&1 &
bases_pid=$!

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== deployment files (Kubernetes schemas, compose spec, nginx -t)"; scripts/deploy-lint.sh
echo "== tests (SQLite and PostgreSQL)"
cargo test --workspace --doc --locked -q
# The two-replica test starts the real binary as child processes.
cargo build --locked -q -p auth-server --bin auth-server
export AUTH_TEST_SERVER_BIN="$PWD/target/debug/auth-server"
cargo nextest run --workspace --locked --no-fail-fast "$@"
echo "== the code flow through Python's authlib"
scripts/authlib-check.sh
echo "== the admin API against its OpenAPI document (schemathesis)"
scripts/admin-api-check.sh
echo "== the container image, built and started (hadolint, docker build, start contract)"
if ! wait "$bases_pid"; then
  cat "$pgdir/image-bases.log" >&2
  echo "making the image check's base images failed" >&2
  exit 1
fi
bases_pid=
cat "$pgdir/image-bases.log"
scripts/image-check.sh

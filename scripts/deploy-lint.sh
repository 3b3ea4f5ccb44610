#!/usr/bin/env bash
# Lints the deployment files that cannot run here (scripts/deploy_lint.py says what is checked):
# the Kubernetes manifests against the real Kubernetes schemas (kubernetes-validate from PyPI ships
# them, per version, in its wheel: no network at check time) in strict mode plus the restricted Pod
# Security Standard's rules, the compose file against the compose specification's schema (vendored in
# check-jsonschema) plus its cross-references, and deploy/nginx/nginx.conf with Debian's `nginx -t`.
# Then it breaks copies of the files in 23 ways and fails unless each break is caught.
# Usage: scripts/deploy-lint.sh   (needs python3 with venv and pip; installs nginx if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

venv=${DEPLOY_LINT_VENV:-/tmp/auth-server-deploy-lint-venv}
pins=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0)
if ! "$venv/bin/pip" freeze 2>/dev/null | grep -qx "${pins[0]}" \
  || ! "$venv/bin/pip" freeze 2>/dev/null | grep -qx "${pins[1]}"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}"
fi

nginx=$(PATH="$PATH:/usr/sbin" command -v nginx || true)
if [ -z "$nginx" ]; then
  echo "== installing nginx (for nginx -t)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
  nginx=/usr/sbin/nginx
fi

"$venv/bin/python" scripts/deploy_lint.py --nginx "$nginx" --self-test

# Sourced by the scripts that start auth-server themselves (scripts/authlib-check.sh,
# scripts/admin-api-check.sh). `wait_ready URL PID [SECONDS]` polls URL until it answers 2xx, and
# fails (exit 1) as soon as process PID has exited or after SECONDS (default 30) without an answer.
wait_ready() {
  local url=$1 pid=$2 deadline=$((SECONDS + ${3:-30}))
  until curl -fs "$url" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "the server exited before $url answered" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "$url did not answer within ${3:-30} s" >&2; exit 1; }
    sleep 0.05
  done
}

#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a while, one after the other, one job each, and prints
# what libFuzzer reports: executions, coverage (cov/ft) and crashes. Needs a nightly toolchain and
# cargo-fuzz (installed if missing). Not part of scripts/test.sh (CI time budget): see
# docs/FUZZING.md for how to run it and for the recorded runs.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-60}
shift || true
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "== installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz >/dev/null
fi
# No sanitizer: every crate under test forbids unsafe code, so AddressSanitizer would add build and
# run time for little; debug assertions (overflow checks) stay on, as cargo-fuzz's default.
flags=(--sanitizer none)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(cargo +nightly fuzz list)

echo "== building ${targets[*]}"
cargo +nightly fuzz build "${flags[@]}" || exit 1

mkdir -p logs
status=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  echo "== $t: ${secs}s"
  log="logs/$t.log"
  cargo +nightly fuzz run "${flags[@]}" "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  last=$(grep -E '^#[0-9]+.*(cov|ft):' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  crash=$(grep -E 'Test unit written to|panicked at' "$log" | head -n 2)
  echo "   $last"
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed 's/^/   /'
  if [ $rc -ne 0 ]; then
    status=1
    echo "   CRASH (exit $rc), log: fuzz/$log"
    sed 's/^/   /' <<<"$crash"
  fi
  summary+=("$(printf '%-22s %6ss  execs %-10s cov %-6s ft %-6s %s' "$t" "$secs" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$([ $rc -eq 0 ] && echo ok || echo CRASH)")")
done
echo "== summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
printf '%s\n' "${summary[@]}"
exit $status

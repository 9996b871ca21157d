#!/usr/bin/env bash
# Fuzzes the parsers that read outside input (runbook, config, exposition text, Prometheus
# JSON, health bodies, HAProxy's runtime API answers) with cargo-fuzz on the nightly toolchain.
#   scripts/fuzz.sh [seconds-per-target] [target…]     (default 10 s each, every target)
# Corpora live in fuzz/corpus/<target>/; a run works on a copy (FUZZ_MERGE=1 merges new finds
# back), so it leaves the tree clean. A crash stops the run, saved under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-10}"
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# Safe Rust only in cutover: no sanitizer (a faster build and run); debug assertions on, so an
# overflow is a crash too.
flags=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for t in "${targets[@]}"; do
  work="$(mktemp -d)"
  log="$work.log"
  cp corpus/"$t"/* "$work"/
  set +e
  cargo +nightly fuzz run "${flags[@]}" "$t" "$work" -- -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs="$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')"
  echo "$t: $runs runs in ${seconds}s, corpus $(ls corpus/"$t" | wc -l) → $(ls "$work" | wc -l) inputs, exit $status" >&2
  if [ "$status" -ne 0 ]; then
    grep -E 'panicked|SUMMARY|Test unit written|artifact' "$log" >&2 || tail -30 "$log" >&2
    rm -rf "$work" "$log"
    echo "fuzz target $t found a crash: the input is under fuzz/artifacts/$t/" >&2
    exit "$status"
  fi
  # FUZZ_MERGE=1 keeps the new inputs that add coverage in fuzz/corpus/<target>/.
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    cargo +nightly fuzz run "${flags[@]}" "$t" corpus/"$t" "$work" -- -merge=1 >/dev/null 2>&1
  fi
  rm -rf "$work" "$log"
done
echo "fuzzed ${#targets[@]} targets for ${seconds}s each: no crash" >&2

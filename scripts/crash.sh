#!/usr/bin/env bash
# kill -9 at random moments of advance / rollback / tick / trigger-raise cycles, from the
# cockpit (tmux, keys sent) and from the CLI, against `cutover fleet` behind a real HAProxy;
# after each restart it checks the state, the audit log, the runbook, the raised trigger, and
# that status agrees with HAProxy or shows the drift. Prints a summary.
#   scripts/crash.sh [cycles]        (default 120; the test suite runs 20)
# CUTOVER_CRASH_SEED=N replays a run (the seed is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-120}"
bash scripts/install-deps.sh haproxy:haproxy tmux:tmux
CUTOVER_CRASH_CYCLES="$cycles" cargo test --locked --test crash_haproxy -- --nocapture 2>&1 |
  grep -E '^(seed|an advance|crash summary|actions|  +[0-9]+  |after each restart|test result|thread|.*panicked)'
exit "${PIPESTATUS[0]}"

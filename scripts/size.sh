#!/usr/bin/env bash
# Runbooks and configs at size: a 100 000-task runbook, a 10 MB runbook, and a config with
# 1 000 health checks. Prints the wall time and peak RSS of `cutover runbook --json` and
# `cutover check` on each (release build); the times should grow in step with the input.
#   scripts/size.sh [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-100000}
cargo build --release --locked --quiet
bin=$PWD/target/release/cutover
work=$(mktemp -d -t cutover-size.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A runbook of N tasks: phases of 100 tasks in two sections, one task in five a sub-task, one in
# three done, wrapped continuation lines, and a Dependencies section chaining every phase by
# task-ID range. Text of `pad` characters per task makes it bigger without more tasks.
gen_runbook() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
n, pad, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
per = 100
phases = max(1, n // per)
out = ["# Size runbook\n"]
filler = ("lorem ipsum " * (pad // 12 + 1))[:pad]
for p in range(phases):
    out.append(f"\n## Phase {p}: Part {p}\n\n### Section {p}a\n")
    for t in range(per):
        i = p * per + t
        if t == per // 2:
            out.append(f"\n### Section {p}b\n")
        ind = "  " if t % 5 else ""
        mark = "x" if i % 3 == 0 else " "
        out.append(f"{ind}- [{mark}] T{i:06d} [P] [US{p % 7}] Do step {i} on the host {filler}\n")
        if t % 10 == 0:
            out.append(f"{ind}  continued on a second line\n")
out.append("\n## Dependencies\n\n")
for p in range(phases - 1):
    a, b = p * per, (p + 1) * per
    out.append(f"- Part {p} (T{a:06d}-T{a + per - 1:06d}) → Part {p + 1} (T{b:06d}-T{b + per - 1:06d})\n")
open(path, "w").write("".join(out))
PY
}

# A config pointing at `runbook`, with `health` targets (half blue, half green).
gen_config() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
runbook, health, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = [f'[deployment]\nname = "size"\n[runbook]\npath = "{runbook}"\n[signals]\ninterval = "5s"\ntimeout = "2s"\n']
for i in range(health):
    env = "blue" if i % 2 == 0 else "green"
    port = 20000 + i
    out.append(f'[[target]]\nenv = "{env}"\nservice = "svc-{i // 2}"\nhealth = "http://127.0.0.1:{port}/health"\n')
open(path, "w").write("".join(out))
PY
}

measure() { # label, command…
  local label=$1; shift
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >"$work/out" 2>"$work/err" || { echo "$label: FAILED"; cat "$work/err"; exit 1; }
  t1=$(date +%s.%N)
  rss=$(tail -1 "$work/rss")
  printf '%-44s %7.3f s  %6d KB peak RSS\n' "$label" "$(echo "$t1 - $t0" | bc)" "$rss"
}

command -v /usr/bin/time >/dev/null || { echo "size.sh needs /usr/bin/time (apt-get install -y time)"; exit 1; }
for n in $((tasks / 10)) $((tasks / 4)) $((tasks / 2)) "$tasks"; do
  gen_runbook "$n" 0 "$work/rb-$n.md"
  measure "runbook --json, $n tasks ($(du -k "$work/rb-$n.md" | cut -f1) KB)" "$bin" runbook --json "$work/rb-$n.md"
done
gen_runbook 20000 440 "$work/rb-10mb.md"
size_kb=$(du -k "$work/rb-10mb.md" | cut -f1)
measure "runbook --json, 10 MB file (${size_kb} KB)" "$bin" runbook --json "$work/rb-10mb.md"
gen_config "$work/rb-$tasks.md" 1000 "$work/big.toml"
measure "check, $tasks tasks + 1000 health checks" "$bin" check --config "$work/big.toml"
gen_config "$work/rb-10mb.md" 1000 "$work/big10.toml"
measure "check, 10 MB runbook + 1000 health checks" "$bin" check --config "$work/big10.toml"

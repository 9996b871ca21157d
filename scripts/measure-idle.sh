#!/usr/bin/env bash
# Measures the cockpit at rest: `cutover run` watching the simulated fleet
# (started apart, so its load is not counted) in a 200×50 tmux pane for 30 s.
# Prints CPU-seconds, peak RSS and the bytes written to the terminal — the
# figures to compare with other terminal tools in the same run on this machine.
#   scripts/measure-idle.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
bash scripts/install-deps.sh tmux:tmux
cargo build --release --quiet
bin=$PWD/target/release/cutover
work=$(mktemp -d -t cutover-measure.XXXXXX)
sock="cutover-measure-$$"
fleet_pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" fleet --listen 127.0.0.1:0 --rps 100 --smoke-rps 10 >"$work/fleet.json" 2>"$work/fleet.log" &
fleet_pid=$!
for _ in $(seq 1 100); do [ -s "$work/fleet.json" ] && break; sleep 0.1; done
python3 - "$work/fleet.json" "$work/cutover.toml" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
out = ['[deployment]\nname = "measure"\n[runbook]\npath = "%s/config/runbooks/go-live.md"\n' % __import__("os").getcwd()]
for name, sli, obj, judge in [("error rate", "error_ratio", "< 1%", "per_env"), ("p95 latency", "p95_latency", "<= 2.0s", "per_env"),
                              ("availability", "availability", ">= 99.9%", "per_env"), ("event latency", "event_latency_p95", "<= 500ms", "per_env"),
                              ("throughput", "throughput", ">= 100/s", "sum")]:
    out.append('[[slo]]\nname = "%s"\nsli = "%s"\nobjective = "%s"\njudge = "%s"\n' % (name, sli, obj, judge))
for s in info["services"]:
    out.append('[[target]]\nenv = "%s"\nservice = "%s"\nmetrics = "%s"\nhealth = "%s"\n' % (s["env"], s["service"], s["metrics"], s["health"]))
out.append('[router]\nweights_url = "%s/weights"\n' % info["admin"])
open(sys.argv[2], "w").write("".join(out))
PY

tmux -L "$sock" -f /dev/null new-session -d -s m -x 200 -y 50 \
  "XDG_STATE_HOME=$work/state $bin run --config $work/cutover.toml"
tmux -L "$sock" pipe-pane -o -t m "cat >> $work/pane.bytes"
pid=$(tmux -L "$sock" list-panes -t m -F '#{pane_pid}')
sleep 3   # start-up is not "at rest"
ticks=$(getconf CLK_TCK)
cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
bytes0=$(stat -c %s "$work/pane.bytes" 2>/dev/null || echo 0)
sleep "$secs"
cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
bytes1=$(stat -c %s "$work/pane.bytes")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
python3 - "$secs" "$cpu0" "$cpu1" "$ticks" "$rss" "$bytes0" "$bytes1" <<'PY'
import sys
secs, c0, c1, hz, rss, b0, b1 = (float(x) for x in sys.argv[1:])
print(f"cutover run, 200x50, {secs:.0f} s at rest watching 12 services:")
print(f"  CPU        {(c1 - c0) / hz:.2f} CPU-seconds")
print(f"  peak RSS   {rss / 1024:.1f} MB")
print(f"  terminal   {(b1 - b0) / 1024:.1f} KB written")
PY

#!/usr/bin/env bash
# Captures the demo cockpit as text into screenshots/: a healthy moment, and
# blue a few seconds into an error spike. Needs tmux and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sock="cutover-shot-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
tmux -L "$sock" -f /dev/null new-session -d -s s -x 120 -y 40 "./target/release/cutover demo"
wait_for() { # text, seconds
  for _ in $(seq 1 $(($2 * 10))); do
    tmux -L "$sock" capture-pane -p -t s | grep -q "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; return 1
}
wait_for "Σ2" 20
sleep 8   # let the sparklines fill a little
tmux -L "$sock" capture-pane -p -t s > screenshots/demo.txt
tmux -L "$sock" send-keys -t s F
wait_for "error spike" 5
tmux -L "$sock" send-keys -t s 1
wait_for "✗" 20
sleep 4
tmux -L "$sock" capture-pane -p -t s > screenshots/demo-error-spike.txt
tmux -L "$sock" send-keys -t s q
echo "wrote screenshots/demo.txt and screenshots/demo-error-spike.txt"

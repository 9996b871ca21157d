#!/usr/bin/env bash
# The full test suite on a fresh machine: installs what the tests drive for
# real (Prometheus, promtool, HAProxy, tmux, and curl, git, openssl, GNU time) from Debian's packages when
# missing, then runs every test. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh prometheus:prometheus promtool:prometheus haproxy:haproxy tmux:tmux curl:curl git:git openssl:openssl /usr/bin/time:time

cargo test --locked "$@"

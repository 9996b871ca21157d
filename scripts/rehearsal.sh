#!/usr/bin/env bash
# A local dress rehearsal of the go-live on one machine, with the real parts:
#   - the simulated fleet on fixed ports (router 18000, blue 18001-18006,
#     green 18007-18012), its load sent through HAProxy;
#   - HAProxy on 127.0.0.1:18080 in front of each environment's API gateway,
#     runtime API (admin level) on 127.0.0.1:9999, backend `app`, servers
#     `blue` and `green`;
#   - Prometheus on 127.0.0.1:9090 scraping every service each second, with
#     the go-live's alert rules.
# Prometheus and HAProxy are installed from Debian's packages when missing.
# Everything stops when this script ends (Ctrl-C).
#
#   scripts/rehearsal.sh            # start, then wait
#   scripts/rehearsal.sh --cockpit  # start, run the cockpit on config/rehearsal.toml, stop when it quits
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh prometheus:prometheus haproxy:haproxy curl:curl

for port in 18000 18080 9090 9999; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use: is another rehearsal running?" >&2
    exit 1
  fi
done

cargo build --release --quiet
bin=./target/release/cutover
work=$(mktemp -d -t cutover-rehearsal.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_http() { # url, what
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not come up at $1" >&2
  exit 1
}

cat > "$work/haproxy.cfg" <<CFG
global
  stats socket ipv4@127.0.0.1:9999 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend www
  bind 127.0.0.1:18080
  default_backend app
backend app
  balance roundrobin
  server blue 127.0.0.1:18004 weight 0
  server green 127.0.0.1:18010 weight 100
CFG
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=($!)

targets=$(printf '"127.0.0.1:%s",' $(seq 18001 18012)); targets=${targets%,}
cp config/rehearsal-alerts.yml "$work/alerts.yml"
cat > "$work/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$work/alerts.yml"]
scrape_configs:
  - job_name: fleet
    static_configs:
      - targets: [$targets]
CFG
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address=127.0.0.1:9090 >"$work/prometheus.log" 2>&1 &
pids+=($!)

"$bin" fleet --listen 127.0.0.1:18000 --target http://127.0.0.1:18080 >"$work/fleet.json" 2>"$work/fleet.log" &
pids+=($!)

wait_http http://127.0.0.1:18000/admin/weights "the fleet"
wait_http http://127.0.0.1:18080/ "HAProxy"
wait_http http://127.0.0.1:9090/-/ready "Prometheus"
echo "rehearsal running: fleet 127.0.0.1:18000-18012, HAProxy 127.0.0.1:18080 (admin 127.0.0.1:9999), Prometheus http://127.0.0.1:9090"
echo "logs in $work"

if [ "${1:-}" = "--cockpit" ]; then
  "$bin" run --config config/rehearsal.toml
else
  echo "cockpit: $bin run --config config/rehearsal.toml   (Ctrl-C here stops the rehearsal)"
  wait "${pids[@]}"
fi

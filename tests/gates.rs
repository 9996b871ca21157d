//! The gates against the real parts: `cutover fleet` (its smoke load straight to blue), a real
//! Prometheus scraping it, and a real HAProxy whose weights `cutover advance` moves. A 30 % error
//! fault on blue blocks the advance past an elapsed soak, naming the SLO; once cleared, the advance
//! waits until blue has been healthy for the soak; weights changed behind cutover's back are drift,
//! which no override passes, and `cutover adopt` records the router's split.

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;
#[path = "common/haproxy_server.rs"]
mod haproxy_server;
#[path = "common/prometheus_server.rs"]
mod prometheus_server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::traffic::{cutover, output_text as text, stored_percent};
use cutover::domain::env::Env;
use fleet_proc::FleetProc;
use haproxy_server::{HaproxyServer, Options};
use prometheus_server::{PromOptions, PromServer, wait_for_result};

/// Soak per stage: long enough that a look or two does not pass it, short enough for a test.
const SOAK_S: u64 = 6;

const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{env="{env}",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{env="{env}"}[5s]))"#;

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap()
}

fn config(dir: &Path, prom: &str, haproxy: SocketAddr) -> PathBuf {
    let text = format!(
        r#"[deployment]
name = "gates-test"
[signals]
interval = "1s"
timeout = "2s"
window = "10s"
[prometheus]
url = "{prom}"
alerts = false
[[slo]]
name = "error rate"
sli = "error_ratio"
objective = "< 1%"
query = '{ERROR_RATE}'
[triggers]
defaults = false
[traffic]
stages = [10, 25, 50, 75, 100]
soak = "{SOAK_S}s"
[[actuator]]
kind = "haproxy"
socket = "{haproxy}"
"#
    );
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn run(cfg: &Path, state: &Path, args: &[&str]) -> Output {
    let mut c = cutover(cfg, state, args);
    tokio::task::spawn_blocking(move || c.output().expect("run cutover")).await.unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// HAProxy's weights for blue and green, as its runtime API reports them.
fn weights(hx: &HaproxyServer) -> (u32, u32) {
    let w = |server: &str| -> u32 {
        let answer = hx.command(&format!("get weight app/{server}"));
        answer.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{answer:?}"))
    };
    (w("blue"), w("green"))
}

async fn fault(admin: &str, body: Option<&str>) {
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{admin}/faults");
    let r = match body {
        Some(b) => c.post(url).header("content-type", "application/json").body(b.to_string()).send().await,
        None => c.delete(url).send().await,
    };
    assert!(r.unwrap().status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slo_soak_and_drift_gates_against_fleet_haproxy_and_prometheus() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "40"]);
    let service = |env: Env| fleet.info.services.iter().find(|s| s.env == env).unwrap().url.clone();
    let hx = HaproxyServer::start(&Options::new(addr(&service(Env::Blue)), addr(&service(Env::Green))));
    let targets = fleet.info.services.iter().map(|s| s.url.trim_start_matches("http://").to_string()).collect();
    let prom = PromServer::start(PromOptions { targets, ..Default::default() }).await;
    let blue_rate = ERROR_RATE.replace("{env}", "blue");
    wait_for_result(prom.url(), &format!("({blue_rate}) < 0.01"), Duration::from_secs(60)).await;
    let dir = prom.dir().to_path_buf();
    let cfg = config(&dir, prom.url(), hx.admin);
    let state = dir.join("state");

    // 0 % → 10 %: blue is healthy.
    let o = run(&cfg, &state, &["advance", "--yes"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(weights(&hx), (10, 90));
    let at_10 = Instant::now();

    // A 30 % error fault on blue: past the (wall-clock) soak the advance is refused naming the SLO.
    fault(&fleet.info.admin, Some(r#"{"env":"blue","service":"*","error_ratio":0.3}"#)).await;
    wait_for_result(prom.url(), &format!("({blue_rate}) > 0.1"), Duration::from_secs(60)).await;
    while at_10.elapsed() < Duration::from_secs(SOAK_S + 1) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let o = run(&cfg, &state, &["advance", "--yes"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains("SLO not ok: blue error rate") && err.contains("breaches < 1%"), "{}", text(&o));
    assert_eq!(weights(&hx), (10, 90), "HAProxy's weights did not move");
    assert_eq!(stored_percent(&state), Some(10));
    // status --json says the same, one entry per gate.
    let o = run(&cfg, &state, &["status", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let gates = v["stage"]["gates"].as_array().unwrap();
    let kinds: Vec<&str> = gates.iter().map(|g| g["gate"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["controls", "drift", "slo", "pending", "soak", "triggers", "tasks"], "{v}");
    let slo = gates.iter().find(|g| g["gate"] == "slo").unwrap();
    assert_eq!(slo["ok"], false, "{slo}");
    assert!(slo["detail"].as_str().unwrap().contains("blue error rate"), "{slo}");
    assert_eq!(v["stage"]["soak_paused"], "blue error rate breach", "{v}");

    // The fault cleared: refused until blue has been seen healthy for the whole soak.
    fault(&fleet.info.admin, None).await;
    wait_for_result(prom.url(), &format!("({blue_rate}) < 0.01"), Duration::from_secs(60)).await;
    let healthy_from = Instant::now();
    let o = run(&cfg, &state, &["advance", "--yes"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("soak not over"), "the breach time did not count: {}", text(&o));
    assert!(!stderr(&o).contains("SLO not ok"), "{}", text(&o));
    let mut refusals = 1;
    let passed = loop {
        let o = run(&cfg, &state, &["advance", "--yes"]).await;
        if o.status.success() {
            break healthy_from.elapsed();
        }
        assert!(stderr(&o).contains("soak not over"), "{}", text(&o));
        assert_eq!(weights(&hx), (10, 90));
        refusals += 1;
        assert!(healthy_from.elapsed() < Duration::from_secs(120), "the soak never passed: {}", text(&o));
    };
    assert!(passed >= Duration::from_secs(SOAK_S), "passed after {passed:?} of healthy time, {refusals} refusals");
    assert_eq!(weights(&hx), (25, 75));
    assert_eq!(stored_percent(&state), Some(25));

    // Weights changed behind cutover's back: drift, which no override passes.
    assert_eq!(hx.command("set weight app/blue 50").trim(), "");
    assert_eq!(hx.command("set weight app/green 50").trim(), "");
    let o = run(&cfg, &state, &["advance", "--yes", "--override", "CHG-123 approved by the CAB"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = stderr(&o);
    assert!(err.contains("drift: router says 50/50, cutover expects 25/75"), "{}", text(&o));
    assert!(err.contains("an override cannot pass it"), "{}", text(&o));
    assert_eq!(weights(&hx), (50, 50), "cutover does not overwrite the router");
    assert_eq!(stored_percent(&state), Some(25));

    // adopt records the router's split as the stage, audited.
    let o = run(&cfg, &state, &["adopt", "--reason", "ops set 50/50 by hand in the incident"]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("25% → 50%"), "{}", text(&o));
    assert_eq!(stored_percent(&state), Some(50));
    assert_eq!(weights(&hx), (50, 50));
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let line = audit.lines().find(|l| l.contains("\"what\":\"adopt\"")).expect("an adopt entry");
    assert!(line.contains("ops set 50/50 by hand") && line.contains("\"router\":\"50/50\""), "{line}");
    // And the router agrees again: no drift gate.
    let o = run(&cfg, &state, &["status", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let drift = v["stage"]["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "drift").unwrap().clone();
    assert_eq!(drift["ok"], true, "{v}");
}

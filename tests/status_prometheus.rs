//! `cutover status --json` with its SLOs read from a real Prometheus scraping the
//! simulated fleet, and with Prometheus gone.

#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;
#[path = "common/prometheus_server.rs"]
mod prometheus_server;

use std::process::Command;
use std::time::Duration;

use fleet_proc::FleetProc;
use prometheus_server::{PromOptions, PromServer, wait_for_result};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

const RULES: &str = r#"groups:
  - name: t
    rules:
      - alert: GoLiveAlwaysFiring
        expr: vector(1)
        labels: { team: go-live }
        annotations: { summary: "a firing alert for the test" }
      - alert: SomeoneElses
        expr: vector(1)
        labels: { team: payments }
"#;

fn config(dir: &std::path::Path, prom_url: &str, fleet: &FleetProc) -> std::path::PathBuf {
    let mut text = format!(
        "[deployment]\nname = \"prom-status\"\n[signals]\ninterval = \"1s\"\ntimeout = \"2s\"\n\
         [prometheus]\nurl = \"{prom_url}\"\nalert_labels = {{ team = \"go-live\" }}\n"
    );
    for (name, sli, obj, judge) in [
        ("error rate", "error_ratio", "< 1%", "per_env"),
        ("p95 latency", "p95_latency", "<= 2.0s", "per_env"),
        ("availability", "availability", ">= 99.9%", "per_env"),
        ("event latency", "event_latency_p95", "<= 500ms", "per_env"),
        ("throughput", "throughput", ">= 1/s", "sum"),
    ] {
        text.push_str(&format!(
            "[[slo]]\nname = \"{name}\"\nsli = \"{sli}\"\nobjective = \"{obj}\"\njudge = \"{judge}\"\n"
        ));
    }
    // A written query (a short window, so the test need not wait a minute) beside the defaults.
    text.push_str(
        "[[slo]]\nname = \"throughput 10s\"\nsli = \"throughput\"\nobjective = \">= 50/s\"\njudge = \"sum\"\n",
    );
    text.push_str("query = 'sum(rate(http_requests_total{env=\"{env}\"}[10s]))'\n");
    for s in &fleet.info.services {
        text.push_str(&format!(
            "[[target]]\nenv = \"{}\"\nservice = \"{}\"\nhealth = \"{}\"\n",
            s.env, s.service, s.health
        ));
    }
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn status(config: &std::path::Path) -> (i32, Value) {
    let out = Command::new(BIN).args(["status", "--json", "--wait", "30s", "--config"]).arg(config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

fn slo<'a>(json: &'a Value, name: &str, env: &str) -> &'a Value {
    json["slos"].as_array().unwrap().iter().find(|s| s["name"] == name && s["env"] == env).unwrap()
}

/// One environment's figure of a summed SLO: shown under its one verdict, without one of its own.
fn part<'a>(json: &'a Value, name: &str, env: &str) -> &'a Value {
    let parts = slo(json, name, "all")["parts"].as_array().unwrap();
    parts.iter().find(|p| p["env"] == env).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_slos_and_alerts_from_prometheus_and_says_when_it_is_gone() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "100", "--smoke-rps", "10"]);
    let targets = fleet.info.services.iter().map(|s| s.url.trim_start_matches("http://").to_string()).collect();
    let mut prom = PromServer::start(PromOptions { targets, rules: vec![RULES.into()], ..Default::default() }).await;
    // Two scrapes at least, so rate() over the window has something to say.
    wait_for_result(prom.url(), "sum(rate(http_requests_total{env=\"green\"}[10s])) > 50", Duration::from_secs(60))
        .await;
    wait_for_result(prom.url(), "sum(rate(http_requests_total{env=\"blue\"}[1m])) > 0", Duration::from_secs(60)).await;
    let dir = prom.dir().to_path_buf();
    let cfg = config(&dir, prom.url(), &fleet);

    let (_, json) = tokio::task::spawn_blocking({
        let cfg = cfg.clone();
        move || status(&cfg)
    })
    .await
    .unwrap();
    assert_eq!(json["slos"].as_array().unwrap().len(), 10, "4 × 2, and one entry per summed SLO: {json}");
    assert_eq!(slo(&json, "throughput 10s", "all")["state"], "ok", "{json}");
    let tp = part(&json, "throughput 10s", "green");
    assert!(tp.get("state").is_none(), "a part has no verdict of its own: {tp}");
    assert!(tp["value"].as_f64().unwrap() > 50.0, "green takes the load: {tp}");
    assert!(part(&json, "throughput", "green")["value"].as_f64().unwrap() > 0.0, "{json}");
    let p95 = slo(&json, "p95 latency", "blue")["value"].as_f64().unwrap();
    assert!(p95 > 0.01 && p95 < 2.0, "a P95 in seconds from histogram_quantile: {p95}");
    assert!(slo(&json, "error rate", "blue")["value"].as_f64().unwrap() < 0.01, "{json}");
    let alerts = json["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "only the go-live team's alert: {json}");
    assert_eq!(alerts[0]["name"], "GoLiveAlwaysFiring");
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(json["health"].as_array().unwrap().len(), 12);

    // Prometheus gone: every SLO is an error with the reason, never a number.
    prom.stop();
    let (code, json) = tokio::task::spawn_blocking(move || status(&cfg)).await.unwrap();
    assert_eq!(code, 3);
    for s in json["slos"].as_array().unwrap() {
        assert_eq!(s["state"], "error", "{s}");
        assert_eq!(s["value"], Value::Null, "{s}");
        assert!(s["error"].as_str().unwrap().contains("connection refused"), "{s}");
    }
    assert!(json["alerts_error"].as_str().unwrap().contains("connection refused"), "{json}");
}

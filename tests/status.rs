//! `cutover status` against the simulated fleet: the JSON shape, and honest
//! states when a source cannot be reached.

#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::process::Command;

use fleet_proc::FleetProc;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// A config watching every service of the fleet with the go-live's five SLOs.
fn config_for(fleet: &FleetProc, extra_target: Option<&str>) -> std::path::PathBuf {
    config_with(fleet, extra_target, "")
}

fn config_with(fleet: &FleetProc, extra_target: Option<&str>, extra: &str) -> std::path::PathBuf {
    // A 5 s window of light load holds a few dozen requests: these tests judge them anyway.
    config_min(fleet, extra_target, extra, Some(10))
}

/// The same, with `min_requests`/`min_events` on every SLO but throughput (`None`: the default).
fn config_min(fleet: &FleetProc, extra_target: Option<&str>, extra: &str, min: Option<u32>) -> std::path::PathBuf {
    let mut text = String::from(
        "[deployment]\nname = \"status-test\"\n[signals]\ninterval = \"500ms\"\ntimeout = \"500ms\"\nwindow = \"5s\"\n",
    );
    text.push_str(extra);
    text.push_str(&format!("[router]\nweights_url = \"{}/weights\"\n", fleet.info.admin));
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
        match (min, sli) {
            (None, _) | (_, "throughput") => {}
            (Some(n), "event_latency_p95") => text.push_str(&format!("min_events = {n}\n")),
            (Some(n), _) => text.push_str(&format!("min_requests = {n}\n")),
        }
    }
    for s in &fleet.info.services {
        text.push_str(&format!(
            "[[target]]\nenv = \"{}\"\nservice = \"{}\"\nmetrics = \"{}\"\nhealth = \"{}\"\n",
            s.env, s.service, s.metrics, s.health
        ));
    }
    if let Some(url) = extra_target {
        text.push_str(&format!(
            "[[target]]\nenv = \"blue\"\nservice = \"ghost\"\nmetrics = \"{url}/metrics\"\nhealth = \"{url}/health\"\n"
        ));
    }
    let dir = std::env::temp_dir().join(format!(
        "cutover-status-{}-{}-{}-{min:?}",
        std::process::id(),
        extra_target.is_some(),
        extra.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `cutover status --json` with a state dir of its own beside the config (missing unless a test
/// writes one), so nothing under the home folder is read.
fn status(config: &std::path::Path) -> (i32, Value, String) {
    status_within(config, "20s")
}

fn status_within(config: &std::path::Path, wait: &str) -> (i32, Value, String) {
    let state = config.parent().unwrap().join("state");
    let out = Command::new(BIN)
        .args(["status", "--json", "--wait", wait, "--config"])
        .arg(config)
        .arg("--state-dir")
        .arg(&state)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn status_json_against_the_fleet_has_every_slo_and_health_check() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "10"]);
    let (code, json, err) = status(&config_for(&fleet, None));
    let slos = json["slos"].as_array().unwrap();
    assert_eq!(slos.len(), 9, "4 SLOs × 2 environments + the summed throughput, judged once: {json}");
    for s in slos {
        for key in ["name", "env", "value", "shown", "objective", "state", "age_s", "error", "reason"] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
    }
    let find = |name: &str, env: &str| slos.iter().find(|s| s["name"] == name && s["env"] == env).unwrap().clone();
    let blue_err = find("error rate", "blue");
    assert_eq!(blue_err["state"], "ok", "{json}");
    assert!(blue_err["value"].as_f64().unwrap() < 0.01);
    assert_eq!(blue_err["objective"], "< 1%");
    let green_p95 = find("p95 latency", "green");
    let p95 = green_p95["value"].as_f64().unwrap();
    assert!(p95 > 0.05 && p95 < 2.0, "a plausible P95 in seconds: {p95}");
    let sum = find("throughput", "all");
    assert!(sum["value"].as_f64().unwrap() > 10.0);
    let parts = sum["parts"].as_array().unwrap();
    assert_eq!(parts.iter().map(|p| p["env"].as_str().unwrap()).collect::<Vec<_>>(), ["blue", "green"]);
    assert!(parts.iter().all(|p| p["value"].as_f64().is_some() && p.get("state").is_none()), "{sum}");
    assert!(json["at"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')), "RFC 3339: {json}");
    let health = json["health"].as_array().unwrap();
    assert_eq!(health.len(), 12);
    assert!(health.iter().all(|h| h["state"] == "up" && h["code"] == 200), "{json}");
    assert_eq!(json["weights"], serde_json::json!({"blue": 0, "green": 100}));
    assert_eq!(json["last_action"], Value::Null, "no audit log: {json}");
    assert_eq!(json["runbook"], Value::Null, "no runbook configured: {json}");
    assert_eq!(code, 0, "all ok exits 0; stderr: {err}");
}

#[test]
fn a_thin_window_is_no_data_with_the_reason_and_text_speaks_in_percent() {
    // 10 requests a second to blue over a 5 s window: about 50, fewer than the default 100.
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "10"]);
    let config = config_min(&fleet, None, "", None);
    // Blue never gets to 100 here, so the look lasts its whole wait: a little over the window.
    let (code, json, err) = status_within(&config, "8s");
    assert_eq!(code, 3, "no data is not ok: {err}");
    let slos = json["slos"].as_array().unwrap();
    let find = |name: &str, env: &str| slos.iter().find(|s| s["name"] == name && s["env"] == env).unwrap().clone();
    for name in ["error rate", "availability", "p95 latency"] {
        let blue = find(name, "blue");
        assert_eq!((blue["state"].as_str(), &blue["value"]), (Some("no_data"), &Value::Null), "{blue}");
        let reason = blue["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(" in ") && reason.ends_with("s < 100"), "{name}: {blue}");
    }
    assert!(find("event latency", "blue")["reason"].as_str().unwrap_or_default().contains("events in"), "{json}");
    // Green serves the router's 50/s: 250 requests in the window, judged.
    assert_eq!(find("error rate", "green")["state"], "ok", "{json}");

    let out = Command::new(BIN)
        .args(["status", "--wait", "8s", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(config.parent().unwrap().join("state"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str, env: &str| {
        text.lines().find(|l| l.contains(name) && l.contains(&format!(" {env} "))).unwrap_or_default().to_string()
    };
    let green = line("error rate", "green");
    assert!(green.contains("% < 1%") && green.contains(" ok "), "a percentage, not a bare ratio: {text}");
    assert!(line("error rate", "blue").contains("requests in"), "{text}");
    assert!(text.contains("(in sum)"), "{text}");
}

#[test]
fn status_names_the_last_action_of_the_audit_log_and_the_runbook_progress() {
    use cutover::domain::time::Ts;
    use cutover::store::{AuditEntry, StateDir, Who};
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "10"]);
    let runbook = std::env::temp_dir().join(format!("cutover-status-rb-{}.md", std::process::id()));
    std::fs::write(&runbook, "## Prep\n- [x] T1 a\n- [ ] T2 b\n- [x] T3 c\n").unwrap();
    let config = config_with(&fleet, None, &format!("[runbook]\npath = {:?}\n", runbook.display().to_string()));
    let state = config.parent().unwrap().join("state");
    let _ = std::fs::remove_dir_all(&state);
    let dir = StateDir::open(&state).unwrap();
    let who = Who::new("alice", "ops1", 42);
    dir.append_audit(&AuditEntry::new(Ts(1_000), who.clone(), "advance").stage("0%")).unwrap();
    dir.append_audit(&AuditEntry::new(Ts(2_000), who, "advance-applied").stage("10%")).unwrap();
    let (_, json, err) = status(&config);
    assert_eq!(
        json["last_action"],
        serde_json::json!({"what": "advance-applied", "who": "alice@ops1", "when": "1970-01-01T00:00:02.000Z", "stage": "10%"}),
        "{err}"
    );
    assert_eq!(json["runbook"], serde_json::json!({"done": 2, "total": 3}));
    let _ = std::fs::remove_dir_all(&state);
    let _ = std::fs::remove_file(&runbook);
}

#[test]
fn an_unreachable_target_is_an_error_not_a_number_and_exits_3() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "10"]);
    // A port nothing listens on: bind one, note it, drop it.
    let ghost = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (code, json, _) = status(&config_for(&fleet, Some(&ghost)));
    assert_eq!(code, 3, "{json}");
    let blue_err =
        json["slos"].as_array().unwrap().iter().find(|s| s["name"] == "error rate" && s["env"] == "blue").unwrap();
    assert_eq!(blue_err["state"], "error", "{json}");
    assert_eq!(blue_err["value"], Value::Null);
    assert!(blue_err["error"].as_str().unwrap().contains(&ghost), "the error names the target: {blue_err}");
    let green_err =
        json["slos"].as_array().unwrap().iter().find(|s| s["name"] == "error rate" && s["env"] == "green").unwrap();
    assert_eq!(green_err["state"], "ok", "green is unaffected: {json}");
    let ghost_health = json["health"].as_array().unwrap().iter().find(|h| h["service"] == "ghost").unwrap();
    assert_eq!(ghost_health["state"], "unreachable");
}

#[test]
fn status_reports_trigger_states_while_the_fleet_misbehaves() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "20"]);
    // Every blue request fails from now on.
    let fault = Command::new("curl")
        .args(["-fsS", "-X", "POST", "-H", "content-type: application/json", "-d"])
        .arg(r#"{"env":"blue","service":"*","error_ratio":1.0}"#)
        .arg(format!("{}/faults", fleet.info.admin))
        .output()
        .unwrap();
    assert!(fault.status.success(), "{}", String::from_utf8_lossy(&fault.stderr));
    let triggers = "[triggers]\ndefaults = false\n\
        [[trigger]]\nname = \"fires at once\"\ntier = \"immediate\"\nslo = \"error rate\"\ncondition = \"> 5%\"\nfor = \"0s\"\n\
        [[trigger]]\nname = \"an hour to go\"\ntier = \"planned\"\nslo = \"error rate\"\ncondition = \"> 5%\"\nfor = \"1h\"\n\
        [[trigger]]\nname = \"green errors\"\ntier = \"planned\"\nslo = \"error rate\"\nenv = \"green\"\ncondition = \"> 5%\"\nfor = \"0s\"\n";
    let (code, json, _) = status(&config_with(&fleet, None, triggers));
    assert_eq!(code, 3, "{json}");
    let t = |name: &str| json["triggers"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(t("fires at once")["state"], "firing", "{json}");
    assert_eq!(t("fires at once")["tier"], "immediate");
    assert!(t("fires at once")["reason"].as_str().unwrap().contains("% > 5% since"), "{json}");
    assert_eq!(t("an hour to go")["state"], "pending", "{json}");
    assert_eq!(t("an hour to go")["for_s"], 3600.0);
    assert_eq!(t("an hour to go")["count"], 1);
    assert_eq!(t("green errors")["state"], "inactive", "{json}");
}

/// Every file under `dir`, with its length, to see that a look changed nothing.
fn listing(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(listing(&p));
        } else {
            out.push((p.display().to_string(), e.metadata().unwrap().len()));
        }
    }
    out.sort();
    out
}

#[test]
fn status_json_says_who_holds_the_controls_and_how_many_watch_without_taking_anything() {
    use cutover::store::{Acquire, Lease, Observer, StateDir, Who};
    let root = std::env::temp_dir().join(format!("cutover-status-controls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let config = root.join("cutover.toml");
    // A manual actuator: a config with nothing to watch or drive is refused by `status`.
    std::fs::write(&config, "[deployment]\nname = \"controls-test\"\n[[actuator]]\nkind = \"manual\"\n").unwrap();
    let state = root.join("state");
    let look = || {
        let out = Command::new(BIN)
            .args(["status", "--json", "--wait", "0s", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        json["controls"].clone()
    };
    assert_eq!(look(), serde_json::json!({"holder": null, "observers": 0}), "no state dir yet");

    let dir = StateDir::open(&state).unwrap();
    let Acquire::Acquired(lease) = Lease::try_acquire(&dir, &Who::new("alice", "ops1", std::process::id())).unwrap()
    else {
        panic!("the controls were free")
    };
    let bob = Observer::join(&dir, &Who::new("bob", "ops2", std::process::id())).unwrap();
    let carol = Observer::join(&dir, &Who::new("carol", "ops3", std::process::id())).unwrap();
    let before = listing(&state);
    assert_eq!(look(), serde_json::json!({"holder": "alice@ops1", "observers": 2}));
    assert_eq!(listing(&state), before, "status only looks");

    drop(carol);
    lease.release().unwrap();
    assert_eq!(look(), serde_json::json!({"holder": null, "observers": 1}));
    drop(bob);
    let _ = std::fs::remove_dir_all(&root);
}

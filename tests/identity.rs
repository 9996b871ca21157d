//! One identity: whoever acts is named the same way in the log lines a verb prints, the audit
//! log, the status and the report (`user@host`, from `$USER`, else the passwd entry).

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use common::traffic::{FleetConfig, TempDir, cutover, output_text as text};
use fleet_proc::FleetProc;

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

#[test]
fn the_log_the_audit_the_status_and_the_report_name_the_same_person() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("identity");
    let cfg = FleetConfig::new("identity").write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let alice = format!("alice@{}", host());

    let o = cutover(&cfg, &state, &["advance", "--yes", "--wait", "0s"]).env("USER", "alice").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("by {alice}")), "the log line: {}", text(&o));
    let o = cutover(&cfg, &state, &["rollback", "--yes", "--reason", "checkout errors"])
        .env("USER", "alice")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let rollback: serde_json::Value =
        serde_json::from_str(audit.lines().find(|l| l.contains("\"what\":\"rollback\"")).unwrap()).unwrap();
    assert_eq!(rollback["who"]["user"], "alice", "{rollback}");
    assert_eq!(rollback["detail"]["by"], alice.as_str(), "the action names who did it as the audit does");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("state.json")).unwrap()).unwrap();
    let history = stored["state"]["traffic"]["history"].as_array().unwrap();
    assert!(history.iter().all(|h| h["by"] == alice.as_str()), "the stage history: {history:?}");

    let o = cutover(&cfg, &state, &["status", "--json", "--wait", "0s"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(status["last_action"]["who"], alice.as_str(), "{}", text(&o));

    let o = cutover(&cfg, &state, &["report"]).output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(report.contains(&alice), "{report}");
    assert!(!report.contains("operator"), "nobody is an anonymous operator: {report}");

    // Without $USER (cron, some containers) the name comes from the passwd entry, not "operator".
    let o = cutover(&cfg, &state, &["resume", "--reason", "procedure not done"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert!(!o.status.success(), "the procedure is still open: {}", text(&o));
    let again = cutover(&cfg, &state, &["rollback", "--yes", "--reason", "again"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    let user = last["who"]["user"].as_str().unwrap().to_string();
    assert!(!user.is_empty() && user != "unknown" && user != "operator", "{last}");
    let history =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(state.join("state.json")).unwrap()).unwrap()
            ["state"]["traffic"]["history"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
    assert_eq!(history["by"], format!("{user}@{}", host()).as_str(), "{history}");
}

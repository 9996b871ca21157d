//! `cutover advance` and `cutover rollback` against the simulated fleet's router, moved through a
//! webhook actuator, with the state and audit log in a state dir of the test's own.

mod common;
#[path = "common/fleet_proc.rs"]
mod fleet_proc;

use std::path::Path;
use std::process::{Output, Stdio};

use common::traffic::{FleetConfig, TempDir, cutover, output_text as text, put_router, router_weights, stored_percent};
use fleet_proc::FleetProc;

fn run(cfg: &Path, state: &Path, args: &[&str]) -> Output {
    cutover(cfg, state, args).output().expect("run cutover")
}

#[test]
fn advance_gates_override_rollback_through_the_fleet_router() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("advance-flow");
    let cfg = FleetConfig::new("cli-test").write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    assert_eq!(router_weights(&fleet.info.admin), (0, 100), "the fleet starts before the first stage");

    let o = run(&cfg, &state, &["advance", "--wait", "0s"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --yes"), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));

    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0% → 10%"), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    assert_eq!(stored_percent(&state), Some(10));

    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("soak not over") && err.contains("--override"), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    assert_eq!(stored_percent(&state), Some(10));

    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s", "--override", "CAB-42 approved the early move"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (25, 75));
    assert_eq!(stored_percent(&state), Some(25));
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let line = audit.lines().find(|l| l.contains("\"advance-override\"")).expect("an override entry");
    assert!(line.contains("CAB-42 approved the early move") && line.contains("soak not over"), "{line}");
    assert!(line.contains("\"slos\""), "the SLO snapshot is in the entry: {line}");

    let o = run(&cfg, &state, &["rollback", "--reason", "x", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));
    assert_eq!(stored_percent(&state), Some(0));
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"what\":\"rollback\"")), "{audit}");

    let o = run(&cfg, &state, &["status", "--json", "--wait", "0s"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(v["stage"]["blue_percent"], 0);
    assert_eq!(v["stage"]["rolled_back"], true);
}

#[test]
fn two_advances_at_once_one_goes_the_other_is_told_who_is_busy() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("advance-race");
    let cfg = FleetConfig::new("cli-test").write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    // --wait keeps the first one in its look at the sources, holding the action lock.
    let a = cutover(&cfg, &state, &["advance", "--yes", "--wait", "3s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = cutover(&cfg, &state, &["advance", "--yes", "--wait", "3s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(ok, 1, "exactly one succeeds:\n{}\n{}", text(&a), text(&b));
    let loser = if a.status.success() { &b } else { &a };
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(err.contains("busy") && err.contains("running advance since"), "{}", text(loser));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    assert_eq!(stored_percent(&state), Some(10));
}

#[test]
fn an_unreachable_actuator_fails_naming_the_url_and_keeps_the_stage() {
    let mut fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("advance-down");
    // No read-back: an unreadable router would be refused as drift before any actuator ran
    // (see `advance_with_the_router_unreadable_is_refused_as_drift`); here the actuator itself fails.
    let cfg =
        FleetConfig { read_back: false, blue_slo: false, ..FleetConfig::new("cli-test") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    fleet.signal("KILL");
    fleet.wait_exit(std::time::Duration::from_secs(10)).expect("the fleet is gone");
    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}/weights", fleet.info.admin)), "names the URL: {}", text(&o));
    assert!(err.contains("stays at 0%"), "{}", text(&o));
    assert_eq!(stored_percent(&state).unwrap_or(0), 0);
}

#[test]
fn rollback_without_a_reason_moves_traffic_and_leaves_the_document_step_open() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("rollback-no-reason");
    let cfg = FleetConfig::new("cli-test").write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));

    let o = run(&cfg, &state, &["rollback", "--reason", "  ", "--yes"]);
    assert!(!o.status.success(), "a blank reason is refused: {}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));

    let o = run(&cfg, &state, &["rollback", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"document the reason\" step stays open"), "{}", text(&o));
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));
    let mut d = cutover::store::StateDir::open_read_only(&state).unwrap();
    let s = d.load::<cutover::domain::cockpit::PersistedState>().unwrap().unwrap().state;
    let r = s.traffic.rollback.expect("a rollback procedure");
    assert_eq!(r.reason, None);
    assert!(r.open().contains(&cutover::domain::traffic::StepKind::Document), "{:?}", r.open());
}

#[test]
fn advance_with_the_router_unreadable_is_refused_as_drift() {
    let mut fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("advance-unreadable");
    let cfg = FleetConfig::new("cli-test").write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    fleet.signal("KILL");
    fleet.wait_exit(std::time::Duration::from_secs(10)).expect("the fleet is gone");
    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s", "--override", "CAB-42 approved the early move"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("drift: the router cannot be read"), "{}", text(&o));
    assert!(err.contains("an override cannot pass it"), "{}", text(&o));
    assert_eq!(stored_percent(&state).unwrap_or(0), 0);
}

#[test]
fn adopt_records_the_routers_split_only_when_it_is_a_stage() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("adopt");
    let cfg = FleetConfig { blue_slo: false, ..FleetConfig::new("cli-test") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let o = run(&cfg, &state, &["adopt", "--reason", "nothing moved"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to adopt"), "{}", text(&o));
    // A split between stages is not adopted: the nearest stage is named.
    put_router(&fleet.info.admin, cutover::domain::env::Weights { blue: 13, green: 87 });
    let o = run(&cfg, &state, &["adopt", "--reason", "someone typed 13"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("13/87 is no configured stage (nearest: 10%, which is 10/90)"), "{}", text(&o));
    assert_eq!(stored_percent(&state).unwrap_or(0), 0);
    put_router(&fleet.info.admin, cutover::domain::env::Weights { blue: 10, green: 90 });
    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s", "--override", "CHG-9 the CAB said go"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("drift"), "{}", text(&o));
    let o = run(&cfg, &state, &["adopt", "--reason", "set by hand from the runbook"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stored_percent(&state), Some(10));
    assert_eq!(router_weights(&fleet.info.admin), (10, 90), "adopt moves nothing");
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"what\":\"adopt\"") && l.contains("set by hand")), "{audit}");
    // The soak of the adopted stage runs: the next advance waits for it.
    let o = run(&cfg, &state, &["advance", "--yes", "--wait", "0s"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("soak not over"), "{}", text(&o));
}

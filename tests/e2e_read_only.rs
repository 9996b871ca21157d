//! End to end: `cutover demo --read-only` in a real terminal (tmux) watches the fleet, marks the
//! header, refuses the acting keys in the log, moves no traffic and creates no state dir.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, wait_file};
use common::traffic::router_weights;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

#[test]
fn the_read_only_demo_watches_and_refuses_to_act() {
    let t = Tmux::start("read-only", 120, 40);
    let info = t.path("fleet.json");
    t.type_text(&format!("{BIN} demo --read-only --rps 50 --fleet-info {}", info.display()), true);
    let fleet: serde_json::Value = serde_json::from_str(&wait_file(&info, Duration::from_secs(60))).unwrap();
    let admin = fleet["admin"].as_str().unwrap().to_string();
    t.wait_for("the read-only cockpit with readings", Duration::from_secs(60), |s, _| {
        s.contains("read-only") && s.contains("blue 0%") && s.contains("RUNBOOK") && s.contains("up")
    });
    let screen = t.screen(false);
    let footer = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(footer.contains("help") && !footer.contains("advance") && !footer.contains("rollback"), "{screen}");

    t.key("a");
    t.wait_for("advance refused in the log", Duration::from_secs(10), |s, _| {
        s.contains("read-only: advance is not available")
    });
    t.key("R");
    t.wait_for("rollback refused in the log", Duration::from_secs(10), |s, _| {
        s.contains("read-only: rollback is not available")
    });
    let screen = t.screen(false);
    assert!(!screen.contains("type ROLLBACK") && !screen.contains("type 10"), "no dialog opened:\n{screen}");
    t.key("?");
    t.wait_for("the help without acting keys", Duration::from_secs(10), |s, _| s.contains("watching keys only"));
    assert!(!t.screen(false).contains("advance traffic to the next stage"));
    t.key("Escape");

    assert_eq!(router_weights(&admin), (0, 100), "no traffic moved");
    assert!(!t.path("state").exists(), "no state dir, runbook copy or log file was created");
    t.key("q");
    t.wait_for("the shell prompt again", Duration::from_secs(20), |s, _| s.trim_end().ends_with('$'));
}

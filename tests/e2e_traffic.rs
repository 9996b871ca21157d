//! End to end: advancing and rolling back traffic in `cutover demo`, in a real terminal (tmux).
//! The router's weights are read from the fleet itself (`--fleet-info`).

mod common;

use std::time::Duration;

use common::tmux::{Tmux, wait_file};
use common::traffic::{put_router, router_weights};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// `next 25% in 0:41` → 41 seconds.
fn countdown(screen: &str) -> Option<u64> {
    let rest = screen.split("next 25% in ").nth(1)?;
    let t: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == ':').collect();
    let (m, s) = t.split_once(':')?;
    Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
}

#[test]
fn advance_past_the_gate_with_a_reason_then_roll_back() {
    let t = Tmux::start("traffic", 120, 40);
    let info = t.path("fleet.json");
    t.type_text(&format!("{BIN} demo --rps 50 --fleet-info {}", info.display()), true);
    let fleet: serde_json::Value = serde_json::from_str(&wait_file(&info, Duration::from_secs(60))).unwrap();
    let admin = fleet["admin"].as_str().unwrap().to_string();
    t.wait_for("the cockpit at 0%", Duration::from_secs(60), |s, _| {
        s.contains("blue 0%") && s.contains("next 10% blocked: gate tasks open: T1212 (+4)")
    });

    t.key("a");
    t.wait_for("the advance dialog asking for a reason", Duration::from_secs(10), |s, _| {
        s.contains("0% → 10%") && s.contains("gate tasks open: T1212") && s.contains("override reason")
    });
    t.type_text("demo: pre-cutover checklist signed on paper", false);
    t.key("Enter");
    t.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    t.type_text("10", false);
    t.key("Enter");
    t.wait_for("the header at 10% with the soak countdown", Duration::from_secs(30), |s, _| {
        s.contains("blue 10%") && countdown(s).is_some()
    });
    assert_eq!(router_weights(&admin), (10, 90));
    let first = countdown(&t.screen(false)).unwrap();
    t.wait_for("the countdown to move", Duration::from_secs(20), |s, _| countdown(s).is_some_and(|c| c < first));
    let screen = t.screen(false);
    assert!(screen.contains("0% → 10% by") && screen.contains("OVERRIDE: \"demo: pre-cutover checklist"), "{screen}");
    assert!(screen.contains("demo: soaks shortened"), "{screen}");

    t.key("R");
    t.wait_for("the rollback dialog", Duration::from_secs(10), |s, _| s.contains("type ROLLBACK"));
    t.type_text("ROLLBACK", false);
    t.key("Enter");
    t.type_text("e2e says so", false);
    t.key("Enter");
    t.wait_for("the rollback procedure on screen", Duration::from_secs(30), |s, _| {
        s.contains("ROLLED BACK") && s.contains("[x] route all traffic to green")
    });
    assert_eq!(router_weights(&admin), (0, 100));

    let audit = wait_file(&t.path("state/cutover/go-live-demo/audit.jsonl"), Duration::from_secs(10));
    assert!(audit.contains("pre-cutover checklist signed on paper") && audit.contains("e2e says so"), "{audit}");
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn weights_changed_behind_its_back_block_the_advance_until_d_adopts_them() {
    let t = Tmux::start("adopt", 120, 40);
    let info = t.path("fleet.json");
    t.type_text(&format!("{BIN} demo --rps 50 --fleet-info {}", info.display()), true);
    let fleet: serde_json::Value = serde_json::from_str(&wait_file(&info, Duration::from_secs(60))).unwrap();
    let admin = fleet["admin"].as_str().unwrap().to_string();
    t.wait_for("the cockpit at 0%", Duration::from_secs(60), |s, _| s.contains("blue 0%") && s.contains("next 10%"));
    put_router(&admin, cutover::domain::env::Weights { blue: 25, green: 75 });
    t.wait_for("the drift in the header and the keys in the traffic panel", Duration::from_secs(30), |s, _| {
        s.contains("DRIFT: router says 25/75, cutover expects 0/100")
            && s.contains("V sets the router back to 0% · D adopts the router's split")
    });
    t.key("a");
    t.wait_for("the dialog saying drift cannot be overridden", Duration::from_secs(10), |s, _| {
        s.contains("✗ drift: router says 25/75") && s.contains("drift cannot be overridden")
    });
    t.key("Escape");
    t.key("D");
    t.wait_for("the adopt dialog", Duration::from_secs(10), |s, _| s.contains("record the router's split 25/75"));
    t.type_text("the load balancer team moved it by hand", false);
    t.key("Enter");
    t.wait_for("the stage adopted", Duration::from_secs(30), |s, _| {
        let header = s.lines().next().unwrap_or("");
        header.contains("blue 25%") && !header.contains("DRIFT") && s.contains("ADOPTED router's 25% (was 0%)")
    });
    assert_eq!(router_weights(&admin), (25, 75), "adopting moves nothing");
    let audit = wait_file(&t.path("state/cutover/go-live-demo/audit.jsonl"), Duration::from_secs(10));
    assert!(audit.lines().any(|l| l.contains("\"what\":\"adopt\"") && l.contains("moved it by hand")), "{audit}");
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

//! A `manual` actuator step: the chain stops, the operator moves traffic elsewhere and confirms;
//! only then does the next actuator (the fleet's weights webhook) run. Driven from `cutover
//! advance` in a real terminal, from the cockpit's `c` key, and refused without a terminal.

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tmux::Tmux;
use common::traffic::{FleetConfig, router_weights, stored_percent};
use fleet_proc::FleetProc;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// A manual step first, then the fleet's webhook.
fn config() -> FleetConfig<'static> {
    FleetConfig {
        stages: "[10, 50, 100]",
        before: "[[actuator]]\nkind = \"manual\"\ninstruction = \"Move the F5 pool to {blue}/{green}\"\n",
        ..FleetConfig::new("manual-test")
    }
}

fn audit(state: &Path) -> String {
    std::fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default()
}

#[test]
fn without_a_terminal_the_manual_step_is_given_up_and_nothing_moves() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let t = Tmux::start("manual-noterm", 100, 30);
    let cfg = config().write(&t.dir, &fleet.info);
    let state = t.path("state");
    let o = Command::new(BIN)
        .args(["advance", "--yes", "--wait", "0s", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("manual step not done") && err.contains("stdin is not a terminal"), "{err}");
    assert!(err.contains("Move the F5 pool to 10/90"), "the instruction is named: {err}");
    assert_eq!(router_weights(&fleet.info.admin), (0, 100), "the webhook after the manual step did not run");
    assert_eq!(stored_percent(&state), Some(0));
    let log = audit(&state);
    assert!(log.contains("\"manual-step-waiting\"") && log.contains("\"advance-failed\""), "{log}");
}

#[test]
fn advance_from_a_shell_waits_for_done_then_runs_the_rest() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let t = Tmux::start("manual-cli", 100, 30);
    let cfg = config().write(&t.dir, &fleet.info);
    let state = t.path("state");
    t.type_text(
        &format!(
            "{BIN} advance --yes --wait 0s --config {} --state-dir {}; echo EXIT=$?",
            cfg.display(),
            state.display()
        ),
        true,
    );
    t.wait_for("the manual step prompt", Duration::from_secs(60), |s, _| {
        s.contains("MANUAL STEP: Move the F5 pool to 10/90") && s.contains("type done")
    });
    assert_eq!(router_weights(&fleet.info.admin), (0, 100), "nothing after the manual step runs before done");
    t.type_text("done", true);
    t.wait_for("the advance to finish", Duration::from_secs(30), |s, _| s.lines().any(|l| l.starts_with("EXIT=")));
    let screen = t.screen(false);
    assert!(screen.contains("EXIT=0") && screen.contains("0% → 10%"), "{screen}");
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    assert_eq!(stored_percent(&state), Some(10));
    assert!(audit(&state).contains("\"manual-step-confirmed\""));
}

#[test]
fn the_cockpit_shows_the_step_and_c_confirms_it() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let t = Tmux::start("manual-cockpit", 120, 40);
    let cfg = config().write(&t.dir, &fleet.info);
    let state = t.path("state");
    t.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    t.wait_for("the cockpit", Duration::from_secs(60), |s, _| s.contains("next 10% ready"));
    t.key("a");
    t.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    t.type_text("10", false);
    t.key("Enter");
    t.wait_for("the manual step in the traffic panel", Duration::from_secs(30), |s, _| {
        s.contains("MANUAL STEP 0% → 10%") && s.contains("Move the F5 pool to 10/90")
    });
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));

    t.key("c");
    t.wait_for("the manual-step dialog", Duration::from_secs(10), |s, _| s.contains("type done once it is done"));
    t.type_text("nope", true);
    t.wait_for("a refusal", Duration::from_secs(10), |s, _| s.contains("is neither done nor abandon"));
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));
    t.type_text("done", true);
    t.wait_for("the stage at 10%", Duration::from_secs(30), |s, _| {
        s.contains("blue 10%") && !s.contains("MANUAL STEP 0%")
    });
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    let log = common::tmux::wait_file(&state.join("audit.jsonl"), Duration::from_secs(10));
    assert!(log.contains("\"manual-step-confirmed\""), "{log}");
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

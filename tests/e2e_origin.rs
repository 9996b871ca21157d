//! End to end: the demo records its config and runbook in its state dir, so `status`, `report`
//! and `advance` given only `--state-dir` read the same ones as its cockpit (in tmux).

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::{Tmux, wait_file};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// A command on the state dir alone, from a folder with no config to discover.
fn on_state_dir(t: &Tmux, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--state-dir")
        .arg(t.path("demo-state"))
        .current_dir(&t.dir)
        .env("HOME", &t.dir)
        .env("XDG_CONFIG_HOME", t.path("config"))
        .env("XDG_STATE_HOME", t.path("state"))
        .env_remove("CUTOVER_CONFIG")
        .env_remove("CUTOVER_STATE_DIR")
        .output()
        .unwrap()
}

#[test]
fn status_report_and_advance_on_the_demos_state_dir_agree_with_its_cockpit() {
    let t = Tmux::start("origin", 120, 40);
    let state = t.path("demo-state");
    t.type_text(&format!("{BIN} demo --rps 20 --smoke-rps 5 --state-dir {}", state.display()), true);
    let origin = wait_file(&state.join("origin.json"), Duration::from_secs(60));
    assert!(origin.contains("<built-in demo config>") && origin.contains("runbook.md"), "{origin}");
    t.wait_for("the cockpit", Duration::from_secs(60), |s, _| s.contains("HEALTH") && s.contains("q quit"));

    // A tick in the demo's copy of the runbook (as the cockpit's space would write it).
    let rb = state.join("runbook.md");
    let text = std::fs::read_to_string(&rb).unwrap();
    let ticked = text.replacen("- [ ] T1137", "- [x] T1137", 1);
    assert!(text != ticked, "the demo's runbook has T1137 open");
    std::fs::write(&rb, ticked).unwrap();
    t.wait_for("the tick on screen", Duration::from_secs(20), |s, _| s.contains("RUNBOOK 10/168"));

    let o = on_state_dir(&t, &["status", "--json", "--wait", "3s"]);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("no config found"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(json["deployment"], "go-live", "{out}");
    assert_eq!(json["runbook"]["done"], 10, "the demo's copy, as the cockpit counts it: {out}");
    assert_eq!(json["weights"]["green"], 100, "the demo's own router was read: {out}");

    let o = on_state_dir(&t, &["report"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("| **All** | 10 | 168 |"), "{out}");

    // advance finds the demo's actuators (its fleet's router) with --state-dir alone; the demo's
    // cockpit holds the controls, so the shell takes them.
    let o = on_state_dir(
        &t,
        &[
            "advance",
            "--yes",
            "--take-controls",
            "the shell drives this stage",
            "--override",
            "checklist signed on paper",
            "--wait",
            "2s",
        ],
    );
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!text.contains("no config found"), "{text}");
    assert!(o.status.success(), "{text}");
    t.wait_for("the cockpit following the advance", Duration::from_secs(20), |s, _| s.contains("blue 10%"));
    t.key("q");
}

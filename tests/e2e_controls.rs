//! End to end: two cockpits on one state dir, each in its own terminal (tmux). The second starts
//! as an observer, follows the first's advance within about a second, and takes the controls
//! once the first hands them over.

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::traffic::{FleetConfig, TempDir};
use fleet_proc::FleetProc;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

#[test]
fn the_second_instance_observes_follows_the_advance_and_takes_the_controls_after_a_handover() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "20", "--smoke-rps", "5"]);
    let dir = TempDir::new("pairing");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { read_back: false, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let command = format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display());

    let one = Tmux::start("controls-one", 120, 40);
    one.type_text(&command, true);
    one.wait_for("instance 1 holding the controls", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching")
    });
    let two = Tmux::start("controls-two", 120, 40);
    two.type_text(&command, true);
    two.wait_for("instance 2 observing", Duration::from_secs(60), |s, _| {
        header(s).contains("observing") && header(s).contains("blue 0%")
    });
    one.wait_for("instance 1 counting one watcher", Duration::from_secs(10), |s, _| {
        header(s).contains("controls: you · 1 watching")
    });

    one.key("a");
    one.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    one.type_text("10", false);
    one.key("Enter");
    // Both screens, polled closely: when each first shows the new stage.
    let limit = Instant::now() + Duration::from_secs(30);
    let (mut seen_one, mut seen_two) = (None, None);
    while seen_one.is_none() || seen_two.is_none() {
        assert!(
            Instant::now() < limit,
            "the advance did not show on both:\n{}\n{}",
            one.screen(false),
            two.screen(false)
        );
        if seen_one.is_none() && header(&one.screen(false)).contains("blue 10%") {
            seen_one = Some(Instant::now());
        }
        if seen_two.is_none() && header(&two.screen(false)).contains("blue 10%") {
            seen_two = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (seen_one, seen_two) = (seen_one.unwrap(), seen_two.unwrap());
    let lag = seen_two.saturating_duration_since(seen_one);
    eprintln!("instance 2 showed 10% {lag:?} after instance 1");
    // The design says within a second; 1.5 s leaves room for two busy cores.
    assert!(lag <= Duration::from_millis(1500), "instance 2 followed {lag:?} after instance 1");
    assert!(header(&two.screen(false)).contains("observing"), "{}", two.screen(false));

    two.key("t");
    two.wait_for("instance 2 saying it asked", Duration::from_secs(10), |s, _| s.contains("for the controls"));
    one.wait_for("the request on instance 1", Duration::from_secs(10), |s, _| {
        s.contains("asks for the controls: y hand over, n keep them")
    });
    one.key("y");
    two.wait_for("instance 2 holding the controls", Duration::from_secs(10), |s, _| {
        header(s).contains("controls: you · 1 watching") && s.contains("handed you the controls")
    });
    one.wait_for("instance 1 observing", Duration::from_secs(10), |s, _| {
        header(s).contains("observing") && !s.contains("y hand over, n keep them")
    });
    one.key("a");
    one.wait_for("instance 1 refusing to advance", Duration::from_secs(10), |s, _| {
        s.contains("you do not hold the controls: press t to ask for them")
    });
    assert!(!one.screen(false).contains("type 25 to send 25%"), "no dialog on an observer");

    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    for what in ["\"advance\"", "\"hand-over\"", "\"take-controls\""] {
        assert!(audit.contains(what), "{what} missing from the audit log:\n{audit}");
    }
    one.key("q");
    two.key("q");
    one.wait_for("instance 1 ending", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
    two.wait_for("instance 2 ending", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn the_holder_follows_a_cli_advance_instead_of_overwriting_it() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-cli");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { read_back: false, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let holder = Tmux::start("controls-cli", 120, 40);
    holder.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    holder.wait_for("the holder at 0%", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching") && header(s).contains("blue 0%")
    });
    let out = std::process::Command::new(BIN)
        .args(["advance", "--yes", "--wait", "0s", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    holder.wait_for("the holder at 10%, saying who moved it", Duration::from_secs(10), |s, _| {
        header(s).contains("blue 10%") && s.contains("state changed by") && s.contains("blue 10%")
    });
    // The holder's next save (a trigger, a tick) starts from 10 %, not from its old 0 %.
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"advance\""), "{audit}");
    holder.key("q");
    holder.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn a_cockpit_advance_waits_for_a_cli_action_and_then_changes_nothing() {
    use cutover::store::{ActionLock, StateDir, Who};
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-busy");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { read_back: false, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let holder = Tmux::start("controls-busy", 120, 40);
    holder.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    holder.wait_for("the holder at 0%", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching") && header(s).contains("blue 0%")
    });
    // A CLI verb is running (as far as the lock says) while the operator advances.
    let sd = StateDir::open(&state).unwrap();
    let busy = ActionLock::acquire(&sd, &Who::new("carol", "ops9", 1), "advance", Duration::from_secs(1)).unwrap();
    holder.key("a");
    holder.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    holder.type_text("10", false);
    holder.key("Enter");
    holder.wait_for("the cockpit saying who is busy", Duration::from_secs(20), |s, _| {
        s.contains("carol@ops9") && s.contains("nothing was changed")
    });
    assert!(header(&holder.screen(false)).contains("blue 0%"), "{}", holder.screen(false));
    let weights =
        std::process::Command::new("curl").args(["-fsS", &format!("{}/weights", fleet.info.admin)]).output().unwrap();
    let weights: serde_json::Value = serde_json::from_slice(&weights.stdout).unwrap();
    assert_eq!(
        (weights["blue"].as_u64(), weights["green"].as_u64()),
        (Some(0), Some(100)),
        "the router was not touched"
    );
    drop(busy);
    holder.key("q");
    holder.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

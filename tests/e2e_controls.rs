//! End to end: two cockpits on one state dir, each in its own terminal (tmux). The second starts
//! as an observer, follows the first's advance within about a second, and takes the controls
//! once the first hands them over.

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::traffic::{FleetConfig, TempDir, router_weights};
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

/// `cutover VERB …` on the fleet config and state dir, as `bob` (another person at a shell).
fn shell(cfg: &std::path::Path, state: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.args(args).arg("--config").arg(cfg).arg("--state-dir").arg(state);
    c.env("USER", "bob").stdin(std::process::Stdio::null());
    c
}

fn audit_count(state: &std::path::Path, what: &str) -> usize {
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default();
    audit.lines().filter(|l| l.contains(&format!("\"what\":\"{what}\""))).count()
}

fn stored(state: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(state.join("state.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_shell_advance_is_refused_while_a_cockpit_holds_the_controls_and_take_controls_takes_them() {
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
    let before = std::fs::read(state.join("state.json")).ok();
    for args in [&["advance", "--yes", "--wait", "0s"][..], &["resume", "--reason", "procedure done"][..]] {
        let out = shell(&cfg, &state, args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?} refused: {err}");
        assert!(
            err.contains("holds the controls since")
                && err.contains("(cockpit")
                && err.contains("ask for them, or pass --take-controls REASON"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(router_weights(&fleet.info.admin), (0, 100), "the router was not touched");
    assert_eq!(std::fs::read(state.join("state.json")).ok(), before, "state.json was not touched");
    assert!(header(&holder.screen(false)).contains("controls: you"), "{}", holder.screen(false));

    let out = shell(&cfg, &state, &["advance", "--yes", "--wait", "0s", "--take-controls", "CAB-7 night shift"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("took the controls from"), "{out:?}");
    // It observes: while the shell held the controls, and once it let go they are free, not its.
    holder.wait_for("the former holder told who took them, not holding, at 10%", Duration::from_secs(10), |s, _| {
        s.contains("controls taken")
            && s.contains("bob@")
            && s.contains("CAB-7 night shift")
            && (header(s).contains("observing") || header(s).contains("controls: free"))
            && header(s).contains("blue 10%")
    });
    holder.key("a");
    holder.wait_for("the former holder refusing to advance", Duration::from_secs(10), |s, _| {
        s.contains("you do not hold the controls: press t to ask for them")
    });
    assert_eq!(router_weights(&fleet.info.admin), (10, 90));
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let taken = audit.lines().find(|l| l.contains("\"take-controls\"") && l.contains("CAB-7")).expect(&audit);
    assert!(taken.contains("\"user\":\"bob\""), "audited under the taker's name: {taken}");
    assert!(audit.contains("\"advance\""), "{audit}");
    // The shell let go when it ended: the former holder can take them back with t.
    holder.key("Escape");
    // Another key right after Escape would arrive as Alt+key: wait for the popup to close first.
    holder.wait_for("the popup closed", Duration::from_secs(10), |s, _| !s.contains("controls taken"));
    holder.key("t");
    holder.wait_for("the controls taken back", Duration::from_secs(10), |s, _| header(s).contains("controls: you"));
    holder.key("q");
    holder.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn a_shell_rollback_goes_through_and_the_holder_sees_who_and_why() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-rollback");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { read_back: false, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let holder = Tmux::start("controls-rollback", 120, 40);
    holder.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    holder.wait_for("the holder at 0%", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching") && header(s).contains("blue 0%")
    });
    holder.key("a");
    holder.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    holder.type_text("10", false);
    holder.key("Enter");
    holder.wait_for("the holder at 10%", Duration::from_secs(20), |s, _| header(s).contains("blue 10%"));

    let out =
        shell(&cfg, &state, &["rollback", "--yes", "--reason", "p95 doubled on checkout", "--take-controls", "x"])
            .output()
            .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a rollback is never refused: {err}");
    assert!(err.contains("--take-controls is not needed") && err.contains("the controls stay with"), "{err}");
    assert_eq!(router_weights(&fleet.info.admin), (0, 100));
    holder.wait_for("a popup naming who rolled back and why", Duration::from_secs(10), |s, _| {
        s.contains("ROLLED BACK elsewhere") && s.contains("bob@") && s.contains("p95 doubled on checkout")
    });
    // The popup comes with the state file; the header says ROLLED BACK once the holder's own
    // reading of the router shows 0/100 (until then: ROLLING BACK · waiting for the router).
    holder.wait_for("the header saying rolled back", Duration::from_secs(20), |s, _| {
        header(s).contains("ROLLED BACK 0/100")
    });
    let screen = holder.screen(false);
    assert!(header(&screen).contains("controls: you"), "the holder keeps the controls: {screen}");
    holder.key("Escape");
    holder.wait_for("the popup closed", Duration::from_secs(10), |s, _| !s.contains("ROLLED BACK elsewhere"));
    holder.key("q");
    holder.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn a_trigger_raised_in_the_holder_while_a_shell_rollback_runs_stays_raised() {
    const ROUNDS: usize = 20;
    const TRIGGER: &str = "data corruption";
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-race");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let extra = format!("[[trigger]]\nname = \"{TRIGGER}\"\ntier = \"planned\"\ncondition = \"manual\"\n");
    let cfg = FleetConfig { read_back: false, extra: &extra, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let holder = Tmux::start("controls-race", 120, 40);
    holder.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    holder.wait_for("the holder with the trigger", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching") && s.contains(TRIGGER)
    });
    // Focus the triggers panel (phases → tasks → SLOs → triggers); the one trigger is selected.
    for _ in 0..3 {
        holder.key("Tab");
    }
    let mut rng = fastrand::Rng::with_seed(11);
    let mut shell_merged = 0;
    for round in 1..=ROUNDS {
        holder.key("!");
        holder.wait_for("the raise dialog", Duration::from_secs(10), |s, _| s.contains("raise \"data corruption\""));
        holder.type_text(&format!("round {round}"), false);
        let rollback = shell(&cfg, &state, &["rollback", "--yes", "--reason", &format!("round {round}")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The raise lands before, during or after the shell's load-change-save.
        std::thread::sleep(Duration::from_millis(rng.u64(..150)));
        holder.key("Enter");
        let out = rollback.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {err}");
        if err.contains("changed meanwhile") {
            shell_merged += 1;
        }
        let limit = Instant::now() + Duration::from_secs(15);
        loop {
            let s = stored(&state);
            let raised = &s["state"]["triggers"][TRIGGER]["raised"];
            let history = s["state"]["traffic"]["history"].as_array().map_or(0, Vec::len);
            let agree = raised["reason"].as_str() == Some(&format!("round {round}"))
                && s["state"]["traffic"]["pending"].is_null()
                && history == round
                && s["state"]["traffic"]["blue_percent"] == 0
                && audit_count(&state, "rollback") == round
                && audit_count(&state, "trigger-raise") == round
                && router_weights(&fleet.info.admin) == (0, 100);
            if agree {
                break;
            }
            assert!(
                Instant::now() < limit,
                "round {round}: the audit, state.json and the router disagree:\nstate {s}\naudit rollbacks {} raises {}\n\
                 router {:?}\n{}",
                audit_count(&state, "rollback"),
                audit_count(&state, "trigger-raise"),
                router_weights(&fleet.info.admin),
                holder.screen(false)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The holder says who rolled back, and still shows the trigger raised.
        let popup = "bob@";
        let why = format!("rolled back 0% → 0%: round {round}");
        holder.wait_for("the rollback popup", Duration::from_secs(10), |s, _| {
            s.contains("ROLLED BACK elsewhere") && s.contains(popup) && s.contains(&why)
        });
        holder.key("Escape");
        holder.wait_for("the holder showing the trigger raised", Duration::from_secs(10), |s, _| {
            !s.contains("ROLLED BACK elsewhere") && s.lines().any(|l| l.contains(TRIGGER) && l.contains("RAISED"))
        });
        // Lower it again for the next round.
        holder.key("!");
        holder.wait_for("the lower dialog", Duration::from_secs(10), |s, _| s.contains("lower \"data corruption\""));
        holder.type_text(&format!("done {round}"), false);
        holder.key("Enter");
        let limit = Instant::now() + Duration::from_secs(10);
        while !stored(&state)["state"]["triggers"][TRIGGER]["raised"].is_null() {
            assert!(Instant::now() < limit, "round {round}: not lowered: {}", holder.screen(false));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let log = std::fs::read_to_string(state.join("cutover.log")).unwrap_or_default();
    let holder_merged = log.lines().filter(|l| l.contains("changed meanwhile")).count();
    eprintln!("of {ROUNDS} rounds, the shell merged in {shell_merged}, the holder in {holder_merged}");
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

#[test]
fn an_observer_raises_a_trigger_only_through_the_holder() {
    const TRIGGER: &str = "data corruption";
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-ask");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let extra = format!("[[trigger]]\nname = \"{TRIGGER}\"\ntier = \"planned\"\ncondition = \"manual\"\n");
    let cfg = FleetConfig { read_back: false, extra: &extra, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let command = format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display());
    let holder = Tmux::start("controls-ask-one", 120, 40);
    holder.type_text(&command, true);
    holder.wait_for("the holder", Duration::from_secs(60), |s, _| header(s).contains("controls: you · 0 watching"));
    let observer = Tmux::start("controls-ask-two", 120, 40);
    observer.type_text(&format!("USER=bob {command}"), true);
    observer.wait_for("the observer", Duration::from_secs(60), |s, _| header(s).contains("observing"));
    for _ in 0..3 {
        observer.key("Tab");
    }
    observer.key("!");
    observer.wait_for("the raise dialog", Duration::from_secs(10), |s, _| s.contains("raise \"data corruption\""));
    observer.type_text("rows lost in eu-1", false);
    observer.key("Enter");
    observer.wait_for("the observer saying it asked", Duration::from_secs(10), |s, _| {
        s.contains("to raise \"data corruption\" (rows lost in eu-1)")
    });
    holder.wait_for("the request on the holder", Duration::from_secs(10), |s, _| {
        s.contains("bob@")
            && s.contains("asks you to raise \"data corruption\" (rows lost in eu-1): y do it, n decline")
    });
    // Nothing is raised anywhere until the holder says so.
    let raised = |state: &std::path::Path| !stored(state)["state"]["triggers"][TRIGGER]["raised"].is_null();
    assert!(!raised(&state), "raised before the holder answered");
    assert!(!observer.screen(false).lines().any(|l| l.contains(TRIGGER) && l.contains("RAISED")));
    assert_eq!(audit_count(&state, "trigger-raise"), 0);
    holder.key("y");
    let limit = Instant::now() + Duration::from_secs(10);
    while !raised(&state) {
        assert!(Instant::now() < limit, "not raised after y: {}", holder.screen(false));
        std::thread::sleep(Duration::from_millis(50));
    }
    for (who, t) in [("holder", &holder), ("observer", &observer)] {
        t.wait_for(&format!("the {who} showing it raised"), Duration::from_secs(10), |s, _| {
            s.lines().any(|l| l.contains(TRIGGER) && l.contains("RAISED"))
        });
    }
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let request = audit.lines().find(|l| l.contains("\"trigger-request\"")).expect(&audit);
    assert!(request.contains("\"user\":\"bob\""), "the request is audited under the observer's name: {request}");
    let raise = audit.lines().find(|l| l.contains("\"trigger-raise\"")).expect(&audit);
    assert!(!raise.contains("\"user\":\"bob\"") && raise.contains("asked by bob@"), "{raise}");
    assert_eq!(audit.lines().filter(|l| l.contains("\"user\":\"bob\"")).count(), 1, "{audit}");
    holder.key("q");
    observer.key("q");
    holder.wait_for("the holder ending", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
    observer.wait_for("the observer ending", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn a_cockpit_change_waiting_for_the_action_lock_is_not_sent_once_a_shell_rollback_replaced_it() {
    use cutover::domain::cockpit::PersistedState;
    use cutover::store::{ActionLock, StateDir, Who};
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("pairing-superseded");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { read_back: false, ..FleetConfig::new("pairing") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let holder = Tmux::start("controls-superseded", 120, 40);
    holder.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    holder.wait_for("the holder at 0%", Duration::from_secs(60), |s, _| {
        header(s).contains("controls: you · 0 watching") && header(s).contains("blue 0%")
    });
    // A shell verb holds the action lock while the operator advances.
    let mut sd = StateDir::open(&state).unwrap();
    let carol = Who::new("carol", "ops9", 1);
    let busy = ActionLock::acquire(&sd, &carol, "rollback", Duration::from_secs(1)).unwrap();
    holder.key("a");
    holder.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    holder.type_text("10", false);
    holder.key("Enter");
    let limit = Instant::now() + Duration::from_secs(10);
    while stored(&state)["state"]["traffic"]["pending"].is_null() {
        assert!(Instant::now() < limit, "the intent was not saved: {}", holder.screen(false));
        std::thread::sleep(Duration::from_millis(20));
    }
    // The shell's rollback lands (as `cutover rollback` writes it) and it lets go of the lock.
    let (s, _) = sd
        .update(&carol, |s: Option<PersistedState>| {
            let mut s = s.unwrap();
            s.traffic = s.traffic.rollback("p95 doubled", "carol@ops9", cutover::store::state_dir::now()).0;
            s.traffic.pending = None;
            Ok::<_, cutover::store::StoreError>(s)
        })
        .unwrap();
    assert!(s.traffic.is_rolled_back());
    drop(busy);
    // Said in the traffic panel (cut at its width), or, when the cockpit followed the rollback
    // before the refusal came back, in the log.
    holder.wait_for("the cockpit saying its change was replaced", Duration::from_secs(20), |s, _| {
        s.contains("0% → 10% FAILED: carol@ops9 changed the traffic while this change wai")
            || s.contains("no change #1 is waiting for the router (already settled or superseded by")
    });
    assert_eq!(router_weights(&fleet.info.admin), (0, 100), "the router was not moved over the rollback");
    let s = stored(&state);
    assert_eq!(s["state"]["traffic"]["blue_percent"], 0, "{s}");
    holder.key("q");
    holder.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

#[test]
fn take_controls_on_a_verb_that_never_takes_them_is_refused_with_why() {
    let dir = TempDir::new("pairing-flag");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    for verb in ["status", "report", "check", "run"] {
        let out = std::process::Command::new(BIN)
            .args([verb, "--take-controls", "because"])
            .arg("--state-dir")
            .arg(dir.0.join("state"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {err}");
        assert!(err.contains(&format!("cutover {verb}: --take-controls is for the verbs that act")), "{err}");
    }
    assert!(!dir.0.join("state").exists(), "nothing was created");
}

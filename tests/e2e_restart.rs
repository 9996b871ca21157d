//! End to end: the cockpit started after a crash that cut a traffic change off between the
//! actuator call and saving its outcome. It reads the router, records what it finds, never
//! repeats the change, and shows what it cannot settle with `V` to set the router back.

mod common;
#[allow(dead_code)]
#[path = "common/fleet_proc.rs"]
mod fleet_proc;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::traffic::{FleetConfig, cut_off_advance, put_router, router};
use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::Weights;
use cutover::domain::traffic::weights_for;
use cutover::store::StateDir;
use fleet_proc::FleetProc;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn load(state: &Path) -> PersistedState {
    StateDir::open_read_only(state).unwrap().load::<PersistedState>().unwrap().unwrap().state
}

fn wait_state(state: &Path, what: &str, pred: impl Fn(&PersistedState) -> bool) {
    let start = Instant::now();
    loop {
        if pred(&load(state)) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "state.json never showed {what}: {:?}", load(state).traffic);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn audit_whats(state: &Path) -> Vec<String> {
    let audit = StateDir::open_read_only(state).unwrap().read_audit().unwrap();
    audit.entries.into_iter().map(|e| e.what).collect()
}

#[test]
fn the_cockpit_settles_an_interrupted_change_from_the_router_and_v_reverts_what_it_cannot() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let admin = fleet.info.admin.clone();
    let t = Tmux::start("restart", 120, 40);
    let cfg =
        FleetConfig { blue_slo: false, timeout: "5s", ..FleetConfig::new("restart-test") }.write(&t.dir, &fleet.info);
    let state = t.path("state-dir");
    let o = std::process::Command::new(BIN)
        .args(["advance", "--yes", "--wait", "0s", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display());

    // Cut off with the router somewhere else: shown, not settled, nothing sent.
    cut_off_advance(&state);
    put_router(&admin, Weights { blue: 50, green: 50 });
    t.type_text(&run, true);
    t.wait_for("the interrupted change on screen", Duration::from_secs(60), |s, _| {
        s.contains("INTERRUPTED 10% → 25%") && s.contains("router reads 50/50") && s.contains("V sets the router back")
    });
    assert_eq!(router(&admin), Weights { blue: 50, green: 50 }, "nothing was repeated");
    wait_state(&state, "the change as interrupted", |s| s.traffic.interrupted.is_some() && s.traffic.pending.is_none());
    t.key("V");
    wait_state(&state, "the interruption over", |s| s.traffic.interrupted.is_none());
    assert_eq!(router(&admin), weights_for(10), "V set the router back to the recorded split");
    t.wait_for("the header without the interruption", Duration::from_secs(30), |s, _| {
        let header = s.lines().next().unwrap_or_default();
        !header.contains("INTERRUPTED")
            && header.contains("next 25% in")
            && !s.contains("nothing was repeated · a retries")
    });
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));

    // Cut off after the router changed: recorded as applied at start-up.
    cut_off_advance(&state);
    put_router(&admin, weights_for(25));
    t.type_text("clear", true);
    t.type_text(&run, true);
    wait_state(&state, "25% recorded", |s| s.traffic.blue_percent == 25 && s.traffic.interrupted.is_none());
    t.wait_for("the cockpit at 25%", Duration::from_secs(30), |s, _| s.contains("blue 25%") && s.contains("next 50%"));
    assert_eq!(router(&admin), weights_for(25));
    let whats = audit_whats(&state);
    let settled: Vec<&String> = whats.iter().filter(|w| w.starts_with("reconciled-") || *w == "revert").collect();
    assert_eq!(settled, ["reconciled-unknown", "revert", "reconciled-applied"], "{whats:?}");
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

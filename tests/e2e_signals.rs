//! End to end: how cutover ends when a signal or a panic ends it. The cockpit runs in a real
//! terminal (tmux); after each way out the shell's `stty -a` shows the line discipline back
//! (`icanon`, `echo`), tmux says the alternate screen is left and the cursor shown, and the exit
//! status is the one a shell expects (129 SIGHUP, 130 SIGINT, 143 SIGTERM, 101 a panic). A signal
//! that lands while traffic is being moved leaves the change recorded as interrupted, in the
//! cockpit and in `cutover advance` alike.

mod common;
#[allow(dead_code)]
#[path = "common/fleet_proc.rs"]
mod fleet_proc;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::tmux::{Tmux, wait_file};
use common::traffic::{FleetConfig, TempDir, cutover, output_text, router};
use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::Weights;
use cutover::store::StateDir;
use fleet_proc::FleetProc;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const LIMIT: Duration = Duration::from_secs(60);

/// An exec actuator, before the fleet's webhook, that writes its pid to `marker` and then takes
/// a minute: the traffic change is under way for as long as the test needs.
fn slow_actuator(marker: &Path) -> String {
    format!(
        "[[actuator]]\nkind = \"exec\"\nargv = [\"sh\", \"-c\", \"echo $$ > {}; exec sleep 60\"]\ntimeout = \"90s\"\n",
        marker.display()
    )
}

/// The pid the slow actuator wrote, once it is running.
fn actuator_pid(marker: &Path) -> u32 {
    wait_file(marker, LIMIT).trim().parse().expect("a pid in the marker")
}

fn kill(pid: u32, signal: &str) {
    let st = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(st.success(), "kill -{signal} {pid}");
}

/// Cleanup: the slow actuator may already be gone (cutover stops what it started).
fn kill_quietly(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
}

fn state(dir: &Path) -> PersistedState {
    StateDir::open_read_only(dir).unwrap().load::<PersistedState>().unwrap().unwrap().state
}

/// The audit entries named `what`, as JSON.
fn audited(dir: &Path, what: &str) -> Vec<serde_json::Value> {
    let audit = StateDir::open_read_only(dir).unwrap().read_audit().unwrap();
    audit.entries.into_iter().filter(|e| e.what == what).map(|e| serde_json::to_value(e).unwrap()).collect()
}

/// The cockpit in a tmux pane, started by a shell line that records its pid, its exit status,
/// its stderr and then the terminal's settings as the shell sees them after it.
struct Cockpit {
    t: Tmux,
    cfg: PathBuf,
    state: PathBuf,
}

impl Cockpit {
    fn start(name: &str, fleet: &FleetProc, before: &str) -> Cockpit {
        let t = Tmux::start(name, 120, 40);
        let cfg = FleetConfig { blue_slo: false, before, ..FleetConfig::new(name) }.write(&t.dir, &fleet.info);
        let state = t.path("state-dir");
        Cockpit { t, cfg, state }
    }

    /// Runs the cockpit (with `env` before it) and waits for its screen.
    fn run(&self, env: &str) {
        for f in ["pid", "status", "stty", "stderr"] {
            let _ = std::fs::remove_file(self.t.path(f));
        }
        let line = format!(
            "{env} bash -c 'echo $$ > pid; exec {BIN} run --config {} --state-dir {}' 2> stderr; echo $? > status; \
             stty -a > stty",
            self.cfg.display(),
            self.state.display()
        );
        self.t.type_text(&line, true);
        self.t.wait_for("the cockpit", LIMIT, |s, _| s.contains("next 10%") && s.contains("q quit"));
    }

    fn pid(&self) -> u32 {
        wait_file(&self.t.path("pid"), LIMIT).trim().parse().unwrap()
    }

    /// Waits for the cockpit to end; returns its exit status and stderr, after checking that the
    /// terminal is as it was.
    fn ended(&self) -> (i32, String) {
        let status: i32 = wait_file(&self.t.path("status"), LIMIT).trim().parse().unwrap();
        let stty = wait_file(&self.t.path("stty"), LIMIT);
        let stderr = std::fs::read_to_string(self.t.path("stderr")).unwrap_or_default();
        let words: Vec<&str> = stty.split_whitespace().collect();
        assert!(
            words.contains(&"icanon") && words.contains(&"echo"),
            "raw mode left on (status {status}):\n{stty}\n{stderr}"
        );
        assert_eq!(self.t.format("#{alternate_on}"), "0", "the alternate screen is still on; stderr:\n{stderr}");
        assert_eq!(self.t.format("#{cursor_flag}"), "1", "the cursor is still hidden; stderr:\n{stderr}");
        (status, stderr)
    }
}

#[test]
fn sigterm_sigint_and_sighup_restore_the_terminal_and_exit_as_shells_expect() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let c = Cockpit::start("signals", &fleet, "");
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        c.run("");
        kill(c.pid(), signal);
        let (status, stderr) = c.ended();
        println!("SIG{signal}: exit status {status}; stderr: {}", stderr.trim());
        assert_eq!(status, code, "SIG{signal}; stderr:\n{stderr}");
        assert!(stderr.contains(&format!("cutover run: stopped by SIG{signal}")), "{stderr}");
    }
    // Nothing was moving: nothing is recorded as interrupted.
    assert!(audited(&c.state, "interrupted").is_empty());
}

#[test]
fn a_panic_restores_the_terminal_says_where_the_log_is_and_exits_101() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let c = Cockpit::start("panic", &fleet, "");
    // In the loop itself, and in a task: a task's panic must not leave a cockpit running behind
    // a restored terminal.
    for place in ["loop", "task"] {
        let line = format!(
            "CUTOVER_TEST_PANIC={place} {BIN} run --config {} --state-dir {} 2> stderr; echo $? > status; stty -a > stty",
            c.cfg.display(),
            c.state.display()
        );
        for f in ["status", "stty", "stderr"] {
            let _ = std::fs::remove_file(c.t.path(f));
        }
        c.t.type_text(&line, true);
        let (status, stderr) = c.ended();
        println!("panic in the {place}: exit status {status}; stderr:\n{}", stderr.trim());
        assert_eq!(status, 101, "{stderr}");
        assert!(
            stderr.contains("deliberate panic in") && stderr.contains(&format!("CUTOVER_TEST_PANIC={place}")),
            "{stderr}"
        );
        let log = c.state.join("cutover.log");
        let log_line =
            stderr.lines().find(|l| l.starts_with("cutover: the log is at ")).unwrap_or_else(|| panic!("{stderr}"));
        let path = PathBuf::from(log_line.trim_start_matches("cutover: the log is at "));
        assert!(path.exists(), "{} does not exist (expected near {})", path.display(), log.display());
    }
    // The trigger is not offered anywhere in the help.
    let help = std::process::Command::new(BIN).args(["run", "--help"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("PANIC"));
}

#[test]
fn sighup_during_a_traffic_change_in_the_cockpit_leaves_it_recorded_as_interrupted() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("signals-actuation-marker");
    let marker = dir.0.join("actuator.pid");
    let c = Cockpit::start("sighup-actuation", &fleet, &slow_actuator(&marker));
    c.run("");
    c.t.key("a");
    c.t.wait_for("the confirmation prompt", Duration::from_secs(10), |s, _| s.contains("type 10 to send 10%"));
    c.t.type_text("10", false);
    c.t.key("Enter");
    let actuator = actuator_pid(&marker);
    kill(c.pid(), "HUP");
    let (status, stderr) = c.ended();
    kill_quietly(actuator);
    println!("SIGHUP mid-change: exit status {status}; stderr: {}", stderr.trim());
    assert_eq!(status, 129, "{stderr}");
    let s = state(&c.state);
    let interrupted = s.traffic.interrupted.as_ref().unwrap_or_else(|| panic!("not recorded: {:?}", s.traffic));
    assert_eq!((interrupted.from, interrupted.to, s.traffic.pending.is_none()), (0, 10, true));
    let entries = audited(&c.state, "interrupted");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["signal"], "SIGHUP", "{entries:?}");
    assert_eq!(router(&fleet.info.admin), Weights { blue: 0, green: 100 }, "the webhook after the slow step never ran");
    // The next cockpit settles it from the router's reading, and repeats nothing.
    c.run("");
    c.t.wait_for("the change settled as not applied", LIMIT, |s, _| {
        s.contains("interrupted before the router changed")
    });
    assert_eq!(audited(&c.state, "reconciled-not-applied").len(), 1);
    kill(c.pid(), "TERM");
    assert_eq!(c.ended().0, 143);
}

#[test]
fn sigint_during_cutover_advance_exits_130_with_the_change_recorded_as_interrupted() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("signals-advance");
    let marker = dir.0.join("actuator.pid");
    let before = slow_actuator(&marker);
    let cfg = FleetConfig { blue_slo: false, before: &before, ..FleetConfig::new("signals-advance") }
        .write(&dir.0, &fleet.info);
    let state_dir = dir.0.join("state");
    let child = cutover(&cfg, &state_dir, &["advance", "--yes", "--wait", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let actuator = actuator_pid(&marker);
    let started = Instant::now();
    kill(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    kill_quietly(actuator);
    println!("SIGINT mid-advance after {:?}: {}", started.elapsed(), output_text(&out));
    assert_eq!(out.status.code(), Some(130), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SIGINT: advance 0% → 10% was in flight: recorded as interrupted"), "{stderr}");
    assert!(stderr.contains("cutover advance: stopped by SIGINT"), "{stderr}");
    let s = state(&state_dir);
    assert!(s.traffic.interrupted.is_some() && s.traffic.pending.is_none(), "{:?}", s.traffic);
    let entries = audited(&state_dir, "interrupted");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["signal"], "SIGINT");
    assert_eq!(entries[0]["detail"]["to"], 10);
    // The next verb settles it against the router first, and moves nothing.
    let again = cutover(&cfg, &state_dir, &["advance", "--yes", "--wait", "0s"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "{}", output_text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("an interrupted change was reconciled"),
        "{}",
        output_text(&again)
    );
    assert_eq!(audited(&state_dir, "reconciled-not-applied").len(), 1);
    assert_eq!(router(&fleet.info.admin), Weights { blue: 0, green: 100 });
}

//! `kill -9` at random moments of advance / rollback / tick / trigger-raise cycles, from the
//! cockpit (in tmux, keys sent) and from the CLI, with a real HAProxy moving the traffic of
//! `cutover fleet`. After every kill: `state.json` parses, the audit log has no torn line in the
//! middle, the runbook file is whole, a raised trigger is still raised, and `status --json`
//! agrees with HAProxy's weights or shows the drift or the interrupted change.
//!
//! `CUTOVER_CRASH_CYCLES=N` sets the number of cycles (default 20, what the suite runs;
//! `scripts/crash.sh` runs more); the seed is printed and `CUTOVER_CRASH_SEED=N` replays a run.

#[allow(dead_code)]
mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;
#[path = "common/haproxy_server.rs"]
mod haproxy_server;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::crash::{finish_procedure, load, phase};
use common::tmux::Tmux;
use common::traffic::{TempDir, cutover, output_text as text};
use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::{Env, Weights};
use cutover::domain::traffic::{StepKind, weights_for};
use cutover::store::StateDir;
use fleet_proc::FleetProc;
use haproxy_server::{HaproxyServer, Options};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const TRIGGER: &str = "stop the line";
const RUNBOOK: &str = "# Crash runbook\n\n## Phase 1: Cutover\n\n\
    - [ ] T0001 Announce the window\n- [ ] T0002 Freeze deploys\n- [ ] T0003 Watch the dashboards\n";
const WAIT: Duration = Duration::from_secs(30);

fn config(dir: &Path, haproxy: SocketAddr) -> std::path::PathBuf {
    std::fs::write(dir.join("tasks.md"), RUNBOOK).unwrap();
    let text = format!(
        r#"[deployment]
name = "crash-haproxy"
[runbook]
path = "tasks.md"
[signals]
interval = "1s"
timeout = "800ms"
window = "10s"
[triggers]
defaults = false
[[trigger]]
name = "{TRIGGER}"
tier = "planned"
condition = "manual"
[traffic]
stages = [10, 25, 50, 75, 100]
soak = "1s"
[[actuator]]
kind = "haproxy"
socket = "ipv4@{haproxy}"
"#
    );
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// HAProxy's weights for blue and green, from its runtime API.
fn weights(hx: &HaproxyServer) -> Weights {
    let w = |server: &str| -> u32 {
        let answer = hx.command(&format!("get weight app/{server}"));
        answer.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{answer:?}"))
    };
    Weights { blue: w("blue"), green: w("green") }
}

fn raised(state: &PersistedState) -> bool {
    let v = serde_json::to_value(&state.triggers).unwrap();
    !v[TRIGGER]["raised"].is_null()
}

/// The runbook is whole: it parses, and only checkbox marks differ from the file as written.
fn check_runbook(path: &Path, ctx: &str) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{ctx}: the runbook is gone: {e}"));
    let original = cutover::domain::runbook::parse(RUNBOOK.as_bytes()).unwrap();
    let boxes: BTreeSet<usize> = original.phases.iter().flat_map(|p| p.tasks()).map(|t| t.checkbox).collect();
    assert_eq!(bytes.len(), RUNBOOK.len(), "{ctx}: the runbook changed length: {:?}", String::from_utf8_lossy(&bytes));
    for (i, (&now, &was)) in bytes.iter().zip(RUNBOOK.as_bytes()).enumerate() {
        let ok = if boxes.contains(&i) { b" xX".contains(&now) } else { now == was };
        assert!(ok, "{ctx}: the runbook's byte {i} is {now:?}: {:?}", String::from_utf8_lossy(&bytes));
    }
    cutover::domain::runbook::parse(&bytes).unwrap_or_else(|e| panic!("{ctx}: the runbook does not parse: {e}"));
}

/// Kills the cockpit and waits until it is gone (its locks are released only then).
fn kill_9(pid: u32) {
    // Its status is not checked: the process may have exited by itself a moment before.
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).stderr(Stdio::null()).status();
    let start = Instant::now();
    loop {
        // Gone, or a zombie waiting for tmux to reap it: either way its files are closed.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some(Some('Z' | 'X'))) {
            return;
        }
        assert!(start.elapsed() < WAIT, "cutover (pid {pid}) still runs after kill -9: {stat}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What one cycle does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Advance,
    Rollback,
    Resume,
    Tick,
    Raise,
    Lower,
}

/// A cockpit in its own tmux pane, run with `exec` so the pane's pid is cutover's.
fn start_cockpit(cfg: &Path, state: &Path, cycle: usize) -> Tmux {
    let t = Tmux::start(&format!("crash-{cycle}"), 120, 40);
    t.type_text(&format!("exec {BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    t
}

/// Drawn, and holding the controls: the footer offers the keys that act. (The header may be a
/// rollback banner instead of the controls line.)
fn ready(s: &str) -> bool {
    let footer = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    footer.contains("R rollback") && s.contains(TRIGGER) && s.contains("T0001")
}

/// Sends the keys for `act` and returns once the last key that acts was sent.
fn keys_for(t: &Tmux, act: Act, to: u8, cycle: usize) {
    match act {
        Act::Advance => {
            t.key("a");
            let typed = format!("type {to} to send {to}%");
            t.wait_for("the advance dialog", WAIT, |s, _| s.contains("override reason") || s.contains(&typed));
            if !t.screen(false).contains(&typed) {
                t.type_text(&format!("crash cycle {cycle}"), false);
                t.key("Enter");
                t.wait_for("the confirmation prompt", WAIT, |s, _| s.contains(&typed));
            }
            t.type_text(&to.to_string(), false);
            t.key("Enter");
        }
        Act::Rollback => {
            t.key("R");
            // After a rollback whose reason a kill cut off, R asks only for the reason.
            let later = "now say why";
            t.wait_for("the rollback dialog", WAIT, |s, _| s.contains("type ROLLBACK") || s.contains(later));
            if !t.screen(false).contains(later) {
                t.type_text("ROLLBACK", false);
                t.key("Enter");
            }
            t.type_text(&format!("crash cycle {cycle}"), false);
            t.key("Enter");
        }
        Act::Tick => {
            t.key("Tab");
            t.key("Space");
        }
        Act::Raise | Act::Lower => {
            for _ in 0..3 {
                t.key("Tab");
            }
            t.key("!");
            let dialog = format!("{} \"{TRIGGER}\"", if act == Act::Raise { "raise" } else { "lower" });
            t.wait_for("the trigger dialog", WAIT, |s, _| s.contains(&dialog));
            t.type_text(&format!("crash cycle {cycle}"), false);
            t.key("Enter");
        }
        Act::Resume => unreachable!("resume is a CLI verb here"),
    }
}

#[test]
fn kill_9_from_cockpit_and_cli_against_a_real_haproxy_leaves_nothing_inconsistent() {
    let cycles: usize = std::env::var("CUTOVER_CRASH_CYCLES").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let seed = std::env::var("CUTOVER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("seed {seed} (CUTOVER_CRASH_SEED={seed} replays it), {cycles} cycles");
    let mut rng = fastrand::Rng::with_seed(seed);
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let gateway = |env: Env| -> SocketAddr {
        let s = fleet.info.services.iter().find(|s| s.env == env).unwrap();
        s.url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap()
    };
    let hx = HaproxyServer::start(&Options::new(gateway(Env::Blue), gateway(Env::Green)));
    let dir = TempDir::new("crash-haproxy");
    let cfg = config(&dir.0, hx.admin);
    let state = dir.0.join("state");
    let runbook = dir.0.join("tasks.md");

    // One uninterrupted advance: a state to start from, and how long a verb lives here.
    let started = Instant::now();
    let o = cutover(&cfg, &state, &["advance", "--yes", "--wait", "0s"]).output().unwrap();
    let mut life_ms = started.elapsed().as_millis() as u64;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(weights(&hx), weights_for(10));
    eprintln!("an advance from the CLI takes {life_ms} ms here");

    let mut asked: BTreeSet<u8> = [0, 10].into();
    let mut kills: BTreeMap<String, usize> = BTreeMap::new();
    let mut acts: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed_damage = BTreeSet::new();
    let (mut drift_shown, mut interrupted_shown, mut agreed) = (0, 0, 0);
    let t0 = Instant::now();
    for cycle in 1..=cycles {
        let before = load(&state).expect("a state");
        let tr = &before.traffic;
        let rolled_back = tr.rollback.is_some();
        let routed = tr.rollback.as_ref().is_some_and(|r| r.step(StepKind::RouteTraffic).done_at.is_some());
        let settled = tr.pending.is_none() && tr.interrupted.is_none();
        let in_cockpit = rng.u8(0..10) < 5;
        let act = if rolled_back && routed && settled {
            Act::Resume
        } else if !settled || rolled_back || tr.blue_percent == 100 || weights(&hx) != weights_for(tr.blue_percent) {
            Act::Rollback
        } else if in_cockpit {
            match rng.u8(0..10) {
                0..=3 => Act::Advance,
                4 => Act::Rollback,
                5..=6 => Act::Tick,
                _ if raised(&before) => Act::Lower,
                _ => Act::Raise,
            }
        } else if rng.u8(0..5) == 0 {
            Act::Rollback
        } else {
            Act::Advance
        };
        let in_cockpit = in_cockpit && act != Act::Resume;
        let to = match act {
            Act::Advance => tr.spec.percents().into_iter().find(|p| *p > tr.blue_percent).unwrap(),
            _ => 0,
        };
        asked.insert(to);
        if act == Act::Resume {
            finish_procedure(&state);
        }
        let before = load(&state).unwrap();
        let runbook_before = std::fs::read(&runbook).unwrap();
        let channel = if in_cockpit { "cockpit" } else { "cli" };
        *acts.entry(format!("{act:?} from the {channel}")).or_default() += 1;

        let (landed, delay) = if in_cockpit {
            let t = start_cockpit(&cfg, &state, cycle);
            let pid = {
                let start = Instant::now();
                loop {
                    let pid = t.pane_pid();
                    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    if comm.trim() == "cutover" {
                        break pid;
                    }
                    assert!(start.elapsed() < WAIT, "cycle {cycle}: the pane never ran cutover: {comm:?}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            };
            if rng.u8(0..10) == 0 {
                // Now and then during start-up, while the cockpit reads and reconciles.
                let delay = rng.u64(0..=300);
                std::thread::sleep(Duration::from_millis(delay));
                kill_9(pid);
                ("during the cockpit's start-up", delay)
            } else {
                t.wait_for("the cockpit", Duration::from_secs(60), |s, _| ready(s));
                keys_for(&t, act, to, cycle);
                let delay = if rng.u8(0..10) < 7 { rng.u64(0..=60) } else { rng.u64(0..=600) };
                std::thread::sleep(Duration::from_millis(delay));
                kill_9(pid);
                ("in the cockpit", delay)
            }
        } else {
            let mut args: Vec<String> = match act {
                Act::Advance => {
                    ["advance", "--yes", "--wait", "0s", "--override", "crash test"].map(String::from).into()
                }
                Act::Rollback => ["rollback", "--yes", "--reason"].map(String::from).into(),
                Act::Resume => ["resume", "--reason"].map(String::from).into(),
                _ => unreachable!(),
            };
            if act != Act::Advance {
                args.push(format!("cycle {cycle}"));
            }
            let delay = if rng.u8(0..10) < 7 {
                rng.u64(life_ms * 3 / 10..=life_ms * 11 / 10)
            } else {
                rng.u64(0..=life_ms * 13 / 10)
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let spawned = Instant::now();
            let err_file = dir.0.join("verb.err");
            let err = std::fs::File::create(&err_file).unwrap();
            let mut child = cutover(&cfg, &state, &args).stdout(Stdio::null()).stderr(err).spawn().unwrap();
            let deadline = spawned + Duration::from_millis(delay);
            let mut exited = None;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            if exited.is_none() {
                child.kill().unwrap(); // SIGKILL
            }
            child.wait().unwrap();
            if let Some(status) = exited {
                // Follow the machine's pace, so kills keep landing within the verbs' lives.
                life_ms = (life_ms + spawned.elapsed().as_millis() as u64).div_ceil(2).max(1);
                if act == Act::Resume {
                    let said = std::fs::read_to_string(&err_file).unwrap_or_default();
                    assert!(status.success(), "cycle {cycle}: resume refused (seed {seed}): {said}");
                }
                ("the CLI verb finished first", delay)
            } else {
                if load(&state).as_ref() == Some(&before) {
                    // Killed before it wrote anything: verbs live longer than thought just now.
                    life_ms = life_ms * 6 / 5 + 1;
                }
                ("from the CLI", delay)
            }
        };

        let w = weights(&hx);
        let after = load(&state).expect("the state survives");
        let runbook_after = std::fs::read(&runbook).unwrap();
        let what = match act {
            _ if landed == "during the cockpit's start-up" => "",
            Act::Tick if runbook_after != runbook_before => "after the tick was written",
            Act::Tick => "before the tick was written",
            Act::Raise | Act::Lower if raised(&after) != raised(&before) => "after the trigger change was saved",
            Act::Raise | Act::Lower => "before the trigger change was saved",
            _ if landed == "the CLI verb finished first" => "",
            _ => phase(&before, &after, w),
        };
        let key = if what.is_empty() { landed.to_string() } else { format!("{landed}, {what}") };
        *kills.entry(key.clone()).or_default() += 1;
        let ctx = format!("cycle {cycle} ({act:?} from the {channel}, kill after {delay} ms, {key}), seed {seed}");

        // The audit log: a torn line only at the end, and the next append starts fresh after it.
        let audit = StateDir::open_read_only(&state).unwrap().read_audit().unwrap();
        if let Some(t) = &audit.torn_tail {
            allowed_damage.insert(t.offset);
        }
        for d in &audit.damaged {
            assert!(allowed_damage.contains(&d.offset), "{ctx}: torn audit line in the middle: {d:?}");
        }
        check_runbook(&runbook, &ctx);
        if raised(&before) && act != Act::Lower {
            assert!(raised(&after), "{ctx}: the raised trigger was lost");
        }
        // Nobody asked for any other split, in the state or in HAProxy.
        let at = after.traffic.blue_percent;
        assert!(asked.contains(&at), "{ctx}: stage {at}% was never asked for");

        // What status says, and whether it agrees with HAProxy.
        let o = cutover(&cfg, &state, &["status", "--json", "--wait", "0s"]).output().unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{ctx}: {e}: {}", text(&o)));
        let st = &v["stage"];
        // A command the killed process had sent may reach HAProxy a moment later.
        let seen = [w, weights(&hx)];
        // Agreeing is carrying the same share: 0/90 (left by a change cut off between its two
        // `set weight`s) sends blue nothing, as 0/100 does.
        let stage = st["blue_percent"].as_f64();
        let agrees = seen.iter().any(|w| w.blue_percent().zip(stage).is_some_and(|(a, b)| (a - b).abs() < 0.5));
        if agrees {
            agreed += 1;
        } else if !st["interrupted"].is_null() {
            interrupted_shown += 1;
        } else if !st["drift"].is_null() {
            drift_shown += 1;
        } else {
            panic!("{ctx}: status says {st} while HAProxy says {seen:?}");
        }
        assert_eq!(st["pending"], serde_json::Value::Null, "{ctx}: nothing is in flight after a restart: {st}");
        if raised(&after) {
            let t = v["triggers"].as_array().unwrap().iter().find(|t| t["name"] == TRIGGER).unwrap();
            assert_eq!(t["state"], "firing", "{ctx}: status shows the raised trigger: {t}");
        }
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{ctx}: {}", text(&o));
    }

    // After the last kill, a rollback settles whatever was left and works as ever.
    let o = cutover(&cfg, &state, &["rollback", "--yes", "--reason", "the end"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let end = load(&state).unwrap().traffic;
    assert_eq!((end.blue_percent, end.pending.is_none(), end.interrupted.is_none()), (0, true, true));
    assert_eq!(weights(&hx), weights_for(0));
    let audit = StateDir::open_read_only(&state).unwrap().read_audit().unwrap();
    assert!(audit.torn_tail.is_none(), "the last append started a fresh line");
    let kills_total: usize = kills.iter().filter(|(k, _)| !k.contains("finished first")).map(|(_, n)| n).sum();
    eprintln!("crash summary: {cycles} cycles in {:.1}s, {kills_total} kills, seed {seed}", t0.elapsed().as_secs_f64());
    eprintln!("actions: {acts:?}");
    for (k, n) in &kills {
        eprintln!("  {n:4}  {k}");
    }
    eprintln!(
        "after each restart: status agreed with HAProxy {agreed}, showed the interruption {interrupted_shown}, \
         showed the drift {drift_shown}; inconsistencies: 0"
    );
}

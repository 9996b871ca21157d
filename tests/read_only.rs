//! Read-only mode cannot act: any keys through the cockpit and its executor path, and every CLI
//! verb run for real, lead to zero actuator calls and zero file writes. Each wall (the cockpit's
//! refusal, the executor's) holds on its own; without them the same keys do act.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output, Stdio};
use std::time::SystemTime;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cutover::actuators::{Actuator, Chain, Exec};
use cutover::app::{App, Msg, acting};
use cutover::domain::cockpit::{Cockpit, Command, Event, PersistedState};
use cutover::domain::time::Ts;
use cutover::domain::traffic::{TrafficSpec, TrafficState};
use cutover::domain::trigger::{Tier, TriggerSpec, Triggers};
use cutover::keymap::Keymap;
use cutover::store::runbook_file::RunbookFile;
use cutover::store::{AuditEntry, StateDir, Who};
use cutover::ui::theme::Theme;
use proptest::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const RUNBOOK: &str = "## Prep\n- [ ] T1 check the backups\n- [x] T2 freeze deploys\n## Go\n- [ ] T3 watch\n";

/// A folder of the test's own, removed afterwards.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("cutover-ro-{name}-{}-{:x}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A state dir with a go-live at 10 % and one audit line, a runbook, and the recording actuator's
/// folder (every call appends a line to `calls`).
struct Fixture {
    dir: Dir,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = Dir::new(name);
        std::fs::write(dir.0.join("runbook.md"), RUNBOOK).unwrap();
        let mut state = StateDir::open(dir.0.join("state")).unwrap();
        let mut c = Cockpit::new("ro-test", "prod");
        c.traffic = TrafficState::new(TrafficSpec::default());
        c.update(Event::Advance { to: None, override_reason: None }, Ts(1_000));
        c.update(Event::Applied { seq: 1, detail: "ok".into() }, Ts(1_000));
        state.save(&c.persisted(), &Who::new("alice", "ops1", 1)).unwrap();
        state.append_audit(&AuditEntry::new(Ts(1_000), Who::new("alice", "ops1", 1), "advance").stage("0%")).unwrap();
        Fixture { dir }
    }

    fn state(&self) -> PathBuf {
        self.dir.0.join("state")
    }

    fn runbook(&self) -> PathBuf {
        self.dir.0.join("runbook.md")
    }

    fn calls_file(&self) -> PathBuf {
        self.dir.0.join("calls")
    }

    /// How often the recording actuator was called.
    fn calls(&self) -> usize {
        std::fs::read_to_string(self.calls_file()).map(|t| t.lines().count()).unwrap_or(0)
    }

    fn argv(&self) -> Vec<String> {
        let script = format!("echo {{blue}} {{green}} >> '{}'", self.calls_file().display());
        vec!["/bin/sh".into(), "-c".into(), script]
    }

    /// Every file of the state dir and the runbook: bytes and modification time.
    fn snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
        let mut out = BTreeMap::new();
        let mut paths = vec![self.runbook()];
        for e in std::fs::read_dir(self.state()).unwrap() {
            paths.push(e.unwrap().path());
        }
        for p in paths {
            let meta = std::fs::metadata(&p).unwrap();
            let bytes = if meta.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() };
            out.insert(p, (bytes, meta.modified().unwrap()));
        }
        out
    }

    fn config(&self, extra: &str) -> PathBuf {
        let argv: Vec<String> = self.argv().iter().map(|a| format!("{a:?}")).collect();
        let text = format!(
            "[deployment]\nname = \"ro-test\"\n{extra}[runbook]\npath = {:?}\n[triggers]\ndefaults = false\n\
             [traffic]\nstages = [10, 25, 50, 75, 100]\nsoak = \"0s\"\n[[actuator]]\nkind = \"exec\"\nargv = [{}]\n",
            self.runbook().display().to_string(),
            argv.join(", ")
        );
        let path = self.dir.0.join(format!("cutover-{}.toml", extra.len()));
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Which wall is up: the cockpit's refusal, the executor's, or both (the real read-only mode).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Walls {
    None,
    Cockpit,
    Executor,
    Both,
}

/// The cockpit and a synchronous stand-in for the loop's executor: acting commands are dropped
/// exactly as `Executor::execute` drops them (`app::acting`), the rest go to a recording actuator,
/// a writable state dir and the runbook file, so anything that gets through is seen.
struct World<'f> {
    app: App,
    executor_read_only: bool,
    chain: Chain,
    dir: StateDir,
    runbook: RunbookFile,
    faults: usize,
    rt: tokio::runtime::Runtime,
    now: i64,
    _fixture: &'f Fixture,
}

impl<'f> World<'f> {
    fn new(f: &'f Fixture, walls: Walls) -> World<'f> {
        let mut saved = StateDir::open_read_only(f.state()).unwrap();
        let runbook = RunbookFile::load(f.runbook()).unwrap();
        let mut c = Cockpit::new("ro-test", "prod");
        c.demo = true;
        c.operator = "alice".into();
        c.runbook = Some(runbook.runbook().clone());
        c.triggers = Triggers::new(vec![TriggerSpec::manual("stop", Tier::Immediate)]);
        c.auto_rollback = true;
        c.restore(saved.load::<PersistedState>().unwrap().unwrap().state);
        // The stored stage soaked long ago on the wall clock: these keys are about the walls.
        c.traffic.soak_policy.on = cutover::domain::traffic::SoakOn::Wall;
        if matches!(walls, Walls::Cockpit | Walls::Both) {
            c.read_only = true;
            c.controls_held = false;
        }
        let exec = Exec::new(f.argv()).unwrap();
        World {
            app: App::new(c, Keymap::builtin(), Theme::builtin()),
            executor_read_only: matches!(walls, Walls::Executor | Walls::Both),
            chain: Chain::new(vec![Actuator::Exec(exec)]),
            dir: StateDir::open(f.state()).unwrap(),
            runbook,
            faults: 0,
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            now: 2_000_000,
            _fixture: f,
        }
    }

    fn press(&mut self, key: KeyEvent) {
        self.now += 1_000;
        let out = self.app.handle(Msg::Key(key), Ts(self.now));
        self.carry_out(out);
        // Time passes too: ticks and soaks run their course between keys.
        let out = self.app.handle(Msg::Domain(Event::Tick), Ts(self.now));
        self.carry_out(out);
    }

    fn carry_out(&mut self, cmds: Vec<Command>) {
        let mut queue: VecDeque<Command> = cmds.into();
        while let Some(cmd) = queue.pop_front() {
            if self.executor_read_only && acting(&cmd).is_some() {
                continue;
            }
            let now = Ts(self.now);
            match cmd {
                Command::SetWeights { seq, weights, stage } => {
                    let ev = self.rt.block_on(cutover::app::traffic_io::apply(&self.chain, seq, weights, stage, 0));
                    queue.extend(self.app.handle(Msg::Domain(ev), now));
                }
                Command::ContinueWeights { seq, weights, stage, from_step } => {
                    let ev =
                        self.rt.block_on(cutover::app::traffic_io::apply(&self.chain, seq, weights, stage, from_step));
                    queue.extend(self.app.handle(Msg::Domain(ev), now));
                }
                Command::Persist => {
                    let _ = self.dir.save(&self.app.cockpit.persisted(), &Who::new("alice", "ops1", 2));
                }
                Command::Audit { what, stage, detail } => {
                    let entry = AuditEntry::new(now, Who::new("alice", "ops1", 2), what).stage(stage).detail(detail);
                    let _ = self.dir.append_audit(&entry);
                }
                Command::WriteTask { task, done } => {
                    if self.runbook.tick_task(&task, done).is_ok() {
                        let ev = Event::Runbook { runbook: self.runbook.runbook().clone(), note: None };
                        queue.extend(self.app.handle(Msg::Domain(ev), now));
                    }
                }
                Command::PostFault(_) | Command::ClearFaults => self.faults += 1,
                // What the controls poller would do: take the lease or ask for it, in the state dir.
                Command::Controls(_) => {
                    let who = Who::new("alice", "ops1", 2);
                    if let Ok(cutover::store::Acquire::Acquired(lease)) =
                        cutover::store::Lease::try_acquire(&self.dir, &who)
                    {
                        let _ = lease.release();
                    } else {
                        let _ = cutover::store::request_handover(&self.dir, &who);
                    }
                }
                Command::SendTriggerRequest(r) => {
                    let _ = cutover::store::send_trigger_request(&self.dir, &Who::new("alice", "ops1", 2), &r);
                }
                Command::Log(..) | Command::Bell => {}
            }
        }
    }
}

fn ch(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// Every key of the keymap, the characters the dialogs want, Enter, Esc, Backspace.
fn universe() -> Vec<KeyEvent> {
    let mut keys: Vec<KeyEvent> =
        Keymap::builtin().bindings.iter().flat_map(|b| b.keys.iter().map(|k| KeyEvent::new(k.code, k.mods))).collect();
    keys.extend("0125ROLLBACKwhy x!1".chars().map(ch));
    keys.extend(
        [KeyCode::Enter, KeyCode::Esc, KeyCode::Backspace, KeyCode::Tab].map(|c| KeyEvent::new(c, KeyModifiers::NONE)),
    );
    keys
}

/// Ticks T1, raises the manual trigger (an automatic rollback follows), then rolls back by hand:
/// what an operator would do, and enough to act in every way if nothing stopped it.
fn acting_sequence() -> Vec<KeyEvent> {
    let mut keys = vec![KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE), ch(' ')];
    keys.extend([ch('a')]);
    keys.extend("25".chars().map(ch));
    keys.push(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    keys.extend([KeyCode::Tab, KeyCode::Tab].map(|c| KeyEvent::new(c, KeyModifiers::NONE)));
    keys.push(ch('!'));
    keys.extend("smoke".chars().map(ch));
    keys.push(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    keys.push(ch('F'));
    keys.push(ch('1'));
    keys
}

/// Runs `keys` with `walls` up; returns (actuator calls, state dir writes, fault posts, changed files).
fn outcome(keys: &[KeyEvent], walls: Walls) -> (usize, u64, usize, bool) {
    let f = Fixture::new("keys");
    let before = f.snapshot();
    let mut w = World::new(&f, walls);
    for k in keys {
        w.press(*k);
        if w.app.quit {
            break;
        }
    }
    let writes = w.dir.writes();
    let faults = w.faults;
    drop(w);
    (f.calls(), writes, faults, f.snapshot() != before)
}

#[test]
fn without_the_walls_the_same_keys_move_traffic_and_write() {
    let (calls, writes, faults, changed) = outcome(&acting_sequence(), Walls::None);
    assert!(calls >= 2, "advance and the automatic rollback call the actuator: {calls}");
    assert!(writes >= 4, "state saves and audit lines: {writes}");
    assert_eq!(faults, 1);
    assert!(changed);
}

#[test]
fn with_either_wall_or_both_the_same_keys_do_nothing() {
    for walls in [Walls::Cockpit, Walls::Executor, Walls::Both] {
        assert_eq!(outcome(&acting_sequence(), walls), (0, 0, 0, false), "{walls:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_keys_in_read_only_mode_call_nothing_and_write_nothing(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), proptest::option::weighted(0.2, any::<char>())), 0..60),
        walls in prop_oneof![Just(Walls::Cockpit), Just(Walls::Executor), Just(Walls::Both)],
    ) {
        let all = universe();
        // Mostly keys the cockpit knows, now and then any character at all.
        let keys: Vec<KeyEvent> = picks.iter().map(|(i, c)| c.map_or_else(|| *i.get(&all), ch)).collect();
        prop_assert_eq!(outcome(&keys, walls), (0, 0, 0, false), "{:?}", walls);
    }
}

fn run(cfg: &Path, f: &Fixture, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Proc::new(BIN);
    c.args(args).arg("--config").arg(cfg).arg("--state-dir").arg(f.state()).stdin(Stdio::null());
    c.env_remove("CUTOVER_READ_ONLY");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run cutover")
}

fn text(o: &Output) -> String {
    format!(
        "{:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_cli_verb_read_only_calls_nothing_and_writes_nothing() {
    let f = Fixture::new("cli");
    let cfg = f.config("");
    let before = f.snapshot();
    let refused = [
        vec!["advance", "--yes", "--wait", "0s", "--override", "why"],
        vec!["rollback", "--yes", "--reason", "why"],
        vec!["resume", "--reason", "why"],
    ];
    for args in &refused {
        let o = run(&cfg, &f, &[&["--read-only"], &args[..]].concat(), &[]);
        let verb = args[0];
        assert!(!o.status.success(), "{verb}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with(&format!("cutover {verb}: read-only: ")), "{verb}: {}", text(&o));
    }
    // The environment and the config make it read-only too.
    let o = run(&cfg, &f, &["advance", "--yes", "--wait", "0s"], &[("CUTOVER_READ_ONLY", "1")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("read-only: "), "{}", text(&o));
    let ro_cfg = f.config("read_only = true\n");
    let o = run(&ro_cfg, &f, &["rollback", "--yes", "--reason", "why"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("read-only: ") && !o.status.success(), "{}", text(&o));
    let o = run(&cfg, &f, &["--read-only", "status", "--json", "--wait", "0s"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(json["stage"]["blue_percent"], 10, "{json}");
    assert_eq!(json["last_action"]["what"], "advance", "{json}");
    let o = run(&cfg, &f, &["--read-only", "report"], &[]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("## Timeline"), "{}", text(&o));
    let o = run(&cfg, &f, &["--read-only", "check"], &[]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{}", text(&o));
    let o = Proc::new(BIN).arg("--read-only").arg("runbook").arg(f.runbook()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(f.calls(), 0, "no actuator call");
    assert!(f.snapshot() == before, "the state dir and the runbook are untouched");

    // The same advance without read-only does call the actuator and write: the check above bites.
    let o = run(&cfg, &f, &["advance", "--yes", "--wait", "0s", "--override", "why: the soak is waived"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(f.calls(), 1);
    assert!(f.snapshot() != before);
}

#[test]
fn a_missing_state_dir_is_not_created_read_only() {
    let f = Fixture::new("missing");
    let cfg = f.config("");
    let missing = f.dir.0.join("nowhere");
    let o = Proc::new(BIN)
        .args(["--read-only", "status", "--json", "--wait", "0s", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&missing)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(json["stage"]["blue_percent"], 0, "the configured stages, from the start");
    assert_eq!(json["last_action"], serde_json::Value::Null);
    assert!(!missing.exists());
}

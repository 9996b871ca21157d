//! The state dir: state file (atomic, versioned, damaged-file recovery), audit log, controls lease,
//! observers, handover, action lock, read-only mode.
//!
//! Tests that need a second process re-run this test binary as `child_process` with
//! `CUTOVER_STORE_CHILD` naming a role; children talk back on stdout.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cutover::domain::time::Ts;
use cutover::store::{
    Acquire, ActionLock, AuditEntry, Lease, Observer, RequestState, Source, StateDir, StoreError, Versioned, Who,
    clear_request, decline_request, default_state_dir, holder, observer_list, observers, pending_request,
    request_handover,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- helpers

/// A fresh, empty directory under the target dir for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn who(user: &str) -> Who {
    Who { user: user.into(), ..Who::from_env() }
}

/// Polls `f` until it gives `Some`, failing the test after [`DEADLINE`].
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct V1 {
    count: u32,
}

impl Versioned for V1 {
    const SCHEMA: u32 = 1;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct V2 {
    count: u64,
    label: String,
}

impl Versioned for V2 {
    const SCHEMA: u32 = 2;
    fn migrate(from: u32, mut state: Value) -> Result<Value, String> {
        match from {
            1 => {
                state["label"] = json!(format!("migrated {}", state["count"]));
                Ok(state)
            }
            _ => Err(format!("unknown schema {from}")),
        }
    }
}

/// Schema 3 whose step from 2 always fails.
#[derive(Debug, Serialize, Deserialize)]
struct V3 {
    count: u64,
}

impl Versioned for V3 {
    const SCHEMA: u32 = 3;
    fn migrate(from: u32, state: Value) -> Result<Value, String> {
        if from == 1 { V2::migrate(1, state) } else { Err("the label cannot be split".into()) }
    }
}

/// Every file and folder under `dir`: size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (bool, u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (m.is_dir(), m.len(), m.modified().unwrap()));
        }
    }
    out
}

// ---------------------------------------------------------------- child processes

/// A child process running one role of [`child_process`].
struct Kid {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Kid {
    fn spawn(role: &str, dir: &Path) -> Kid {
        Kid::spawn_with(role, dir, &[])
    }

    fn spawn_with(role: &str, dir: &Path, env: &[(&str, &str)]) -> Kid {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["child_process", "--exact", "--nocapture", "--test-threads=1"])
            .env("CUTOVER_STORE_CHILD", role)
            .env("CUTOVER_STORE_DIR", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Kid { stdin: child.stdin.take(), child, lines }
    }

    /// What the child says next starting with one of `tags` (libtest's own lines skipped).
    fn said(&self, tags: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("child did not say {tags:?}"));
            // libtest may print `test child_process ... ` on the same line first.
            if let Some(at) = tags.iter().filter_map(|t| line.find(t)).min() {
                return line[at..].to_string();
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Closes its stdin (the roles that wait end) and waits for it.
    fn finish(mut self) {
        self.stdin.take();
        self.child.wait().unwrap();
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn block_on_stdin() {
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Not a test: the roles child processes play (does nothing without `CUTOVER_STORE_CHILD`).
#[test]
fn child_process() {
    let Ok(role) = std::env::var("CUTOVER_STORE_CHILD") else { return };
    let dir = StateDir::open(std::env::var("CUTOVER_STORE_DIR").unwrap()).unwrap();
    match role.as_str() {
        "hold" => {
            let Acquire::Acquired(_lease) = Lease::try_acquire(&dir, &who("carol")).unwrap() else {
                panic!("controls held")
            };
            println!("READY");
            block_on_stdin();
        }
        "observe" => {
            let _o = Observer::join(&dir, &who("olga")).unwrap();
            println!("READY");
            block_on_stdin();
        }
        "grant" => {
            let Acquire::Acquired(lease) = Lease::try_acquire(&dir, &who("alice")).unwrap() else {
                panic!("controls held")
            };
            println!("READY");
            let request = eventually("a request", || pending_request(&dir));
            assert_eq!(request.state, RequestState::Pending);
            lease.hand_over(&request).unwrap();
            let _o = Observer::join(&dir, &who("alice")).unwrap();
            println!("GRANTED {}", request.who.user);
            block_on_stdin();
        }
        "action" => {
            let go = dir.path().join("go");
            println!("WAITING");
            eventually("the start", || go.exists().then_some(()));
            let me = who(&format!("racer-{}", std::process::id()));
            match ActionLock::acquire(&dir, &me, "advance", Duration::ZERO) {
                Ok(_lock) => {
                    println!("WON");
                    block_on_stdin();
                }
                Err(e) => println!("LOST {e}"),
            }
        }
        "who" => println!("WHO {}", serde_json::to_string(&Who::from_env()).unwrap()),
        other => panic!("unknown role {other}"),
    }
}

// ---------------------------------------------------------------- state file

#[test]
fn state_round_trips_with_generations_and_prev() {
    let path = temp_dir("round-trip");
    let mut dir = StateDir::open(path.join("deploy")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777, 0o700);
    }
    assert!(dir.load::<V1>().unwrap().is_none());
    assert_eq!(dir.save(&V1 { count: 1 }, &who("alice")).unwrap().generation, 1);
    assert!(!dir.prev_path().exists());
    assert_eq!(dir.save(&V1 { count: 2 }, &who("alice")).unwrap().generation, 2);

    let mut other = StateDir::open(dir.path()).unwrap();
    let loaded = other.load::<V1>().unwrap().unwrap();
    assert_eq!(loaded.state, V1 { count: 2 });
    assert_eq!(loaded.source, Source::Current);
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.meta.generation, 2);
    assert_eq!(loaded.meta.schema, 1);
    assert_eq!(loaded.meta.writer.as_ref().unwrap().user, "alice");
    assert!(loaded.meta.written_at.ends_with('Z'), "{}", loaded.meta.written_at);

    let raw: Value = serde_json::from_slice(&std::fs::read(dir.state_path()).unwrap()).unwrap();
    assert_eq!(raw["schema"], 1);
    assert_eq!(raw["state"], json!({"count": 2}));
    let prev: Value = serde_json::from_slice(&std::fs::read(dir.prev_path()).unwrap()).unwrap();
    assert_eq!(prev["generation"], 1);
    assert_eq!(prev["state"], json!({"count": 1}));

    // Another writer continues the generation count from the file; a writer whose copy is older
    // than the file is refused (compare-and-swap) until it has read the file again.
    assert_eq!(other.save(&V1 { count: 3 }, &who("bob")).unwrap().generation, 3);
    let err = dir.save(&V1 { count: 4 }, &who("alice")).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: 2, found: 3, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("changed meanwhile") && msg.contains("bob@") && msg.contains("nothing was saved"), "{msg}");
    assert_eq!(dir.load::<V1>().unwrap().unwrap().state.count, 3, "the refused write changed nothing");
    assert_eq!(dir.save(&V1 { count: 4 }, &who("alice")).unwrap().generation, 4);
    // No temp files left.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")), "{names:?}");
}

#[test]
fn a_poller_sees_each_change_once() {
    let path = temp_dir("changed");
    let mut holder_dir = StateDir::open(&path).unwrap();
    let mut watcher = StateDir::open_read_only(&path).unwrap();
    assert!(!watcher.changed_since(), "nothing there yet");
    holder_dir.save(&V1 { count: 1 }, &who("alice")).unwrap();
    assert!(watcher.changed_since());
    assert!(!watcher.changed_since());
    assert_eq!(watcher.load::<V1>().unwrap().unwrap().state.count, 1);
    assert!(!watcher.changed_since(), "the load saw this version");
    // Same size, same second: the new inode still tells.
    holder_dir.save(&V1 { count: 2 }, &who("alice")).unwrap();
    assert!(watcher.changed_since());
    assert_eq!(watcher.load::<V1>().unwrap().unwrap().state.count, 2);
    assert_eq!(watcher.generation(), 2);
}

#[test]
fn an_older_schema_is_migrated_by_the_hook() {
    let path = temp_dir("migrate");
    let mut dir = StateDir::open(&path).unwrap();
    dir.save(&V1 { count: 7 }, &who("alice")).unwrap();
    let loaded = dir.load::<V2>().unwrap().unwrap();
    assert_eq!(loaded.state, V2 { count: 7, label: "migrated 7".into() });
    assert_eq!(loaded.meta.schema, 1);
    assert!(loaded.warnings[0].contains("migrated from schema 1 to 2"), "{:?}", loaded.warnings);
    dir.save(&loaded.state, &who("alice")).unwrap();
    let raw: Value = serde_json::from_slice(&std::fs::read(dir.state_path()).unwrap()).unwrap();
    assert_eq!(raw["schema"], 2);
    assert_eq!(raw["generation"], 2);

    // A step that fails names the file and the step; the file is left alone.
    let before = std::fs::read(dir.state_path()).unwrap();
    let err = dir.load::<V3>().unwrap_err();
    assert!(matches!(err, StoreError::Migrate { from: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("state.json") && msg.contains("from schema 2 to 3") && msg.contains("cannot be split"),
        "{msg}"
    );
    assert_eq!(std::fs::read(dir.state_path()).unwrap(), before);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let path = temp_dir("newer");
    let mut dir = StateDir::open(&path).unwrap();
    dir.save(&V2 { count: 1, label: "x".into() }, &who("alice")).unwrap();
    let before = std::fs::read(dir.state_path()).unwrap();
    let err = dir.load::<V1>().unwrap_err();
    assert!(matches!(err, StoreError::Newer { found: 2, supported: 1, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("written by a newer cutover (schema 2), this one reads up to 1"), "{msg}");
    assert!(msg.contains(&dir.state_path().display().to_string()), "{msg}");
    assert_eq!(std::fs::read(dir.state_path()).unwrap(), before);
    // An older cutover does not write over it either.
    let err = StateDir::open(&path).unwrap().save(&V1 { count: 2 }, &who("bob")).unwrap_err();
    assert!(matches!(err, StoreError::Newer { found: 2, supported: 1, .. }), "{err:?}");
    assert_eq!(std::fs::read(dir.state_path()).unwrap(), before);
    assert!(corrupt_files(&path).is_empty(), "nothing kept aside");
    assert!(!dir.prev_path().exists(), "nothing moved to .prev");
}

fn corrupt_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("state.json.corrupt-"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_truncated_state_is_kept_aside_and_prev_used() {
    let path = temp_dir("truncated");
    let mut dir = StateDir::open(&path).unwrap();
    dir.save(&V1 { count: 1 }, &who("alice")).unwrap();
    dir.save(&V1 { count: 2 }, &who("alice")).unwrap();
    let full = std::fs::read(dir.state_path()).unwrap();
    let torn = &full[..full.len() / 2];
    std::fs::write(dir.state_path(), torn).unwrap();

    let mut fresh = StateDir::open(&path).unwrap();
    let loaded = fresh.load::<V1>().unwrap().unwrap();
    assert_eq!(loaded.source, Source::Prev);
    assert_eq!(loaded.state, V1 { count: 1 });
    let warning = &loaded.warnings[0];
    assert!(warning.contains("state.json: the file is truncated"), "{warning}");
    assert!(warning.contains("state.json.prev") && warning.contains("generation 1"), "{warning}");
    let kept = corrupt_files(&path);
    assert_eq!(kept.len(), 1);
    assert!(warning.contains(&kept[0].display().to_string()), "{warning}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), torn, "the damaged bytes are kept as they were");
    // state.json is whole again (the previous state), so other readers are fine.
    let again = StateDir::open_read_only(&path).unwrap().load::<V1>().unwrap().unwrap();
    assert_eq!((again.source, again.state), (Source::Current, V1 { count: 1 }));
    // Writing goes on from there.
    assert_eq!(fresh.save(&V1 { count: 3 }, &who("alice")).unwrap().generation, 2);
}

#[test]
fn a_corrupt_state_without_prev_is_a_clear_error() {
    for (name, bytes, problem) in [
        ("garbage", &b"{\"schema\": 1, \"state\": {\"count\": 1}} trailing"[..], "not valid JSON"),
        ("empty", &b""[..], "the file is empty"),
        ("not-envelope", &b"[1, 2]"[..], "not a state envelope"),
        ("wrong-shape", &b"{\"schema\": 1, \"state\": {\"count\": \"many\"}}"[..], "does not fit schema 1"),
    ] {
        let path = temp_dir(&format!("corrupt-{name}"));
        let mut dir = StateDir::open(&path).unwrap();
        std::fs::write(dir.state_path(), bytes).unwrap();
        let err = dir.load::<V1>().unwrap_err();
        let StoreError::Corrupt { kept_as: Some(kept), .. } = &err else { panic!("{name}: {err:?}") };
        let msg = err.to_string();
        assert!(msg.starts_with(&dir.state_path().display().to_string()), "{msg}");
        assert!(msg.contains(problem), "{name}: {msg}");
        assert!(msg.contains("kept as"), "{msg}");
        assert_eq!(std::fs::read(kept).unwrap(), bytes);
        assert!(!dir.state_path().exists());
        // The next save starts afresh and does not make the damaged file the previous state.
        dir.save(&V1 { count: 1 }, &who("alice")).unwrap();
        assert!(!dir.prev_path().exists());
    }
}

#[test]
fn a_read_only_dir_reports_damage_but_moves_nothing() {
    let path = temp_dir("ro-corrupt");
    let mut dir = StateDir::open(&path).unwrap();
    dir.save(&V1 { count: 1 }, &who("alice")).unwrap();
    dir.save(&V1 { count: 2 }, &who("alice")).unwrap();
    std::fs::write(dir.state_path(), b"{\"sch").unwrap();
    let before = snapshot(&path);
    let mut ro = StateDir::open_read_only(&path).unwrap();
    let loaded = ro.load::<V1>().unwrap().unwrap();
    assert_eq!((loaded.source, loaded.state), (Source::Prev, V1 { count: 1 }));
    assert!(loaded.warnings[0].contains("left in place (read-only)"), "{:?}", loaded.warnings);
    assert!(!ro.changed_since());
    assert_eq!(snapshot(&path), before);
    assert_eq!(ro.writes(), 0);
}

// ---------------------------------------------------------------- read-only

#[test]
fn read_only_never_writes() {
    let path = temp_dir("read-only");
    {
        let mut dir = StateDir::open(&path).unwrap();
        dir.save(&V1 { count: 1 }, &who("alice")).unwrap();
        dir.append_audit(&AuditEntry::new(Ts(1), who("alice"), "advance")).unwrap();
        let _l = ActionLock::acquire(&dir, &who("alice"), "advance", Duration::ZERO).unwrap();
        request_handover(&dir, &who("bob")).unwrap();
        let _o = Observer::join(&dir, &who("olga")).unwrap();
        // A dead observer's file: a read-only count must not remove it.
        std::fs::write(path.join("observers/1-dead.lock"), b"{}").unwrap();
    }
    std::fs::write(path.join("controls.lock"), b"").unwrap();
    let before = snapshot(&path);
    std::thread::sleep(Duration::from_millis(20)); // so any touched mtime would differ

    let mut ro = StateDir::open_read_only(&path).unwrap();
    assert!(ro.is_read_only());
    let me = who("viewer");
    let read_only = |r: Result<(), StoreError>, what: &str| match r {
        Err(StoreError::ReadOnly { .. }) => {}
        other => panic!("{what}: {other:?}"),
    };
    read_only(ro.save(&V1 { count: 9 }, &me).map(|_| ()), "save");
    read_only(ro.append_audit(&AuditEntry::new(Ts(2), me.clone(), "advance")), "append_audit");
    read_only(Lease::try_acquire(&ro, &me).map(|_| ()), "try_acquire");
    read_only(Observer::join(&ro, &me).map(|_| ()), "join");
    read_only(request_handover(&ro, &me).map(|_| ()), "request_handover");
    read_only(decline_request(&ro, &me), "decline_request");
    read_only(clear_request(&ro), "clear_request");
    read_only(ActionLock::acquire(&ro, &me, "advance", Duration::ZERO).map(|_| ()), "action lock");
    let msg = ro.save(&V1 { count: 9 }, &me).unwrap_err().to_string();
    assert!(msg.contains("read-only") && msg.contains("write the state"), "{msg}");

    // Everything that reads still works.
    assert_eq!(ro.load::<V1>().unwrap().unwrap().state.count, 1);
    assert!(!ro.changed_since());
    assert_eq!(ro.read_audit().unwrap().entries.len(), 1);
    assert_eq!(ro.audit_tail(5).unwrap().entries.len(), 1);
    assert_eq!(holder(&ro), None);
    assert_eq!(observers(&ro), 0);
    assert_eq!(pending_request(&ro).unwrap().who.user, "bob");

    assert_eq!(ro.writes(), 0);
    assert_eq!(snapshot(&path), before, "the read-only state dir changed");
    let err = StateDir::open_read_only(path.join("nope")).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(!path.join("nope").exists());
}

// ---------------------------------------------------------------- audit log

#[test]
fn audit_lines_round_trip() {
    let path = temp_dir("audit");
    let dir = StateDir::open(&path).unwrap();
    let e1 = AuditEntry::new(Ts(1_777_644_131_123), who("alice"), "advance")
        .stage("25%")
        .detail(json!({"from": 10, "to": 25, "slo": {"error_rate": {"blue": 0.004}}, "triggers": []}));
    let e2 = AuditEntry::new(Ts(1_777_644_132_000), who("bob"), "override").detail(json!({"reason": "known noise"}));
    dir.append_audit(&e1).unwrap();
    dir.append_audit(&e2).unwrap();
    let text = std::fs::read_to_string(dir.audit_path()).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.ends_with('\n'));
    assert!(text.starts_with("{\"when\":\"2026-05-01T14:02:11.123Z\",\"when_ms\":1777644131123,"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.audit_path()).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let read = dir.read_audit().unwrap();
    assert_eq!(read.entries, vec![e1, e2.clone()]);
    assert!(read.damaged.is_empty() && read.torn_tail.is_none());
    assert_eq!(dir.audit_tail(1).unwrap().entries, vec![e2]);
}

#[test]
fn a_torn_last_line_is_reported_and_the_next_append_starts_fresh() {
    let path = temp_dir("audit-torn");
    let dir = StateDir::open(&path).unwrap();
    for i in 0..2 {
        dir.append_audit(&AuditEntry::new(Ts(i), who("alice"), format!("a{i}"))).unwrap();
    }
    let mut f = std::fs::OpenOptions::new().append(true).open(dir.audit_path()).unwrap();
    std::io::Write::write_all(&mut f, b"{\"when\":\"2026-05-01T14:0").unwrap();
    drop(f);

    let read = dir.read_audit().unwrap();
    assert_eq!(read.entries.len(), 2);
    let torn = read.torn_tail.clone().expect("torn tail reported");
    assert_eq!(torn.line, Some(3));
    assert!(read.damaged.is_empty());
    let warnings = read.warnings(&dir.audit_path());
    assert!(warnings[0].contains("audit.jsonl:3: torn last line ignored"), "{warnings:?}");
    assert!(dir.audit_tail(10).unwrap().torn_tail.is_some());

    dir.append_audit(&AuditEntry::new(Ts(9), who("alice"), "after")).unwrap();
    let read = dir.read_audit().unwrap();
    assert_eq!(read.entries.iter().map(|e| e.what.as_str()).collect::<Vec<_>>(), ["a0", "a1", "after"]);
    assert!(read.torn_tail.is_none());
    assert_eq!(read.damaged.len(), 1, "the fragment stays, on a line of its own");
    assert_eq!(read.damaged[0].line, Some(3));
    let text = std::fs::read_to_string(dir.audit_path()).unwrap();
    assert_eq!(text.lines().nth(2), Some("{\"when\":\"2026-05-01T14:0"));
}

#[test]
fn the_tail_reads_the_last_entries() {
    let path = temp_dir("audit-tail");
    let dir = StateDir::open(&path).unwrap();
    let pad = "x".repeat(700); // 300 lines of ~1 KB: several tail chunks
    for i in 0..300 {
        dir.append_audit(&AuditEntry::new(Ts(i), who("alice"), "tick").detail(json!({"i": i, "pad": pad}))).unwrap();
    }
    let tail = dir.audit_tail(5).unwrap();
    assert_eq!(tail.entries.iter().map(|e| e.when.0).collect::<Vec<_>>(), [295, 296, 297, 298, 299]);
    assert!(tail.damaged.is_empty());
    assert_eq!(dir.audit_tail(150).unwrap().entries.len(), 150);
    let all = dir.audit_tail(1000).unwrap();
    assert_eq!(all.entries.len(), 300);
    assert_eq!(all.entries[0].when, Ts(0));
    assert_eq!(dir.read_audit().unwrap().entries, all.entries);
    assert!(StateDir::open(temp_dir("audit-none")).unwrap().audit_tail(3).unwrap().entries.is_empty());
}

#[test]
fn who_comes_from_the_environment() {
    let path = temp_dir("who");
    let kid = Kid::spawn_with(
        "who",
        &path,
        &[("USER", "alice"), ("SSH_CONNECTION", "10.1.2.3 51514 10.0.0.1 22"), ("SSH_TTY", "/dev/pts/7")],
    );
    let line = kid.said(&["WHO "]);
    let w: Who = serde_json::from_str(&line["WHO ".len()..]).unwrap();
    assert_eq!(w.user, "alice");
    assert_eq!(w.ssh_client.as_deref(), Some("10.1.2.3"));
    assert_eq!(w.tty.as_deref(), Some("/dev/pts/7"));
    assert_eq!(w.pid, kid.pid());
    assert!(!w.host.is_empty());
}

#[test]
fn default_state_dir_is_one_safe_folder() {
    if let Some(p) = default_state_dir("prod/eu west") {
        assert_eq!(p.file_name().unwrap(), "prod_eu_west");
        assert!(p.parent().unwrap().ends_with("cutover"), "{}", p.display());
    }
}

// ---------------------------------------------------------------- controls lease

#[test]
fn a_second_handle_in_the_same_process_is_told_who_holds_the_controls() {
    let path = temp_dir("lease-same");
    let dir = StateDir::open(&path).unwrap();
    let Acquire::Acquired(lease) = Lease::try_acquire(&dir, &who("alice")).unwrap() else { panic!() };
    assert!(lease.still_held());
    match Lease::try_acquire(&dir, &who("bob")).unwrap() {
        Acquire::Held { by: Some(by) } => assert_eq!(by.who.user, "alice"),
        other => panic!("{other:?}"),
    }
    assert_eq!(holder(&dir).unwrap().who.user, "alice");
    lease.release().unwrap();
    assert_eq!(holder(&dir), None);
    let Acquire::Acquired(lease) = Lease::try_acquire(&dir, &who("bob")).unwrap() else { panic!() };
    drop(lease); // dropping releases too
    assert_eq!(holder(&dir), None);
    assert!(matches!(Lease::try_acquire(&dir, &who("carol")).unwrap(), Acquire::Acquired(_)));
}

#[test]
fn a_killed_holder_frees_the_controls() {
    let path = temp_dir("lease-kill");
    let dir = StateDir::open(&path).unwrap();
    let kid = Kid::spawn("hold", &path);
    kid.said(&["READY"]);
    let info = holder(&dir).expect("the child holds the controls");
    assert_eq!((info.who.user.as_str(), info.who.pid), ("carol", kid.pid()));
    match Lease::try_acquire(&dir, &who("bob")).unwrap() {
        Acquire::Held { by: Some(by) } => assert_eq!(by.who.pid, kid.pid()),
        other => panic!("{other:?}"),
    }
    kid.kill();
    // The dead holder's name is still in the file, but nobody holds the lock.
    assert!(std::fs::metadata(dir.controls_lock_path()).unwrap().len() > 0);
    eventually("the lock to be free", || holder(&dir).is_none().then_some(()));
    let lease = eventually("the controls", || match Lease::try_acquire(&dir, &who("bob")).unwrap() {
        Acquire::Acquired(l) => Some(l),
        Acquire::Held { .. } => None,
    });
    assert_eq!(holder(&dir).unwrap().who.user, "bob");
    assert_eq!(lease.info().who.user, "bob");
}

#[test]
fn observers_are_counted_and_a_dead_one_stops_counting() {
    let path = temp_dir("observers");
    let dir = StateDir::open(&path).unwrap();
    assert_eq!(observers(&dir), 0);
    let a = Kid::spawn("observe", &path);
    let b = Kid::spawn("observe", &path);
    a.said(&["READY"]);
    b.said(&["READY"]);
    let me = Observer::join(&dir, &who("me")).unwrap();
    assert_eq!(observers(&dir), 3);
    let mut users: Vec<_> = observer_list(&dir).into_iter().map(|w| w.user).collect();
    users.sort();
    assert_eq!(users, ["me", "olga", "olga"]);

    let dead = a.pid();
    a.kill();
    assert_eq!(observers(&dir), 2, "a killed observer stops counting at once");
    let files: Vec<_> = std::fs::read_dir(path.join("observers")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 2, "its file was removed: {files:?}");
    assert!(files.iter().all(|f| !f.to_string_lossy().starts_with(&format!("{dead}-"))));

    drop(me);
    assert_eq!(observers(&dir), 1);
    b.finish();
    assert_eq!(observers(&dir), 0);
}

#[test]
fn handover_round_trip_between_processes() {
    let path = temp_dir("handover");
    let dir = StateDir::open(&path).unwrap();
    let alice = Kid::spawn("grant", &path);
    alice.said(&["READY"]);
    assert_eq!(holder(&dir).unwrap().who.user, "alice");
    let bob = who("bob");
    let _watching = Observer::join(&dir, &bob).unwrap();

    let asked = request_handover(&dir, &bob).unwrap();
    assert_eq!(asked.state, RequestState::Pending);
    let granted = eventually("the grant", || pending_request(&dir).filter(|r| r.state != RequestState::Pending));
    let RequestState::Granted { by, .. } = &granted.state else { panic!("{granted:?}") };
    assert_eq!((by.user.as_str(), granted.who.user.as_str()), ("alice", "bob"));
    let lease = eventually("the controls", || match Lease::try_acquire(&dir, &bob).unwrap() {
        Acquire::Acquired(l) => Some(l),
        Acquire::Held { .. } => None,
    });
    clear_request(&dir).unwrap();
    assert_eq!(pending_request(&dir), None);
    assert_eq!(holder(&dir).unwrap().who.user, "bob");
    assert_eq!(alice.said(&["GRANTED"]), "GRANTED bob");
    // Alice now watches (and bob, who has not left the observers in this test).
    eventually("alice among the observers", || observer_list(&dir).iter().any(|w| w.user == "alice").then_some(()));
    drop(lease);
}

#[test]
fn a_request_can_be_declined_and_goes_stale() {
    let path = temp_dir("decline");
    let dir = StateDir::open(&path).unwrap();
    let Acquire::Acquired(_lease) = Lease::try_acquire(&dir, &who("alice")).unwrap() else { panic!() };
    request_handover(&dir, &who("bob")).unwrap();
    decline_request(&dir, &who("alice")).unwrap();
    let r = pending_request(&dir).unwrap();
    assert!(matches!(&r.state, RequestState::Declined { by, .. } if by.user == "alice"), "{r:?}");
    clear_request(&dir).unwrap();
    assert_eq!(pending_request(&dir), None);
    clear_request(&dir).unwrap(); // nothing to clear is fine

    // A requester on this host that no longer exists.
    let mut gone = Command::new(std::env::current_exe().unwrap()).arg("--list").stdout(Stdio::null()).spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    request_handover(&dir, &Who { pid: gone_pid, ..who("ghost") }).unwrap();
    assert_eq!(pending_request(&dir), None);
}

// ---------------------------------------------------------------- action lock

#[test]
fn racing_threads_exactly_one_gets_the_action_lock() {
    let path = temp_dir("action-threads");
    let dir = StateDir::open(&path).unwrap();
    const N: usize = 8;
    let start = Barrier::new(N);
    let done = Barrier::new(N);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for i in 0..N {
            let (dir, start, done, results) = (&dir, &start, &done, &results);
            s.spawn(move || {
                start.wait();
                let r = ActionLock::acquire(dir, &who(&format!("t{i}")), "advance", Duration::ZERO);
                let summary = match &r {
                    Ok(lock) => Ok(lock.info().who.user.clone()),
                    Err(StoreError::Busy { by, .. }) => Err(by.as_ref().map(|b| b.who.user.clone())),
                    Err(e) => panic!("{e}"),
                };
                results.lock().unwrap().push(summary);
                done.wait(); // the winner holds until everyone has tried
            });
        }
    });
    let results = results.into_inner().unwrap();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(by) = r {
            assert_eq!(by.as_ref(), Some(winners[0]), "the busy error names the winner");
        }
    }
}

#[test]
fn racing_processes_exactly_one_gets_the_action_lock() {
    let path = temp_dir("action-procs");
    let kids: Vec<_> = (0..5).map(|_| Kid::spawn("action", &path)).collect();
    for k in &kids {
        k.said(&["WAITING"]);
    }
    std::fs::write(path.join("go"), b"").unwrap();
    let said: Vec<_> = kids.iter().map(|k| k.said(&["WON", "LOST"])).collect();
    let winners: Vec<_> = kids.iter().zip(&said).filter(|(_, s)| *s == "WON").map(|(k, _)| k.pid()).collect();
    assert_eq!(winners.len(), 1, "{said:?}");
    for s in said.iter().filter(|s| s.starts_with("LOST")) {
        assert!(s.contains("action.lock: busy:"), "{s}");
        assert!(s.contains(&format!("racer-{}", winners[0])) && s.contains("running advance"), "{s}");
    }
    for k in kids {
        k.finish();
    }
}

#[test]
fn the_action_lock_waits_for_a_running_action() {
    let path = temp_dir("action-wait");
    let dir = StateDir::open(&path).unwrap();
    let first = ActionLock::acquire(&dir, &who("alice"), "advance", Duration::ZERO).unwrap();
    let err = ActionLock::acquire(&dir, &who("bob"), "rollback", Duration::from_millis(30)).unwrap_err();
    assert!(err.to_string().contains("alice"), "{err}");
    std::thread::scope(|s| {
        let waiter = s.spawn(|| ActionLock::acquire(&dir, &who("bob"), "rollback", DEADLINE));
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        let second = waiter.join().unwrap().unwrap();
        assert_eq!(second.info().what.as_deref(), Some("rollback"));
    });
}

// ---------------------------------------------------------------- lost writes

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    a: u32,
    b: u32,
}

impl Versioned for Tally {
    const SCHEMA: u32 = 1;
}

/// A random pause of up to 300 µs, or a yield: lets the two writers interleave every way.
fn jitter(rng: &mut fastrand::Rng) {
    match rng.u8(..4) {
        0 => {}
        1 => std::thread::yield_now(),
        _ => std::thread::sleep(Duration::from_micros(rng.u64(..300))),
    }
}

#[test]
fn two_writers_updating_at_once_lose_no_update() {
    const ROUNDS: u32 = 1000;
    let path = temp_dir("lost-updates");
    StateDir::open(&path).unwrap().save(&Tally::default(), &who("setup")).unwrap();
    let barrier = Barrier::new(2);
    let conflicts = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for side in ["a", "b"] {
            let (path, barrier, conflicts) = (&path, &barrier, &conflicts);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(if side == "a" { 1 } else { 2 });
                let mut dir = StateDir::open(path).unwrap();
                let me = who(side);
                barrier.wait();
                for _ in 0..ROUNDS {
                    let mut tries = 0;
                    dir.update(&me, |t: Option<Tally>| {
                        tries += 1;
                        let mut t = t.unwrap();
                        jitter(&mut rng);
                        if side == "a" {
                            t.a += 1
                        } else {
                            t.b += 1
                        }
                        Ok::<_, StoreError>(t)
                    })
                    .unwrap();
                    conflicts.fetch_add(tries - 1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let loaded = StateDir::open(&path).unwrap().load::<Tally>().unwrap().unwrap();
    assert_eq!(loaded.state, Tally { a: ROUNDS, b: ROUNDS }, "every update of both writers is kept");
    assert_eq!(loaded.meta.generation, 1 + 2 * u64::from(ROUNDS), "one generation per update, none skipped");
    let conflicts = conflicts.into_inner();
    eprintln!("{conflicts} conflicts were re-read and re-applied");
    assert!(conflicts > 0, "the writers never raced: the test proves nothing");
}

#[test]
fn a_stale_copy_is_refused_and_a_merge_keeps_both_a_raise_and_a_traffic_change() {
    use cutover::domain::cockpit::merge::{Side, merge};
    use cutover::domain::cockpit::{Cockpit, PersistedState};
    use cutover::domain::trigger::{ManualNote, TriggerState};
    const ROUNDS: u32 = 1000;
    let path = temp_dir("lost-merge");
    let start = Cockpit::new("go-live", "prod").persisted();
    StateDir::open(&path).unwrap().save(&start, &who("setup")).unwrap();
    let barrier = Barrier::new(2);
    // Each writer works like the cockpit or a CLI verb: from its own copy (stale as often as not),
    // writes with a compare-and-swap, and on a conflict re-reads and merges three ways.
    let change = |side: &str, s: &mut PersistedState, n: u32| {
        if side == "holder" {
            let note = ManualNote { at: Ts(i64::from(n)), by: "alice".into(), reason: format!("round {n}") };
            s.triggers.insert("data corruption".into(), TriggerState { raised: Some(note), ..TriggerState::default() });
            s.auto_ticked.insert(format!("T{n:04}"));
        } else {
            s.traffic = s.traffic.rollback(&format!("round {n}"), "bob", Ts(i64::from(n))).0;
        }
    };
    std::thread::scope(|sc| {
        for side in ["holder", "shell"] {
            let (path, barrier) = (&path, &barrier);
            sc.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(if side == "holder" { 3 } else { 4 });
                let mut dir = StateDir::open(path).unwrap();
                let me = who(side);
                let mut base = dir.load::<PersistedState>().unwrap().unwrap().state;
                barrier.wait();
                for n in 1..=ROUNDS {
                    // Half the time, go on from the copy of the last own write without reading.
                    if rng.bool() {
                        base = dir.load::<PersistedState>().unwrap().unwrap().state;
                    }
                    let mut ours = base.clone();
                    change(side, &mut ours, n);
                    jitter(&mut rng);
                    let mut state = ours.clone();
                    loop {
                        let expected = dir.generation();
                        match dir.save_if(&state, &me, expected) {
                            Ok(_) => break,
                            Err(StoreError::Conflict { found, .. }) => {
                                assert!(found > expected, "a conflict is a newer generation");
                                let theirs = dir.load::<PersistedState>().unwrap().unwrap().state;
                                let m = merge(&base, &ours, &theirs, Side::Theirs);
                                assert!(m.conflicts.is_empty(), "different parts never conflict: {:?}", m.conflicts);
                                state = m.state;
                                jitter(&mut rng);
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    base = state;
                }
            });
        }
    });
    let end = StateDir::open(&path).unwrap().load::<PersistedState>().unwrap().unwrap().state;
    assert_eq!(end.traffic.history.len(), ROUNDS as usize, "every traffic change is kept");
    assert_eq!(end.traffic.history.last().unwrap().reason.as_deref(), Some("round 1000"));
    assert_eq!(end.auto_ticked.len(), ROUNDS as usize, "every change of the other part is kept");
    let raised = end.triggers["data corruption"].raised.as_ref().expect("the raise survives");
    assert_eq!(raised.reason, "round 1000");
}

#[test]
fn two_saves_from_the_same_generation_one_wins_the_other_is_refused() {
    let path = temp_dir("cas-order");
    let mut a = StateDir::open(&path).unwrap();
    a.save(&Tally::default(), &who("alice")).unwrap();
    let mut b = StateDir::open(&path).unwrap();
    b.load::<Tally>().unwrap();
    // Both read generation 1; each writes its own copy.
    a.save(&Tally { a: 1, b: 0 }, &who("alice")).unwrap();
    let err = b.save(&Tally { a: 0, b: 1 }, &who("bob")).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: 1, found: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("alice@"), "names who wrote: {err}");
    let on_disk = StateDir::open(&path).unwrap().load::<Tally>().unwrap().unwrap().state;
    assert_eq!(on_disk, Tally { a: 1, b: 0 }, "the refused save changed nothing");
    // Re-read, re-apply: both survive.
    let (t, saved) =
        b.update(&who("bob"), |t: Option<Tally>| Ok::<_, StoreError>(Tally { b: 1, ..t.unwrap() })).unwrap();
    assert_eq!((t, saved.generation), (Tally { a: 1, b: 1 }, 3));
}

#[test]
fn a_trigger_request_reaches_the_holder_once_and_a_take_over_is_seen_as_taken() {
    use cutover::domain::cockpit::{TriggerAction, TriggerRequest};
    let path = temp_dir("trigger-request");
    let observer = StateDir::open(&path).unwrap();
    let holder_dir = StateDir::open(&path).unwrap();
    let bob = Who::new("bob", "ops2", 1);
    let request = TriggerRequest {
        trigger: "data corruption".into(),
        action: TriggerAction::Raise { reason: "rows lost".into() },
        by: bob.short(),
        at: cutover::store::state_dir::now(),
    };
    cutover::store::send_trigger_request(&observer, &bob, &request).unwrap();
    let ask = cutover::store::take_trigger_request(&holder_dir).expect("the holder picks it up");
    assert_eq!((ask.who, ask.request), (bob.clone(), request.clone()));
    assert!(cutover::store::take_trigger_request(&holder_dir).is_none(), "once only");
    // A request too old to act on is dropped.
    let old = TriggerRequest { at: Ts(0), ..request };
    cutover::store::send_trigger_request(&observer, &bob, &old).unwrap();
    assert!(cutover::store::take_trigger_request(&holder_dir).is_none());
    assert!(!path.join("trigger.request").exists());
    // A read-only viewer cannot send one.
    let ro = StateDir::open_read_only(&path).unwrap();
    assert!(matches!(cutover::store::send_trigger_request(&ro, &bob, &old), Err(StoreError::ReadOnly { .. })));

    cutover::store::take_over(&observer, &bob, "CAB-7").unwrap();
    let taken = pending_request(&holder_dir).expect("seen by the holder");
    assert_eq!(taken.state, RequestState::Taken { reason: "CAB-7".into() });
    assert_eq!(taken.who, bob);
}

#[test]
fn a_removed_state_file_is_no_conflict_and_the_generation_never_goes_back() {
    let path = temp_dir("cas-removed");
    let mut dir = StateDir::open(&path).unwrap();
    for n in 1..=3 {
        dir.save(&Tally { a: n, b: 0 }, &who("alice")).unwrap();
    }
    std::fs::remove_file(dir.state_path()).unwrap();
    std::fs::remove_file(dir.prev_path()).unwrap();
    let saved = dir.save(&Tally { a: 4, b: 0 }, &who("alice")).unwrap();
    assert_eq!(saved.generation, 4, "followers that saw generation 3 see the next one as newer");
    let loaded = StateDir::open(&path).unwrap().load::<Tally>().unwrap().unwrap();
    assert_eq!((loaded.state.a, loaded.meta.generation), (4, 4));
}

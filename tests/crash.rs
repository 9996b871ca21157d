//! `kill -9` in the middle of writing: the state file is never torn, the audit log never has a torn
//! line in the middle that the next run did not start fresh after, and counts only go forward.
//!
//! The writer is this test binary run again as `crash_child` with `CUTOVER_CRASH_CHILD=1`: it
//! loops forever appending an audit line and saving the state, each carrying a counter.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cutover::domain::time::Ts;
use cutover::store::{AuditEntry, Source, StateDir, Versioned, Who};
use serde::{Deserialize, Serialize};
use serde_json::json;

const CYCLES: usize = 50;
const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counter {
    n: u64,
    /// Makes each write a few pages, so a kill can land inside one.
    pad: String,
}

impl Versioned for Counter {
    const SCHEMA: u32 = 1;
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Not a test: the writer the parent kills (does nothing without `CUTOVER_CRASH_CHILD`).
#[test]
fn crash_child() {
    if std::env::var("CUTOVER_CRASH_CHILD").as_deref() != Ok("1") {
        return;
    }
    let mut dir = StateDir::open(std::env::var("CUTOVER_CRASH_DIR").unwrap()).unwrap();
    let who = Who::from_env();
    let mut n = dir.load::<Counter>().unwrap().map_or(0, |l| l.state.n);
    let pad = "p".repeat(10_000);
    loop {
        n += 1;
        let entry = AuditEntry::new(Ts(n as i64), who.clone(), "tick")
            .detail(json!({"n": n, "pad": &pad[..n as usize % 3000]}));
        dir.append_audit(&entry).unwrap();
        dir.save(&Counter { n, pad: pad.clone() }, &who).unwrap();
    }
}

#[test]
fn kill_9_never_tears_the_state_or_the_audit_log() {
    let path = temp_dir("kill9");
    let mut last_state = 0u64;
    // Byte offsets of lines that may legitimately be damaged: torn tails seen after a kill, and the
    // fragments this test plants to stand in for a power cut.
    let mut allowed_damage = BTreeSet::new();
    for cycle in 0..CYCLES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env("CUTOVER_CRASH_CHILD", "1")
            .env("CUTOVER_CRASH_DIR", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this child has written at least once, then let it run a random while.
        let mut watcher = StateDir::open_read_only(&path).unwrap();
        let start = Instant::now();
        loop {
            if watcher.changed_since()
                && watcher.load::<Counter>().ok().flatten().is_some_and(|l| l.state.n > last_state)
            {
                break;
            }
            assert!(start.elapsed() < DEADLINE, "cycle {cycle}: the writer made no progress");
            assert!(child.try_wait().unwrap().is_none(), "cycle {cycle}: the writer died on its own");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..=30)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // Restart as the app would: open writable, load.
        let mut dir = StateDir::open(&path).unwrap();
        let loaded = dir.load::<Counter>().unwrap_or_else(|e| panic!("cycle {cycle}: {e}")).expect("a state");
        // A kill (unlike a power cut) can never leave a torn state.json behind an atomic rename:
        // the .prev fallback is for damage from outside (tested in tests/store.rs).
        assert_eq!(loaded.source, Source::Current, "cycle {cycle}: torn state.json: {:?}", loaded.warnings);
        assert!(loaded.state.n >= last_state, "cycle {cycle}: state went back {} -> {}", last_state, loaded.state.n);
        assert_eq!(loaded.state.pad.len(), 10_000, "cycle {cycle}: torn state");
        last_state = loaded.state.n;
        let temps: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(temps.is_empty(), "cycle {cycle}: dead writer's temp files not swept: {temps:?}");

        let audit = dir.read_audit().unwrap();
        if let Some(t) = &audit.torn_tail {
            allowed_damage.insert(t.offset);
        }
        for d in &audit.damaged {
            assert!(allowed_damage.contains(&d.offset), "cycle {cycle}: torn line in the middle: {d:?}");
        }
        // Audit counters go forward: +1 each line, or a repeat of the line whose state save the
        // kill cut off (the next run starts again from the saved state).
        let ns: Vec<u64> = audit.entries.iter().map(|e| e.detail["n"].as_u64().unwrap()).collect();
        for w in ns.windows(2) {
            assert!(w[1] == w[0] + 1 || w[1] == w[0], "cycle {cycle}: audit counter went {} -> {}", w[0], w[1]);
        }
        let last_audit = *ns.last().unwrap();
        assert!(last_audit == last_state || last_audit == last_state + 1, "audit {last_audit}, state {last_state}");

        // Now and then, a power cut: half a line at the end.
        if cycle % 7 == 3 {
            let offset = std::fs::metadata(dir.audit_path()).unwrap().len();
            let mut f = std::fs::OpenOptions::new().append(true).open(dir.audit_path()).unwrap();
            f.write_all(b"{\"when\":\"2026-05-01T14:02").unwrap();
            allowed_damage.insert(offset);
        }
    }
    let audit = StateDir::open_read_only(&path).unwrap().read_audit().unwrap();
    assert!(audit.damaged.len() >= CYCLES / 7, "the planted fragments are reported: {:?}", audit.damaged.len());
    eprintln!("{CYCLES} kills; state at {last_state}; {} damaged audit lines", audit.damaged.len());
}

//! End to end: ticking tasks in the real binary writes exactly one checkbox to
//! the runbook file, and an edit made on disk meanwhile is kept.

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const SEED: &str = include_str!("../config/runbooks/go-live.md");

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ticking_in_the_ui_changes_one_line_and_keeps_a_concurrent_edit() {
    let t = Tmux::start("runbook", 120, 40);
    let repo = t.path("ops");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("tasks.md"), SEED).unwrap();
    // No targets: this cockpit only reads and writes its runbook.
    std::fs::write(repo.join("cutover.toml"), "[deployment]\nname = \"e2e\"\n[runbook]\npath = \"tasks.md\"\n")
        .unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "seed"]);

    t.type_text(&format!("cd {} && {BIN} run --config cutover.toml", repo.display()), true);
    t.wait_for("the runbook", Duration::from_secs(30), |s, _| s.contains("[ ] T1137"));
    t.key("Tab");
    t.key("Space");
    t.wait_for("T1137 ticked", Duration::from_secs(30), |s, _| s.contains("[x] T1137"));

    let diff = git(&repo, &["diff", "-U0", "--", "tasks.md"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(
        changed,
        vec!["-- [ ] T1137 Verify all integration tests passing", "+- [x] T1137 Verify all integration tests passing"],
        "exactly one line changed:\n{diff}"
    );

    // Someone edits the file in git while the cockpit holds it.
    let path = repo.join("tasks.md");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("T1138 Verify all E2E tests passing", "T1138 Verify all E2E tests passing (incl. mobile)");
    std::fs::write(&path, edited).unwrap();

    // The next tick (T1139, two rows down) keeps that edit.
    t.key("Down");
    t.key("Down");
    t.key("Space");
    t.wait_for("T1139 ticked", Duration::from_secs(30), |s, _| s.contains("[x] T1139"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("- [ ] T1138 Verify all E2E tests passing (incl. mobile)"), "the edit is kept");
    assert!(text.contains("- [x] T1137 Verify all integration tests passing"));
    assert!(text.contains("- [x] T1139 Verify all performance benchmarks met"));
    let numstat = git(&repo, &["diff", "--numstat", "--", "tasks.md"]);
    assert_eq!(numstat.split_whitespace().take(2).collect::<Vec<_>>(), vec!["3", "3"], "{numstat}");

    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

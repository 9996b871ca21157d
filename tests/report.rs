//! `cutover report`: a go-live recorded by the real `advance` (with an override) and `rollback`
//! verbs against the simulated fleet, plus the lines only the cockpit writes (a trigger firing, a
//! rollback step, a resume) and a damaged line, turned into the retrospective's markdown.

mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::traffic::{FleetConfig, TempDir, cutover, output_text as text};
use cutover::domain::time::Ts;
use cutover::store::{AuditEntry, StateDir, Who};
use fleet_proc::FleetProc;
use serde_json::json;

fn config(dir: &Path, fleet: &FleetProc) -> PathBuf {
    std::fs::write(dir.join("runbook.md"), "## Prep\n- [x] T1 backups\n- [ ] T2 freeze\n## Go\n- [ ] T3 watch\n")
        .unwrap();
    let extra = "[runbook]\npath = \"runbook.md\"";
    FleetConfig { extra, read_back: false, blue_slo: false, ..FleetConfig::new("report-test") }.write(dir, &fleet.info)
}

fn run(cfg: &Path, state: &Path, args: &[&str]) -> Output {
    cutover(cfg, state, args).output().expect("run cutover")
}

#[test]
fn a_recorded_go_live_reports_every_section_with_its_facts() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let dir = TempDir::new("report");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = config(&dir.0, &fleet);
    let state = dir.0.join("state");

    for args in [
        &["advance", "--yes", "--wait", "0s"][..],
        &["advance", "--yes", "--wait", "0s", "--override", "CAB-42 approved the early move"],
        &["rollback", "--yes", "--reason", "5xx spike on checkout"],
    ] {
        let o = run(&cfg, &state, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    // What only the cockpit records, then a line torn by a crash in the middle of the log.
    let d = StateDir::open(&state).unwrap();
    let last = d.read_audit().unwrap().entries.last().unwrap().when.0;
    let bob = Who::new("bob", "ops2", 7);
    let trig = json!({"trigger": "error rate > 5%", "tier": "immediate", "reason": "blue 9.1% > 5%"});
    d.append_audit(
        &AuditEntry::new(Ts(last + 1_000), bob.clone(), "trigger-fired").stage("0% (rolled back)").detail(trig),
    )
    .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(d.audit_path()).unwrap();
    f.write_all(b"{\"when_ms\": 12, torn\n").unwrap();
    d.append_audit(
        &AuditEntry::new(Ts(last + 2_000), bob.clone(), "rollback-step")
            .stage("0% (rolled back)")
            .detail(json!({"step": "routing verified"})),
    )
    .unwrap();
    d.append_audit(
        &AuditEntry::new(Ts(last + 3_000), bob, "resume")
            .stage("0%")
            .detail(json!({"reason": "hotfix deployed", "by": "bob"})),
    )
    .unwrap();

    let o = run(&cfg, &state, &["report"]);
    assert!(o.status.success(), "{}", text(&o));
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    if std::env::var_os("CUTOVER_SHOW_REPORT").is_some() {
        println!("{report}");
    }
    for needle in [
        "# Go-live report: report-test",
        "## Summary",
        "- Final stage: 0%",
        "## Timeline",
        "| advance |",
        "| advance-override |",
        "| advance-applied |",
        "| rollback-routed |",
        "CAB-42 approved the early move",
        "## Stages",
        "| 10% |",
        "| 25% |",
        "| 0% (rolled back) |",
        "## Trigger firings",
        "| error rate > 5% | fired | bob@ops2 |",
        "## Overrides",
        "10% → 25%",
        "reason \"CAB-42 approved the early move\"; gates overridden: soak (soak not over",
        "## Rollback",
        "rollback started by",
        "5xx spike on checkout",
        "all traffic routed to green",
        "procedure step done by bob@ops2: routing verified",
        "go-live resumed by bob: hotfix deployed",
        "## Runbook",
        "| Prep | 1 | 2 |",
        "| Go | 0 | 1 |",
        "## Warnings",
        "damaged line skipped",
    ] {
        assert!(report.contains(needle), "{needle:?} missing:\n{report}");
    }
    assert!(!report.contains("0% → 10%"), "only the override is listed under Overrides:\n{report}");
    let user = std::env::var("USER").unwrap_or_default();
    if !user.is_empty() {
        assert!(report.contains(&format!("rollback started by {user}")), "{report}");
    }

    let out = dir.0.join("report.md");
    let o = run(&cfg, &state, &["report", "--output", out.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), report, "the file holds the same report");
}

#[test]
fn a_missing_state_dir_is_an_error_that_names_it() {
    let dir = TempDir::new("report-missing");
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = dir.0.join("cutover.toml");
    std::fs::write(&cfg, "[deployment]\nname = \"x\"\n").unwrap();
    let state = dir.0.join("nope");
    let o = run(&cfg, &state, &["report"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("cutover report: ") && err.contains("nope"), "{}", text(&o));
    assert!(!state.exists(), "not created");
}

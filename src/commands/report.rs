//! `cutover report`: the go-live's audit log and runbook as a markdown report. Only reads.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::ReportArgs;
use crate::domain::report::{ReportEntry, ReportInput, render};
use crate::store::StateDir;
use crate::store::cockpit_state::resolve;
use crate::store::runbook_file::RunbookFile;

pub fn report(args: ReportArgs, state_dir: Option<PathBuf>) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("cutover report: {msg}");
        ExitCode::FAILURE
    };
    let config = match super::load_config_in(&args.config, state_dir.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some(path) = resolve(state_dir.as_deref(), &config.deployment, false) else {
        return fail("no default state dir (no home folder?); pass --state-dir DIR".into());
    };
    let dir = match StateDir::open_read_only(&path) {
        Ok(d) => d,
        Err(e) => return fail(format!("{e}: nothing to report on")),
    };
    let read = match dir.read_audit() {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    let damaged = read.warnings(&dir.audit_path());
    let entries = read
        .entries
        .into_iter()
        .map(|e| ReportEntry { when: e.when, who: e.who.short(), what: e.what, stage: e.stage, detail: e.detail })
        .collect();
    let (runbook, runbook_error) = match config.runbook.as_deref().map(RunbookFile::load) {
        Some(Ok(f)) => (Some(f.runbook().clone()), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let text = render(&ReportInput {
        deployment: config.deployment.clone(),
        entries,
        damaged,
        runbook: runbook.as_ref(),
        runbook_error,
    });
    let text = crate::text::scrub(&text);
    match &args.output {
        Some(file) => match std::fs::write(file, &text) {
            Ok(()) => {
                eprintln!("report written to {}", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("cannot write {}: {e}", file.display())),
        },
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}

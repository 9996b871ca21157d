//! `cutover resume`: after a rollback whose procedure steps are all done, let the go-live
//! start again from 0 %. Refused while any step is open; the reason goes to the audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use super::traffic_cli::{Session, fail};
use crate::cli::ResumeArgs;
use crate::domain::cockpit::Event;

pub fn resume(args: ResumeArgs, state_dir: Option<PathBuf>, read_only: bool) -> ExitCode {
    let verb = "resume";
    let reason = args.reason.trim().to_string();
    if reason.is_empty() {
        return fail(verb, "--reason must say why the go-live may go on");
    }
    let mut s = match Session::open(verb, &args.config, state_dir.as_deref(), read_only) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !s.cockpit().traffic.is_rolled_back() {
        return fail(verb, "there is no rollback to resume from");
    }
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Err(e) = s.reconcile(&rt) {
        return s.fail(e);
    }
    if let Err(e) = s.run(&rt, Event::Resume { reason }) {
        return s.fail(e);
    }
    if s.cockpit().traffic.is_rolled_back() {
        return fail(verb, "refused: finish the rollback procedure's steps first (see the traffic panel)");
    }
    println!("go-live resumed at 0%: the next `cutover advance` starts again at the first stage");
    ExitCode::SUCCESS
}

//! `cutover rollback`: send all traffic back to green from a shell. Always allowed; recorded at
//! once, so the intent survives even if the actuators fail.

use std::path::PathBuf;
use std::process::ExitCode;

use super::traffic_cli::{Session, ask, fail, split};
use crate::cli::RollbackArgs;
use crate::domain::cockpit::Event;
use crate::domain::traffic::Confirmation;

pub fn rollback(args: RollbackArgs, state_dir: Option<PathBuf>, read_only: bool) -> ExitCode {
    let verb = "rollback";
    let reason = args.reason.as_deref().map(str::trim).unwrap_or_default().to_string();
    if args.reason.is_some() && reason.is_empty() {
        return fail(verb, "--reason must say why (or leave it out and give the reason later)");
    }
    let mut s = match Session::open(verb, &args.config, state_dir.as_deref(), read_only) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // Settled and recorded, never repeated; the rollback goes on whatever it found.
    if let Err(e) = s.reconcile(&rt) {
        eprintln!("cutover {verb}: warning: {e}");
    }
    if !args.yes {
        let what = format!(
            "ROLLBACK {}% → 0%: all traffic to {}",
            s.cockpit().traffic.blue_percent,
            s.cockpit().env_names.0[1]
        );
        if let Err(code) = ask(verb, &what, Confirmation::Rollback) {
            return code;
        }
    }
    let before = s.cockpit().traffic.blue_percent;
    let without_reason = reason.is_empty();
    let saved = s.run(&rt, Event::Rollback { reason });
    let c = s.cockpit();
    if let Err(e) = saved {
        return s.fail(e);
    }
    if c.traffic.pending.is_none() && c.apply_failure.is_none() {
        println!("rolled back {before}% → 0%: {}", split(c));
        if without_reason {
            println!(
                "no reason given: the procedure's \"document the reason\" step stays open until it is (R in the cockpit)"
            );
        }
        return ExitCode::SUCCESS;
    }
    let why = c.apply_failure.as_ref().map_or_else(|| "the actuators did not confirm".to_string(), |f| f.error.clone());
    fail(verb, format!("routing FAILED: {why}; the rollback is recorded, blue may still get traffic: retry now"))
}

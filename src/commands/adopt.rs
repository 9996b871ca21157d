//! `cutover adopt`: after the router's split was changed outside cutover (drift), record it as
//! the stage, with a reason, through the same session as `advance` (action lock, audit, state).

use std::path::PathBuf;
use std::process::ExitCode;

use super::traffic_cli::{Session, fail, split};
use crate::cli::AdoptArgs;
use crate::domain::cockpit::Event;
use crate::domain::traffic::MoveKind;

pub fn adopt(args: AdoptArgs, state_dir: Option<PathBuf>, read_only: bool) -> ExitCode {
    let verb = "adopt";
    let reason = args.reason.trim().to_string();
    if reason.is_empty() {
        return fail(verb, "--reason must say why the router's split is right");
    }
    let mut s = match Session::open(verb, &args.config, state_dir.as_deref(), read_only) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // A change cut off earlier may be settled by the router's reading alone.
    if let Err(e) = s.reconcile(&rt) {
        return s.fail(e);
    }
    if let Err(e) = s.read_router_and_observe(&rt) {
        return s.fail(e);
    }
    let before = s.cockpit().traffic.history.len();
    let from = s.cockpit().traffic.blue_percent;
    if let Err(e) = s.run(&rt, Event::Adopt { reason }) {
        return s.fail(e);
    }
    let c = s.cockpit();
    let adopted =
        c.traffic.history.len() > before && c.traffic.history.last().is_some_and(|h| h.kind == MoveKind::Adopt);
    if !adopted {
        return fail(verb, "refused: nothing was recorded (see above)");
    }
    println!("router's split adopted: {from}% → {}%: {} (soak starts now)", c.traffic.blue_percent, split(c));
    ExitCode::SUCCESS
}

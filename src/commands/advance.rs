//! `cutover advance`: move blue to the next stage from a shell, with the same gates, confirmation,
//! actuators, state and audit log as the cockpit's `a`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::traffic_cli::{Session, ask, fail, split};
use crate::cli::AdvanceArgs;
use crate::domain::cockpit::Event;
use crate::domain::traffic::{Gate, Verdict, format_countdown};

pub fn advance(args: AdvanceArgs, state_dir: Option<PathBuf>, read_only: bool) -> ExitCode {
    let verb = "advance";
    let mut s = match Session::open(verb, &args.config, state_dir.as_deref(), read_only) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    // A change cut off earlier is settled first; if that changed the recorded stage, the operator
    // looks again before anything else moves.
    match s.reconcile(&rt) {
        Err(e) => return s.fail(e),
        Ok(Some(Verdict::Applied | Verdict::NotApplied)) => {
            return fail(
                verb,
                format!(
                    "an interrupted change was reconciled (see above) and nothing else was done; the stage is now \
                     {}%: check it with `cutover status`, then run `cutover advance` again",
                    s.cockpit().traffic.blue_percent
                ),
            );
        }
        Ok(_) => {}
    }
    if let Err(code) = s.look(&rt, args.wait.as_deref()) {
        return code;
    }
    if let Err(e) = s.read_router_and_observe(&rt) {
        return s.fail(e);
    }
    let preview = match s.cockpit().preview_advance(args.to) {
        Ok(p) => p,
        Err(refusal) => return fail(verb, refusal),
    };
    let reason = args.override_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let gates: Vec<String> = preview.failing.iter().map(ToString::to_string).collect();
    // Drift is never overridden: the router's split is not known to be the recorded one.
    if let Some(Gate::Drift { detail }) = preview.failing.iter().find(|g| matches!(g, Gate::Drift { .. })) {
        let others: Vec<String> = preview.failing.iter().filter(|g| g.overridable()).map(ToString::to_string).collect();
        let also = if others.is_empty() { String::new() } else { format!(" (also failing: {})", others.join("; ")) };
        return fail(
            verb,
            format!(
                "refused: cannot advance to {}%: drift: {detail}; an override cannot pass it: record the router's \
                 split with `cutover adopt --reason TEXT`, or set the router back from the cockpit{also}",
                preview.to
            ),
        );
    }
    if let Some(r) = reason.filter(|_| !preview.failing.is_empty())
        && let Err(why) = s.cockpit().override_rule.check(r)
    {
        return fail(verb, format!("refused: cannot advance to {}%: {}; {why}", preview.to, gates.join("; ")));
    }
    if !preview.failing.is_empty() && reason.is_none() {
        return fail(
            verb,
            format!(
                "refused: cannot advance to {}%: {}; pass --override \"REASON\" to go anyway (it is logged)",
                preview.to,
                gates.join("; ")
            ),
        );
    }
    if !args.yes {
        let mut what = format!("{preview}: {}", s.cockpit().env_names.0[0]);
        what = format!("{what} {} / {} {}", preview.weights.blue, s.cockpit().env_names.0[1], preview.weights.green);
        if !gates.is_empty() {
            what.push_str(&format!(
                "\nOVERRIDE: {} — reason {:?} will be logged",
                gates.join("; "),
                reason.unwrap_or("")
            ));
        }
        if let Err(code) = ask(verb, &what, preview.confirmation()) {
            return code;
        }
    }
    let before = s.cockpit().traffic.blue_percent;
    let event = Event::Advance { to: Some(preview.to), override_reason: reason.map(str::to_string) };
    let saved = s.run(&rt, event);
    let c = s.cockpit();
    if let Err(e) = saved {
        return s.fail(e);
    }
    if c.traffic.blue_percent == preview.to && c.traffic.pending.is_none() {
        let soak = c.traffic.soak_remaining(c.now).map(format_countdown).unwrap_or_default();
        println!("{}% → {}%: {} (soak {soak})", before, preview.to, split(c));
        return ExitCode::SUCCESS;
    }
    let why = c.apply_failure.as_ref().map_or_else(|| "the actuators did not confirm".to_string(), |f| f.error.clone());
    fail(verb, format!("FAILED: {why}; the recorded stage stays at {}% ({})", c.traffic.blue_percent, split(c)))
}

//! What the kill -9 tests share: loading the state as a restart would, finishing a rollback
//! procedure so a resume is possible, and naming where a kill landed.

#![allow(dead_code)]

use std::path::Path;

use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::Weights;
use cutover::domain::traffic::{StepKind, weights_for};
use cutover::store::{Source, StateDir, Who};

/// The state as a restart reads it; panics if `state.json` does not parse or had to fall back.
pub fn load(state: &Path) -> Option<PersistedState> {
    let mut dir = StateDir::open_read_only(state).ok()?;
    let loaded = dir.load::<PersistedState>().unwrap_or_else(|e| panic!("state.json does not parse: {e}"))?;
    assert_eq!(loaded.source, Source::Current, "a kill left state.json damaged: {:?}", loaded.warnings);
    Some(loaded.state)
}

/// What the operator does in the cockpit while no cutover runs: gives the rollback's reason if a
/// kill cut the dialog off before it, and ticks the procedure's steps (routing ticks itself), so
/// a resume is possible.
pub fn finish_procedure(state: &Path) {
    let mut dir = StateDir::open(state).unwrap();
    let mut s = dir.load::<PersistedState>().unwrap().unwrap().state;
    if s.traffic.rollback.as_ref().is_some_and(|r| r.reason.is_none()) {
        s.traffic = s.traffic.give_rollback_reason("given after the restart").unwrap().0;
    }
    for kind in [StepKind::Announce, StepKind::VerifyGreen, StepKind::Investigate, StepKind::Document] {
        if let Ok((next, _)) = s.traffic.tick_step(kind, "tester", None, cutover::store::state_dir::now()) {
            s.traffic = next;
        }
    }
    dir.save(&s, &Who::new("tester", "localhost", std::process::id())).unwrap();
}

/// Where a kill during a traffic change landed, judged from what it left behind.
pub fn phase(before: &PersistedState, after: &PersistedState, router: Weights) -> &'static str {
    match &after.traffic.pending {
        Some(p) if router == weights_for(p.to) && p.from != p.to => "after the router changed, before the outcome",
        Some(_) => "after the intent, before the router changed",
        None if after == before => "before anything was saved",
        None => "after the outcome was saved",
    }
}

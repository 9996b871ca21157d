//! A change found half done at start-up: the intent was saved before the actuators were called,
//! then the process died before the outcome was saved. Nothing is repeated; the router's own
//! reading decides what is recorded.
//!
//! | router reads      | recorded as                                             |
//! |-------------------|---------------------------------------------------------|
//! | the target split  | applied (the soak starts now, when cutover saw it)      |
//! | the old split     | not applied (the operator may try again)                |
//! | anything else     | still interrupted: shown, with retry and revert offered |

use serde::Serialize;

use super::{Effect, MoveKind, PendingMove, TrafficState, same_split, weights_for};
use crate::domain::cockpit::Level;
use crate::domain::env::Weights;
use crate::domain::time::Ts;

/// What the router's reading says about an interrupted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The router has the target split.
    Applied,
    /// The router still has the split from before.
    NotApplied,
    /// Neither, or the router cannot be read.
    Unknown,
}

impl Verdict {
    /// How the router's reading `actual` (`None`: unreadable) stands to change `p`. A change whose
    /// two sides are the same split (a rollback at 0 %) counts as applied.
    pub fn of(p: &PendingMove, actual: Option<Weights>) -> Verdict {
        match actual {
            Some(w) if same_split(weights_for(p.to), w) => Verdict::Applied,
            Some(w) if same_split(weights_for(p.from), w) => Verdict::NotApplied,
            _ => Verdict::Unknown,
        }
    }
}

/// `advance 10% → 25%`, `rollback 25% → 0%`.
pub fn describe(p: &PendingMove) -> String {
    let kind = match p.kind {
        MoveKind::Advance => "advance",
        MoveKind::Rollback => "rollback",
        MoveKind::Resume => "resume",
        MoveKind::Adopt => "adopt",
    };
    format!("{kind} {}% → {}%", p.from, p.to)
}

fn reading(actual: Option<Weights>, error: Option<&str>) -> String {
    match (actual, error) {
        (Some(w), _) => format!("the router reads {}/{}", w.blue, w.green),
        (None, Some(e)) => format!("the router cannot be read ({e})"),
        (None, None) => "no actuator can read the router back".to_string(),
    }
}

impl TrafficState {
    /// At start-up: a change still marked in flight was cut off (no process is applying it any
    /// more). It becomes [`TrafficState::interrupted`] until the router's reading settles it.
    pub fn interrupt(&mut self) {
        if let Some(p) = self.pending.take() {
            self.interrupted = Some(p);
        }
    }

    /// Settles the interrupted change against the router's reading (`actual`; `error` says why
    /// there is none). `None` when nothing was interrupted. Never asks the actuators for anything:
    /// an interrupted change is recorded, not repeated.
    pub fn resolve_interrupted(
        &self,
        actual: Option<Weights>,
        error: Option<&str>,
        now: Ts,
    ) -> Option<(TrafficState, Vec<Effect>, Verdict)> {
        let p = self.interrupted.as_ref()?;
        let verdict = Verdict::of(p, actual);
        let what = describe(p);
        let seen = reading(actual, error);
        let mut s = self.clone();
        let mut effects = Vec::new();
        match verdict {
            Verdict::Applied => {
                s.pending = s.interrupted.take();
                let detail = format!("{seen} after a restart");
                let (next, applied) = s.applied(p.seq, &detail, now).ok()?;
                s = next;
                effects.push(Effect::Audit(
                    Level::Info,
                    format!("{what} was interrupted after the router changed ({seen}): recorded as applied; nothing was repeated"),
                ));
                effects.extend(applied);
            }
            Verdict::NotApplied => {
                s.interrupted = None;
                let next = match p.kind {
                    MoveKind::Rollback => "blue still gets traffic: press R to roll back again",
                    _ => "press a to try again",
                };
                effects.push(Effect::Audit(
                    Level::Warn,
                    format!("{what} was interrupted before the router changed; nothing was repeated; {next}"),
                ));
            }
            Verdict::Unknown => {
                let recorded = s.blue_percent;
                let retry = if p.kind == MoveKind::Rollback { "R rolls back again" } else { "a retries" };
                effects.push(Effect::Audit(
                    Level::Error,
                    format!(
                        "INTERRUPTED: {what} was cut off and {seen}; nothing was repeated: {retry}, \
                         V sets the router back to {recorded}%"
                    ),
                ));
            }
        }
        Some((s, effects, verdict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::traffic::{GateInputs, TrafficSpec};

    /// At 10 %, with an advance to 25 % cut off after its intent was saved.
    fn cut_off_advance() -> TrafficState {
        let s = TrafficState::new(TrafficSpec::default());
        let (s, _) = s.advance(None, &GateInputs::clear(), None, "alice", Ts(0)).unwrap();
        let (s, _) = s.applied(1, "ok", Ts(1000)).unwrap();
        let (mut s, _) =
            s.advance(None, &GateInputs::clear(), Some("CAB-1 approved early".into()), "alice", Ts(2000)).unwrap();
        s.interrupt();
        s
    }

    fn text(effects: &[Effect]) -> String {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Audit(_, l) => Some(l.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_restart_turns_the_change_in_flight_into_an_interrupted_one() {
        let s = cut_off_advance();
        assert!(s.pending.is_none());
        let p = s.interrupted.as_ref().unwrap();
        assert_eq!((p.from, p.to, p.seq, p.requested_at), (10, 25, 2, Ts(2000)));
        assert_eq!(s.blue_percent, 10);
        let mut again = s.clone();
        again.interrupt();
        assert_eq!(again, s, "nothing in flight: nothing changes");
    }

    #[test]
    fn router_at_the_target_records_the_advance_as_applied() {
        let s = cut_off_advance();
        let (s, effects, v) = s.resolve_interrupted(Some(weights_for(25)), None, Ts(60_000)).unwrap();
        assert_eq!(v, Verdict::Applied);
        assert_eq!((s.blue_percent, s.stage, s.stage_started), (25, Some(1), Some(Ts(60_000))));
        assert!(s.interrupted.is_none() && s.pending.is_none());
        let last = s.history.last().unwrap();
        assert_eq!((last.from, last.to, last.reason.as_deref()), (10, 25, Some("CAB-1 approved early")));
        let t = text(&effects);
        assert!(t.contains("advance 10% → 25% was interrupted after the router changed"), "{t}");
        assert!(t.contains("recorded as applied; nothing was repeated"), "{t}");
        assert!(effects.iter().all(|e| !matches!(e, Effect::SetWeights { .. })), "never repeated");
    }

    #[test]
    fn router_at_the_old_split_records_it_as_not_applied() {
        let s = cut_off_advance();
        let (s, effects, v) = s.resolve_interrupted(Some(weights_for(10)), None, Ts(60_000)).unwrap();
        assert_eq!(v, Verdict::NotApplied);
        assert_eq!((s.blue_percent, s.stage, s.stage_started), (10, Some(0), Some(Ts(1000))), "soak clock kept");
        assert!(s.interrupted.is_none() && s.pending.is_none());
        assert_eq!(s.history.len(), 1);
        assert_eq!(
            text(&effects),
            "advance 10% → 25% was interrupted before the router changed; nothing was repeated; press a to try again"
        );
        assert!(
            s.advance(None, &GateInputs::clear(), Some("retry after the crash".into()), "alice", Ts(60_000)).is_ok()
        );
    }

    #[test]
    fn anything_else_or_no_reading_keeps_it_interrupted() {
        let s = cut_off_advance();
        let (after, effects, v) = s.resolve_interrupted(Some(weights_for(50)), None, Ts(60_000)).unwrap();
        assert_eq!(v, Verdict::Unknown);
        assert_eq!(after, s);
        let t = text(&effects);
        assert!(t.contains("INTERRUPTED: advance 10% → 25%") && t.contains("the router reads 50/50"), "{t}");
        assert!(t.contains("a retries, V sets the router back to 10%"), "{t}");
        let (_, effects, v) = s.resolve_interrupted(None, Some("connection refused"), Ts(60_000)).unwrap();
        assert_eq!(v, Verdict::Unknown);
        assert!(text(&effects).contains("cannot be read (connection refused)"));
        let (_, effects, _) = s.resolve_interrupted(None, None, Ts(60_000)).unwrap();
        assert!(text(&effects).contains("no actuator can read the router back"));
        // A retry replaces it.
        let (retry, _) =
            s.advance(None, &GateInputs::clear(), Some("retry after the crash".into()), "alice", Ts(60_000)).unwrap();
        assert!(retry.interrupted.is_none());
        assert_eq!(retry.pending.as_ref().map(|p| (p.from, p.to)), Some((10, 25)));
    }

    #[test]
    fn nothing_interrupted_nothing_to_resolve() {
        let s = TrafficState::new(TrafficSpec::default());
        assert!(s.resolve_interrupted(Some(weights_for(0)), None, Ts(0)).is_none());
    }

    #[test]
    fn an_interrupted_rollback_is_routed_or_offered_again() {
        let s = cut_off_advance().resolve_interrupted(Some(weights_for(25)), None, Ts(3000)).unwrap().0;
        let (mut r, _) = s.rollback("errors", "bob", Ts(4000));
        r.interrupt();
        assert_eq!(r.interrupted.as_ref().map(|p| (p.kind, p.from, p.to)), Some((MoveKind::Rollback, 25, 0)));
        let (routed, _, v) = r.resolve_interrupted(Some(weights_for(0)), None, Ts(5000)).unwrap();
        assert_eq!(v, Verdict::Applied);
        assert!(routed.rollback.as_ref().unwrap().step(super::super::StepKind::RouteTraffic).done_at.is_some());
        let (not, effects, v) = r.resolve_interrupted(Some(weights_for(25)), None, Ts(5000)).unwrap();
        assert_eq!(v, Verdict::NotApplied);
        assert!(not.is_rolled_back() && not.blue_percent == 0, "the rollback stays ordered");
        assert!(not.rollback.as_ref().unwrap().step(super::super::StepKind::RouteTraffic).done_at.is_none());
        assert!(text(&effects).contains("press R to roll back again"));
        assert!(not.drift(weights_for(25)).is_some(), "blue still has traffic: drift is shown");
        // A rollback at 0 % has the same split on both sides: applied.
        let (mut again, _) = routed.rollback("again", "bob", Ts(6000));
        again.interrupt();
        assert_eq!(again.resolve_interrupted(Some(weights_for(0)), None, Ts(7000)).unwrap().2, Verdict::Applied);
    }
}

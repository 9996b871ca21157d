//! The rollback procedure: the plan's timed steps, ticked as they happen.
//!
//! | step                  | target          | ticked by                                             |
//! |-----------------------|-----------------|-------------------------------------------------------|
//! | announce              | within 5 min    | the operator                                          |
//! | route traffic         | within 10 min   | the actuators confirming 0/100 (never by hand)        |
//! | verify green stable   | within 15 min   | time: green OK for 15 min after routing; or operator  |
//! | investigate           | ongoing         | the operator                                          |
//! | document the reason   | —               | the operator (with a note: ticket, link)              |
//!
//! Targets are deadlines counted from the moment the rollback was ordered; a step past its
//! deadline and not done is *overdue*.

use serde::{Deserialize, Serialize};

use super::MINUTE_MS;
use crate::domain::time::Ts;

/// How long green must stay OK after the rollback was routed for "verify green stable" to tick.
pub const VERIFY_WINDOW_MS: i64 = 15 * MINUTE_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Announce,
    RouteTraffic,
    VerifyGreen,
    Investigate,
    Document,
}

/// Who ticks a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickedBy {
    Operator,
    Actuator,
    TimeOrOperator,
}

impl StepKind {
    pub const ALL: [StepKind; 5] =
        [StepKind::Announce, StepKind::RouteTraffic, StepKind::VerifyGreen, StepKind::Investigate, StepKind::Document];

    pub fn label(self) -> &'static str {
        match self {
            StepKind::Announce => "announce the rollback",
            StepKind::RouteTraffic => "route all traffic to green",
            StepKind::VerifyGreen => "verify green is stable",
            StepKind::Investigate => "investigate",
            StepKind::Document => "document the reason",
        }
    }

    /// Deadline counted from the rollback order; `None` for open-ended steps.
    pub fn target_ms(self) -> Option<i64> {
        match self {
            StepKind::Announce => Some(5 * MINUTE_MS),
            StepKind::RouteTraffic => Some(10 * MINUTE_MS),
            StepKind::VerifyGreen => Some(15 * MINUTE_MS),
            StepKind::Investigate | StepKind::Document => None,
        }
    }

    pub fn ticked_by(self) -> TickedBy {
        match self {
            StepKind::RouteTraffic => TickedBy::Actuator,
            StepKind::VerifyGreen => TickedBy::TimeOrOperator,
            _ => TickedBy::Operator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackStep {
    pub kind: StepKind,
    pub done_at: Option<Ts>,
    /// An operator's name, `router` or `time`.
    pub done_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackProcedure {
    pub started: Ts,
    pub by: String,
    pub reason: Option<String>,
    pub steps: Vec<RollbackStep>,
    /// Since when green has been continuously OK after routing (the verify window's start).
    #[serde(default)]
    pub verify_since: Option<Ts>,
}

impl RollbackProcedure {
    pub fn start(now: Ts, by: &str, reason: Option<String>) -> Self {
        let steps =
            StepKind::ALL.iter().map(|&kind| RollbackStep { kind, done_at: None, done_by: None, note: None }).collect();
        RollbackProcedure { started: now, by: by.to_string(), reason, steps, verify_since: None }
    }

    /// # Panics
    /// Never for a procedure made by [`RollbackProcedure::start`], which holds every step.
    pub fn step(&self, kind: StepKind) -> &RollbackStep {
        self.steps.iter().find(|s| s.kind == kind).expect("every rollback step is present")
    }

    pub(super) fn step_mut(&mut self, kind: StepKind) -> &mut RollbackStep {
        if !self.steps.iter().any(|s| s.kind == kind) {
            // A hand-edited state file may have lost a step: put it back rather than panic.
            self.steps.push(RollbackStep { kind, done_at: None, done_by: None, note: None });
        }
        self.steps.iter_mut().find(|s| s.kind == kind).expect("just ensured")
    }

    /// When `kind` is due, if it has a target.
    pub fn due(&self, kind: StepKind) -> Option<Ts> {
        kind.target_ms().map(|ms| self.started.plus_ms(ms))
    }

    /// Not done and past its deadline.
    pub fn overdue(&self, kind: StepKind, now: Ts) -> bool {
        self.steps.iter().any(|s| s.kind == kind && s.done_at.is_none()) && self.due(kind).is_some_and(|d| now > d)
    }

    /// (done, total).
    pub fn progress(&self) -> (usize, usize) {
        (self.steps.iter().filter(|s| s.done_at.is_some()).count(), self.steps.len())
    }

    /// Steps not done yet, in plan order.
    pub fn open(&self) -> Vec<StepKind> {
        StepKind::ALL.into_iter().filter(|k| self.steps.iter().all(|s| s.kind != *k || s.done_at.is_none())).collect()
    }

    /// The router confirmed 0/100.
    pub(super) fn routed(&mut self, now: Ts) {
        let step = self.step_mut(StepKind::RouteTraffic);
        if step.done_at.is_none() {
            step.done_at = Some(now);
            step.done_by = Some("router".into());
        }
        self.verify_since.get_or_insert(now);
    }

    /// Green's health at `now`; returns true when this ticked "verify green stable".
    pub(super) fn observe_green(&mut self, green_ok: bool, now: Ts) -> bool {
        let routed = self.step(StepKind::RouteTraffic).done_at.is_some();
        if !routed || self.step(StepKind::VerifyGreen).done_at.is_some() {
            return false;
        }
        if !green_ok {
            self.verify_since = Some(now);
            return false;
        }
        let since = *self.verify_since.get_or_insert(now);
        if now.0 - since.0 < VERIFY_WINDOW_MS {
            return false;
        }
        let step = self.step_mut(StepKind::VerifyGreen);
        step.done_at = Some(now);
        step.done_by = Some("time".into());
        true
    }
}

impl super::TrafficState {
    /// The reason of a rollback ordered without one, given afterwards (traffic moved first).
    /// It goes to the procedure and to the rollback's history entry; the "document the reason"
    /// step can be ticked from then on.
    pub fn give_rollback_reason(
        &self,
        reason: &str,
    ) -> Result<(super::TrafficState, Vec<super::Effect>), super::Refusal> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(super::Refusal::RollbackNeedsReason);
        }
        let mut s = self.clone();
        let r = s.rollback.as_mut().ok_or(super::Refusal::NoRollback)?;
        r.reason = Some(reason.to_string());
        if let Some(h) = s.history.iter_mut().rev().find(|h| h.kind == super::MoveKind::Rollback) {
            h.reason.get_or_insert_with(|| reason.to_string());
        }
        let line = format!("rollback reason: {reason}");
        Ok((s, vec![super::Effect::Audit(crate::domain::cockpit::Level::Info, line)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_count_from_the_order() {
        let p = RollbackProcedure::start(Ts(1000), "bob", None);
        assert_eq!(p.due(StepKind::Announce), Some(Ts(1000 + 5 * MINUTE_MS)));
        assert_eq!(p.due(StepKind::Investigate), None);
        assert!(!p.overdue(StepKind::Announce, Ts(1000 + 5 * MINUTE_MS)));
        assert!(p.overdue(StepKind::Announce, Ts(1001 + 5 * MINUTE_MS)));
        assert!(!p.overdue(StepKind::Document, Ts(i64::MAX / 2)));
        assert_eq!(p.open(), StepKind::ALL.to_vec());
    }

    #[test]
    fn verify_needs_routing_first() {
        let mut p = RollbackProcedure::start(Ts(0), "bob", None);
        assert!(!p.observe_green(true, Ts(VERIFY_WINDOW_MS * 2)));
        p.routed(Ts(100));
        assert!(!p.observe_green(true, Ts(100 + VERIFY_WINDOW_MS - 1)));
        assert!(p.observe_green(true, Ts(100 + VERIFY_WINDOW_MS)));
        assert_eq!(p.step(StepKind::VerifyGreen).done_by.as_deref(), Some("time"));
        assert!(!p.observe_green(true, Ts(100 + 2 * VERIFY_WINDOW_MS)), "ticks once");
    }
}

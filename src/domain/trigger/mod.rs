//! Rollback triggers: conditions that must hold for a duration before they fire, and manual
//! triggers an operator raises.
//!
//! # Semantics
//!
//! Like Prometheus's `for:`. Each evaluation (a call of [`evaluate`] or [`Triggers::evaluate_all`],
//! normally on every cockpit tick) reads a [`Sample`] and turns it into an [`Effect`]: a value on
//! the bad side of the limit is a breach, one on the good side is not; no data and errors go by the
//! trigger's [`Policy`]. Stale SLO readings (no success for twice the SLO's interval) count as
//! errors; NaN and a missing baseline count as no data.
//!
//! * **inactive → pending** at the first breaching evaluation (a streak starts).
//! * **pending → firing** at the first evaluation at which the breach time counted so far reaches
//!   `for_ms`. Breach time is the sum of the gaps between consecutive breaching evaluations, so with
//!   unbroken breaches the trigger fires at the first evaluation at least `for_ms` after the streak
//!   began: never earlier, and at most one evaluation interval later.
//! * **pending → inactive** at the first good evaluation (or no data / error under `Reset`).
//! * `Hold` pauses the streak: start and counted time stay, and the time from the last breaching
//!   evaluation to the next breaching one is not counted. A held trigger never changes phase.
//!   (A long gap of no data under `Hold` does not forgive an earlier streak; use `Reset` for that.)
//! * **firing is latched.** When the condition stops holding the trigger stays firing with
//!   `cleared_at` set; a new breach while latched clears `cleared_at` again (no second `Fired`).
//!   Acknowledging a cleared trigger makes it inactive. Acknowledging one that still breaches keeps
//!   it firing, marked acknowledged, and it becomes inactive by itself once the condition clears.
//! * **manual** triggers fire when raised (with a reason) and become inactive when lowered (with a
//!   reason); lowering counts as acknowledging. `for_ms` does not apply.
//!
//! History per stage (breach streaks, longest, total breach time, fired count) starts again with
//! [`TriggerState::reset_stage`], which also drops the baseline of a [`Reference::Baseline`]
//! condition; the next valid reading (at once, with [`Triggers::reset_stage`]) captures it again.

mod num;
mod observe;
mod spec;
mod state;
mod text;

use std::collections::BTreeMap;

pub use observe::{Input, capture_baseline, evaluate, observe};
pub use spec::{
    Condition, DEFAULT_OUTAGE_FOR_MS, Direction, ERROR_RATE_SLO, P95_SLO, Policy, Reference, Tier, TriggerSpec,
    go_live_defaults, go_live_missing_slos,
};
pub use state::{
    Ack, Baseline, ClearCause, Effect, Firing, History, ManualNote, Phase, RECENT_LEN, Sample, Seen, Streak,
    TriggerError, TriggerEvent, TriggerState, Verdict,
};
pub use text::{Labels, Progress, clock, format_countdown, format_span};

use crate::domain::time::Ts;

/// True when automatic rollback is `enabled` and an immediate trigger has just fired (by the calls
/// at the latest `now`; see [`TriggerState::just_fired`]) and is not acknowledged.
pub fn should_auto_rollback(states: &[TriggerState], specs: &[TriggerSpec], enabled: bool) -> bool {
    enabled && first_auto_rollback(states, specs).is_some()
}

fn first_auto_rollback(states: &[TriggerState], specs: &[TriggerSpec]) -> Option<usize> {
    specs.iter().zip(states).position(|(spec, st)| {
        spec.tier == Tier::Immediate
            && st.just_fired()
            && st.firing.as_ref().is_some_and(|f| f.acknowledged.is_none() && f.cleared_at.is_none())
    })
}

/// All triggers of a deployment, specs and states side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Triggers {
    pub specs: Vec<TriggerSpec>,
    pub states: Vec<TriggerState>,
}

impl Triggers {
    pub fn new(specs: Vec<TriggerSpec>) -> Self {
        let states = vec![TriggerState::default(); specs.len()];
        Triggers { specs, states }
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Evaluates every trigger at `now`; events come with the trigger's index.
    pub fn evaluate_all(&mut self, input: &Input, now: Ts) -> Vec<(usize, TriggerEvent)> {
        let mut out = Vec::new();
        for (i, (spec, state)) in self.specs.iter().zip(&mut self.states).enumerate() {
            out.extend(evaluate(state, spec, input, now).into_iter().map(|e| (i, e)));
        }
        out
    }

    /// A new traffic stage began: per-stage history starts again and baselines are captured from
    /// `input` now (or at the next valid reading).
    pub fn reset_stage(&mut self, input: &Input, now: Ts) {
        for (spec, state) in self.specs.iter().zip(&mut self.states) {
            state.reset_stage(now);
            capture_baseline(state, spec, input, now);
        }
    }

    fn get(&mut self, i: usize) -> Result<(&TriggerSpec, &mut TriggerState), TriggerError> {
        match (self.specs.get(i), self.states.get_mut(i)) {
            (Some(spec), Some(state)) => Ok((spec, state)),
            _ => Err(TriggerError::Unknown(i)),
        }
    }

    pub fn acknowledge(&mut self, i: usize, now: Ts, by: &str) -> Result<Vec<TriggerEvent>, TriggerError> {
        let (spec, state) = self.get(i)?;
        state.acknowledge(spec, now, by)
    }

    pub fn raise(&mut self, i: usize, now: Ts, by: &str, reason: &str) -> Result<Vec<TriggerEvent>, TriggerError> {
        let (spec, state) = self.get(i)?;
        state.raise(spec, now, by, reason)
    }

    pub fn lower(&mut self, i: usize, now: Ts, by: &str, reason: &str) -> Result<Vec<TriggerEvent>, TriggerError> {
        let (spec, state) = self.get(i)?;
        state.lower(spec, now, by, reason)
    }

    /// The immediate trigger that calls for an automatic rollback now, if `enabled`.
    pub fn auto_rollback(&self, enabled: bool) -> Option<usize> {
        if enabled { first_auto_rollback(&self.states, &self.specs) } else { None }
    }

    /// Indices of firing triggers (latched, cleared or not).
    pub fn firing(&self) -> impl Iterator<Item = usize> + '_ {
        self.states.iter().enumerate().filter(|(_, s)| s.firing.is_some()).map(|(i, _)| i)
    }

    /// States by trigger name, for the state file.
    pub fn snapshot(&self) -> BTreeMap<String, TriggerState> {
        self.specs.iter().zip(&self.states).map(|(spec, st)| (spec.name.clone(), st.clone())).collect()
    }

    /// Takes states back by name; names no longer configured are dropped, new triggers start inactive.
    pub fn restore(&mut self, mut saved: BTreeMap<String, TriggerState>) {
        for (spec, state) in self.specs.iter().zip(&mut self.states) {
            if let Some(s) = saved.remove(&spec.name) {
                *state = s;
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! The sustained-condition state machine: inactive → pending → firing, latched until acknowledged.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::num;
use super::spec::{Direction, Policy, TriggerSpec};
use crate::domain::time::Ts;

/// Distinct readings kept per trigger for the reason view (equal consecutive readings share one entry).
pub const RECENT_LEN: usize = 60;

/// What one evaluation saw, before any policy applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sample {
    /// A number compared with a limit (a threshold, or factor × reference).
    Reading {
        #[serde(with = "num")]
        value: f64,
        #[serde(with = "num")]
        limit: f64,
        /// The reference a relative limit was computed from.
        #[serde(default, with = "num::opt", skip_serializing_if = "Option::is_none")]
        reference: Option<f64>,
        breach: bool,
    },
    /// Health checks of one environment, all observed and fresh: `down` of `total` are down or unreachable.
    Health {
        down: u32,
        total: u32,
    },
    NoData {
        why: String,
    },
    /// An error, or a stale reading (`stale`), which counts as an error.
    Error {
        why: String,
        stale: bool,
    },
}

impl Sample {
    pub fn reading(value: f64, cmp: Direction, limit: f64) -> Sample {
        Sample::Reading { value, limit, reference: None, breach: cmp.breaches(value, limit) }
    }

    pub fn verdict(&self) -> Verdict {
        match self {
            Sample::Reading { breach: true, .. } => Verdict::Breach,
            Sample::Reading { .. } => Verdict::Ok,
            Sample::Health { down, total } => {
                if *total > 0 && down == total {
                    Verdict::Breach
                } else {
                    Verdict::Ok
                }
            }
            Sample::NoData { .. } => Verdict::NoData,
            Sample::Error { .. } => Verdict::Error,
        }
    }
}

/// An evaluation's verdict before policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Breach,
    NoData,
    Error,
}

/// What an evaluation did to the trigger, after policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Counted as breaching: the streak starts or goes on.
    Breach,
    /// Counted as good: the streak ends.
    Clear,
    /// Neither (policy `Hold`): the streak, if any, is kept with its time paused.
    Hold,
}

/// One entry of the recent readings: a sample seen at `at` and, unchanged, until `last_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub at: Ts,
    pub last_at: Ts,
    /// Evaluations that saw this.
    pub count: u32,
    pub sample: Sample,
    pub effect: Effect,
    /// The no-data or error policy that decided `effect`, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// A run of breaching evaluations (possibly with held ones in between).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// The first breaching evaluation.
    pub since: Ts,
    /// Breach time counted up to `last_breach_at`: the sum of the gaps between consecutive
    /// breaching evaluations with no held evaluation between them.
    pub elapsed_ms: i64,
    pub last_breach_at: Ts,
    /// The first held evaluation since `last_breach_at`, while the streak is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_since: Option<Ts>,
    /// The part of `elapsed_ms` that belongs to earlier stages.
    #[serde(default)]
    pub stage_offset_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub at: Ts,
    pub by: String,
}

/// The latch: set when the trigger fires, removed by acknowledgement (see [`TriggerState::acknowledge`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub since: Ts,
    /// When the condition stopped holding; `None` while it still holds.
    pub cleared_at: Option<Ts>,
    pub acknowledged: Option<Ack>,
}

/// An operator's raise or lower of a manual trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualNote {
    pub at: Ts,
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(with = "num")]
    pub value: f64,
    pub at: Ts,
}

/// Per-stage numbers; [`TriggerState::reset_stage`] starts them again. The accessors on
/// `TriggerState` add the streak in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct History {
    pub stage_started: Option<Ts>,
    /// Streaks started this stage (a streak in progress at the stage change counts as one).
    pub breaches: u32,
    pub fired: u32,
    /// Of streaks that ended this stage (their part in this stage).
    pub longest_streak_ms: i64,
    pub total_breach_ms: i64,
    pub last_fired_at: Option<Ts>,
    pub last_cleared_at: Option<Ts>,
}

/// Where a trigger stands, for display and decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Inactive,
    Pending { since: Ts },
    Firing { since: Ts, cleared_at: Option<Ts>, acknowledged: bool },
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Inactive => "inactive",
            Phase::Pending { .. } => "pending",
            Phase::Firing { .. } => "firing",
        }
    }

    pub fn is_firing(self) -> bool {
        matches!(self, Phase::Firing { .. })
    }
}

/// Why a streak ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearCause {
    /// A good evaluation.
    Recovered,
    /// No data under the `Reset` policy.
    NoData,
    /// An error or stale reading under the `Reset` policy.
    Error,
}

impl ClearCause {
    pub fn label(self) -> &'static str {
        match self {
            ClearCause::Recovered => "recovered",
            ClearCause::NoData => "no data (policy: reset)",
            ClearCause::Error => "error (policy: reset)",
        }
    }
}

/// What happened to a trigger, for the log, the bell and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TriggerEvent {
    /// A breach streak began. `while_firing`: the trigger was firing (cleared, unacknowledged) and breaches again.
    Pending {
        at: Ts,
        while_firing: bool,
    },
    /// The breach held for the trigger's duration. Ring the bell once.
    Fired {
        at: Ts,
        after_ms: i64,
    },
    /// A firing trigger's condition stopped holding. `inactive`: it was acknowledged, so it is now
    /// inactive; otherwise it stays firing (cleared) until acknowledged.
    Cleared {
        at: Ts,
        firing_since: Ts,
        cause: ClearCause,
        inactive: bool,
    },
    /// A pending streak ended before the trigger fired.
    Reset {
        at: Ts,
        after_ms: i64,
        cause: ClearCause,
    },
    Acknowledged {
        at: Ts,
        by: String,
        still_breaching: bool,
    },
    /// A manual trigger was raised: it fires at once. Ring the bell.
    Raised {
        at: Ts,
        by: String,
        reason: String,
    },
    /// A manual trigger was lowered: it is inactive again.
    Lowered {
        at: Ts,
        by: String,
        reason: String,
    },
}

impl TriggerEvent {
    /// Whether the cockpit should ring the bell for this event (once per firing).
    pub fn rings_bell(&self) -> bool {
        matches!(self, TriggerEvent::Fired { .. } | TriggerEvent::Raised { .. })
    }

    pub fn at(&self) -> Ts {
        match self {
            TriggerEvent::Pending { at, .. }
            | TriggerEvent::Fired { at, .. }
            | TriggerEvent::Cleared { at, .. }
            | TriggerEvent::Reset { at, .. }
            | TriggerEvent::Acknowledged { at, .. }
            | TriggerEvent::Raised { at, .. }
            | TriggerEvent::Lowered { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error("no trigger #{0}")]
    Unknown(usize),
    #[error("trigger {0:?} is not manual: only manual triggers are raised and lowered")]
    NotManual(String),
    #[error("trigger {0:?}: say why; a reason is required")]
    NoReason(String),
    #[error("trigger {name:?} is already raised (by {by}: {reason})")]
    AlreadyRaised { name: String, by: String, reason: String },
    #[error("trigger {0:?} is not raised; nothing to lower")]
    NotRaised(String),
    #[error("trigger {0:?} is not firing; nothing to acknowledge")]
    NotFiring(String),
    #[error("trigger {name:?} is already acknowledged by {by}; it goes back to inactive when it clears")]
    AlreadyAcknowledged { name: String, by: String },
}

/// The state of one trigger. Serializable with timestamps, so it survives a restart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TriggerState {
    #[serde(default)]
    pub streak: Option<Streak>,
    #[serde(default)]
    pub firing: Option<Firing>,
    /// Set while a manual trigger is raised.
    #[serde(default)]
    pub raised: Option<ManualNote>,
    #[serde(default)]
    pub last_lowered: Option<ManualNote>,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    #[serde(default)]
    pub history: History,
    #[serde(default)]
    pub recent: VecDeque<Seen>,
    #[serde(default)]
    pub last_eval: Option<Ts>,
    /// The `now` of the call that fired the trigger, until a call at a later `now`. Not persisted,
    /// so a restart never repeats an automatic rollback.
    #[serde(skip)]
    pub just_fired: Option<Ts>,
}

impl TriggerState {
    pub fn new() -> Self {
        TriggerState::default()
    }

    pub fn phase(&self) -> Phase {
        match (&self.firing, &self.streak) {
            (Some(f), _) => {
                Phase::Firing { since: f.since, cleared_at: f.cleared_at, acknowledged: f.acknowledged.is_some() }
            }
            (None, Some(s)) => Phase::Pending { since: s.since },
            (None, None) => Phase::Inactive,
        }
    }

    /// Fired by a call at the latest `now` this state has seen (and not acknowledged since).
    pub fn just_fired(&self) -> bool {
        self.just_fired.is_some()
    }

    /// The streak is paused by a `Hold` policy.
    pub fn is_held(&self) -> bool {
        self.streak.is_some_and(|s| s.held_since.is_some())
    }

    /// Breach time of the current streak at `now`: what the evaluations counted, plus the time since
    /// the last breaching evaluation unless held (so a countdown moves between evaluations; only an
    /// evaluation fires). Zero without a streak.
    pub fn elapsed_ms(&self, now: Ts) -> i64 {
        match self.streak {
            None => 0,
            Some(s) if s.held_since.is_some() => s.elapsed_ms,
            Some(s) => s.elapsed_ms + (now.0 - s.last_breach_at.0).max(0),
        }
    }

    /// Streaks started this stage, the one in progress included.
    pub fn breaches(&self) -> u32 {
        self.history.breaches
    }

    /// The longest breach streak this stage, the one in progress included.
    pub fn longest_streak_ms(&self, now: Ts) -> i64 {
        self.history.longest_streak_ms.max(self.current_stage_part(now))
    }

    /// Total breach time this stage, the streak in progress included.
    pub fn total_breach_ms(&self, now: Ts) -> i64 {
        self.history.total_breach_ms + self.current_stage_part(now)
    }

    fn current_stage_part(&self, now: Ts) -> i64 {
        self.streak.map_or(0, |s| (self.elapsed_ms(now) - s.stage_offset_ms).max(0))
    }

    /// The latest reading, for the reason view.
    pub fn last_seen(&self) -> Option<&Seen> {
        self.recent.back()
    }

    /// Starts a new stage: the per-stage history begins again (a streak in progress carries on and
    /// counts as this stage's first breach, with only its time from here on), and the baseline is
    /// dropped so the next valid reading recaptures it. Firing, acknowledgement and a raised manual
    /// trigger are untouched.
    pub fn reset_stage(&mut self, now: Ts) {
        self.history = History { stage_started: Some(now), ..History::default() };
        if let Some(s) = &mut self.streak {
            s.stage_offset_ms = s.elapsed_ms;
            self.history.breaches = 1;
        }
        self.baseline = None;
    }

    /// Sets the baseline a `Reference::Baseline` condition compares with.
    pub fn set_baseline(&mut self, value: f64, at: Ts) {
        self.baseline = Some(Baseline { value, at });
    }

    fn expire_just_fired(&mut self, now: Ts) {
        if self.just_fired.is_some_and(|t| t < now) {
            self.just_fired = None;
        }
    }

    /// Applies one evaluation's sample at `now` under `spec`'s policies.
    ///
    /// For a manual trigger the sample is ignored: a raised trigger's breach time moves on.
    pub fn apply(&mut self, spec: &TriggerSpec, sample: Sample, now: Ts) -> Vec<TriggerEvent> {
        self.expire_just_fired(now);
        self.last_eval = Some(now);
        let mut events = Vec::new();
        if spec.is_manual() {
            if let Some(s) = &mut self.streak {
                s.elapsed_ms += (now.0 - s.last_breach_at.0).max(0);
                s.last_breach_at = s.last_breach_at.max(now);
            }
            return events;
        }
        let (effect, policy, cause) = match sample.verdict() {
            Verdict::Breach => (Effect::Breach, None, ClearCause::Recovered),
            Verdict::Ok => (Effect::Clear, None, ClearCause::Recovered),
            Verdict::NoData => (effect_of(spec.no_data), Some(spec.no_data), ClearCause::NoData),
            Verdict::Error => (effect_of(spec.on_error), Some(spec.on_error), ClearCause::Error),
        };
        self.remember(now, sample, effect, policy);
        match effect {
            Effect::Breach => self.breach(spec, now, &mut events),
            Effect::Hold => {
                if let Some(s) = &mut self.streak {
                    s.held_since.get_or_insert(now);
                }
            }
            Effect::Clear => self.end_streak(now, cause, &mut events),
        }
        events
    }

    fn remember(&mut self, now: Ts, sample: Sample, effect: Effect, policy: Option<Policy>) {
        if let Some(last) = self.recent.back_mut()
            && last.sample == sample
            && last.effect == effect
            && last.policy == policy
        {
            last.last_at = last.last_at.max(now);
            last.count = last.count.saturating_add(1);
            return;
        }
        if self.recent.len() >= RECENT_LEN {
            self.recent.pop_front();
        }
        self.recent.push_back(Seen { at: now, last_at: now, count: 1, sample, effect, policy });
    }

    fn breach(&mut self, spec: &TriggerSpec, now: Ts, events: &mut Vec<TriggerEvent>) {
        let started = match &mut self.streak {
            None => {
                self.streak = Some(Streak {
                    since: now,
                    elapsed_ms: 0,
                    last_breach_at: now,
                    held_since: None,
                    stage_offset_ms: 0,
                });
                self.history.breaches += 1;
                true
            }
            Some(s) => {
                if s.held_since.is_none() {
                    s.elapsed_ms += (now.0 - s.last_breach_at.0).max(0);
                }
                s.held_since = None;
                s.last_breach_at = s.last_breach_at.max(now);
                false
            }
        };
        let elapsed = self.streak.map_or(0, |s| s.elapsed_ms);
        match &mut self.firing {
            None if elapsed >= spec.for_ms => {
                self.firing = Some(Firing { since: now, cleared_at: None, acknowledged: None });
                self.history.fired += 1;
                self.history.last_fired_at = Some(now);
                self.just_fired = Some(now);
                events.push(TriggerEvent::Fired { at: now, after_ms: elapsed });
            }
            None => {
                if started {
                    events.push(TriggerEvent::Pending { at: now, while_firing: false });
                }
            }
            Some(f) => {
                if started {
                    f.cleared_at = None;
                    events.push(TriggerEvent::Pending { at: now, while_firing: true });
                }
            }
        }
    }

    fn end_streak(&mut self, now: Ts, cause: ClearCause, events: &mut Vec<TriggerEvent>) {
        let Some(s) = self.streak.take() else { return };
        let part = (s.elapsed_ms - s.stage_offset_ms).max(0);
        self.history.total_breach_ms += part;
        self.history.longest_streak_ms = self.history.longest_streak_ms.max(part);
        match &mut self.firing {
            Some(f) => {
                self.history.last_cleared_at = Some(now);
                let firing_since = f.since;
                let inactive = f.acknowledged.is_some();
                if inactive {
                    self.firing = None;
                } else {
                    f.cleared_at = Some(now);
                }
                events.push(TriggerEvent::Cleared { at: now, firing_since, cause, inactive });
            }
            None => events.push(TriggerEvent::Reset { at: now, after_ms: s.elapsed_ms, cause }),
        }
    }

    /// Acknowledges a firing trigger.
    ///
    /// * Cleared (the condition no longer holds): the trigger returns to inactive.
    /// * Still breaching (or a manual trigger still raised): it stays firing, marked acknowledged,
    ///   and returns to inactive by itself when the condition clears (or the trigger is lowered); no
    ///   second acknowledgement is needed. It no longer counts for automatic rollback.
    pub fn acknowledge(&mut self, spec: &TriggerSpec, now: Ts, by: &str) -> Result<Vec<TriggerEvent>, TriggerError> {
        let Some(f) = &mut self.firing else {
            return Err(TriggerError::NotFiring(spec.name.clone()));
        };
        if let Some(a) = &f.acknowledged {
            return Err(TriggerError::AlreadyAcknowledged { name: spec.name.clone(), by: a.by.clone() });
        }
        let still_breaching = f.cleared_at.is_none();
        if still_breaching {
            f.acknowledged = Some(Ack { at: now, by: by.to_string() });
        } else {
            self.firing = None;
        }
        self.just_fired = None;
        Ok(vec![TriggerEvent::Acknowledged { at: now, by: by.to_string(), still_breaching }])
    }

    /// Raises a manual trigger: it fires at once (whatever `for_ms` says) and stays firing until lowered.
    pub fn raise(
        &mut self,
        spec: &TriggerSpec,
        now: Ts,
        by: &str,
        reason: &str,
    ) -> Result<Vec<TriggerEvent>, TriggerError> {
        if !spec.is_manual() {
            return Err(TriggerError::NotManual(spec.name.clone()));
        }
        if let Some(r) = &self.raised {
            return Err(TriggerError::AlreadyRaised {
                name: spec.name.clone(),
                by: r.by.clone(),
                reason: r.reason.clone(),
            });
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(TriggerError::NoReason(spec.name.clone()));
        }
        let note = ManualNote { at: now, by: by.to_string(), reason: reason.to_string() };
        self.expire_just_fired(now);
        self.raised = Some(note);
        self.streak =
            Some(Streak { since: now, elapsed_ms: 0, last_breach_at: now, held_since: None, stage_offset_ms: 0 });
        self.history.breaches += 1;
        self.history.fired += 1;
        self.history.last_fired_at = Some(now);
        self.firing = Some(Firing { since: now, cleared_at: None, acknowledged: None });
        self.just_fired = Some(now);
        Ok(vec![TriggerEvent::Raised { at: now, by: by.to_string(), reason: reason.to_string() }])
    }

    /// Lowers a raised manual trigger. The operator who lowers it has seen it, so lowering also
    /// acknowledges: the trigger is inactive at once.
    pub fn lower(
        &mut self,
        spec: &TriggerSpec,
        now: Ts,
        by: &str,
        reason: &str,
    ) -> Result<Vec<TriggerEvent>, TriggerError> {
        if !spec.is_manual() {
            return Err(TriggerError::NotManual(spec.name.clone()));
        }
        if self.raised.is_none() {
            return Err(TriggerError::NotRaised(spec.name.clone()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(TriggerError::NoReason(spec.name.clone()));
        }
        if let Some(s) = &mut self.streak {
            s.elapsed_ms += (now.0 - s.last_breach_at.0).max(0);
            s.last_breach_at = s.last_breach_at.max(now);
        }
        let mut ignored = Vec::new();
        self.end_streak(now, ClearCause::Recovered, &mut ignored);
        self.firing = None;
        self.raised = None;
        self.just_fired = None;
        self.last_lowered = Some(ManualNote { at: now, by: by.to_string(), reason: reason.to_string() });
        Ok(vec![TriggerEvent::Lowered { at: now, by: by.to_string(), reason: reason.to_string() }])
    }
}

fn effect_of(policy: Policy) -> Effect {
    match policy {
        Policy::Hold => Effect::Hold,
        Policy::Reset => Effect::Clear,
        Policy::Breach => Effect::Breach,
    }
}

//! The traffic stage machine: which share of traffic blue gets, when it may get more, and the
//! way back.
//!
//! Pure: every operation is a method `(&state, op…, now) -> Result<(new state, effects), Refusal>`
//! that never touches the outside world. Moving real traffic is an [`Effect::SetWeights`] the app
//! hands to the actuators; what they report comes back as [`TrafficState::applied`] or
//! [`TrafficState::apply_failed`].
//!
//! The life of one go-live:
//!
//! ```text
//!  0% ──advance──▶ 10% ──soak 30m──▶ 25% ─▶ 50% ─▶ 75% ─▶ 100% ──24h stabilization──▶ decommission green
//!   ▲                                                      │
//!   └──────────── rollback (any time, any state) ◀─────────┘  then: the rollback procedure, resume
//! ```
//!
//! Decisions:
//! - **An advance is recorded only once the router confirmed it.** `advance` leaves the split as it
//!   was and marks the move *pending*; `applied` commits it (and starts the soak clock then, when
//!   traffic really moved); `apply_failed` drops it. A failed actuator never changes the stage.
//! - **A rollback is recorded at once.** Intent to leave blue must survive a crash; the procedure's
//!   "route traffic" step ticks when the actuator confirms, so the screen says whether green really
//!   has everything.
//! - **Gates**: the controls held, the router agreeing with the record (drift), every gating SLO
//!   of blue ok, no trigger pending or firing, the soak passed, the target stage's runbook gate
//!   tasks done. All but two can be overridden with a reason that meets the [`OverrideRule`],
//!   which is recorded with exactly the gates it overrode. *Controls* and *drift* cannot: the
//!   first says who drives, the second that cutover does not know where traffic is; the way past
//!   them is taking the controls, or setting the router back or adopting its split.
//! - **Soak on healthy time** (see [`SoakClock`]): by default only time in which blue was seen
//!   healthy counts, from timestamped observations, so a restart shows the same figure.
//! - **Forward only**: one stage at a time, or straight to an explicit `to` that is a configured
//!   stage above the current one. Going back is a rollback.
//! - After a rollback, `advance` is refused until the rollback procedure is complete and the
//!   operator `resume`s with a reason; the go-live then starts again from 0 %.
//! - Weights are the percentages themselves: blue `p`, green `100 - p` (HAProxy's `get weight`
//!   then reads like the stage, and every split is exact within HAProxy's 0–256).

mod confirm;
mod interrupted;
mod reconcile;
mod rollback;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::cockpit::Level;
use super::env::Weights;
use super::time::Ts;

pub use confirm::{Confirmation, confirm, expected_confirmation};
pub use interrupted::{Verdict, describe};
pub use reconcile::{Drift, reconcile, same_split};
pub use rollback::{RollbackProcedure, RollbackStep, StepKind, TickedBy, VERIFY_WINDOW_MS};

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;

/// One traffic split and how long it must hold before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub blue_percent: u8,
    pub soak_ms: i64,
}

/// The configured stages and the stabilization window after the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficSpec {
    pub stages: Vec<Stage>,
    pub stabilization_ms: i64,
}

impl Default for TrafficSpec {
    /// 10, 25, 50, 75, 100 % with 30 minute soaks, then 24 hours of stabilization.
    fn default() -> Self {
        TrafficSpec {
            stages: [10, 25, 50, 75, 100]
                .into_iter()
                .map(|p| Stage { blue_percent: p, soak_ms: 30 * MINUTE_MS })
                .collect(),
            stabilization_ms: 24 * HOUR_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("no traffic stages; give at least one, e.g. 10, 25, 50, 75, 100")]
    Empty,
    #[error("stage {index}: {percent}% is not between 1 and 100")]
    OutOfRange { index: usize, percent: u8 },
    #[error("stage {index}: {percent}% does not rise above the stage before it ({previous}%); stages must increase")]
    NotIncreasing { index: usize, percent: u8, previous: u8 },
    #[error("the last stage is {0}%; a go-live ends with 100% on blue, add a 100% stage")]
    LastNotFull(u8),
    #[error("stage {index}: the soak time is negative")]
    NegativeSoak { index: usize },
    #[error("the stabilization window is negative")]
    NegativeStabilization,
}

impl TrafficSpec {
    /// Stages strictly increasing within 1–100 %, the last at 100 %, no negative durations.
    /// Stage numbers in messages are 1-based.
    pub fn validate(&self) -> Result<(), SpecError> {
        let last = self.stages.last().ok_or(SpecError::Empty)?;
        let mut previous = 0;
        for (i, s) in self.stages.iter().enumerate() {
            let index = i + 1;
            if !(1..=100).contains(&s.blue_percent) {
                return Err(SpecError::OutOfRange { index, percent: s.blue_percent });
            }
            if s.blue_percent <= previous {
                return Err(SpecError::NotIncreasing { index, percent: s.blue_percent, previous });
            }
            if s.soak_ms < 0 {
                return Err(SpecError::NegativeSoak { index });
            }
            previous = s.blue_percent;
        }
        if last.blue_percent != 100 {
            return Err(SpecError::LastNotFull(last.blue_percent));
        }
        if self.stabilization_ms < 0 {
            return Err(SpecError::NegativeStabilization);
        }
        Ok(())
    }

    pub fn percents(&self) -> Vec<u8> {
        self.stages.iter().map(|s| s.blue_percent).collect()
    }

    /// Index of the stage sending `percent` to blue.
    pub fn position(&self, percent: u8) -> Option<usize> {
        self.stages.iter().position(|s| s.blue_percent == percent)
    }
}

/// The weights that send `blue_percent` of the traffic to blue: blue `p`, green `100 - p`.
pub fn weights_for(blue_percent: u8) -> Weights {
    let p = u32::from(blue_percent.min(100));
    Weights { blue: p, green: 100 - p }
}

/// A condition that must hold before traffic moves forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    /// The current stage has not soaked long enough.
    Soak { remaining_ms: i64 },
    /// Triggers are firing.
    Triggers { firing: Vec<String> },
    /// Runbook gate tasks of the target stage are not done.
    Tasks { open: Vec<String> },
    /// This operator does not hold the controls. Never overridable.
    Controls,
    /// Gating SLOs of blue that are not ok (breach, no data, error, stale).
    Slo { failing: Vec<SloFailure> },
    /// Triggers on their way to firing: `err>5% 10m pending 2:13, fires in 7:47`.
    Pending { pending: Vec<String> },
    /// The router reports another split than the recorded one, cannot be read, or a change was
    /// interrupted. Never overridable: resolve it first (set the router back, or adopt its split).
    Drift { detail: String },
}

/// One gating SLO of blue that is not ok, as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SloFailure {
    /// `blue error rate`
    pub what: String,
    /// `breach`, `no data`, `error`, `stale`
    pub state: String,
    /// `5.03% breaches < 1%`, `no data`, `error: HTTP 401`, `stale: last read 42s ago`
    pub detail: String,
}

impl fmt::Display for SloFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.what, self.detail)
    }
}

impl SloFailure {
    /// `blue error rate breach`, for the header.
    pub fn short(&self) -> String {
        format!("{} {}", self.what, self.state)
    }
}

impl Gate {
    pub fn overridable(&self) -> bool {
        !matches!(self, Gate::Controls | Gate::Drift { .. })
    }

    /// The gate's kind as `status --json` and the audit name it: `slo`, `soak`, …
    pub fn kind(&self) -> &'static str {
        match self {
            Gate::Soak { .. } => "soak",
            Gate::Triggers { .. } => "triggers",
            Gate::Tasks { .. } => "tasks",
            Gate::Controls => "controls",
            Gate::Slo { .. } => "slo",
            Gate::Pending { .. } => "pending",
            Gate::Drift { .. } => "drift",
        }
    }

    /// A few words for the header: `blue error rate breach`, `drift`.
    pub fn short(&self) -> String {
        match self {
            Gate::Slo { failing } => {
                let mut s = failing.first().map(SloFailure::short).unwrap_or_default();
                if failing.len() > 1 {
                    s.push_str(&format!(" (+{})", failing.len() - 1));
                }
                s
            }
            Gate::Pending { pending } => {
                let first = pending.first().and_then(|p| p.split(" pending").next()).unwrap_or("trigger");
                format!("{first} pending")
            }
            Gate::Drift { .. } => "drift".into(),
            Gate::Triggers { firing } => format!("{} firing", first_and_more(firing)),
            Gate::Tasks { open } => format!("gate tasks open: {}", first_and_more(open)),
            Gate::Soak { remaining_ms } => format!("soak {} left", format_countdown(*remaining_ms)),
            Gate::Controls => "controls not held".into(),
        }
    }
}

/// One gate of an advance, passed or not, with what it saw: the advance dialog's ✓/✗ lines and
/// `status --json`'s `stage.gates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateCheck {
    pub gate: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::Soak { remaining_ms } => write!(f, "soak not over ({} left)", format_countdown(*remaining_ms)),
            Gate::Triggers { firing } => write!(f, "trigger firing: {}", firing.join(", ")),
            Gate::Tasks { open } => write!(f, "gate tasks open: {}", open.join(", ")),
            Gate::Controls => f.write_str("controls not held"),
            Gate::Slo { failing } => {
                let list: Vec<String> = failing.iter().map(ToString::to_string).collect();
                write!(f, "SLO not ok: {}", list.join("; "))
            }
            Gate::Pending { pending } => write!(f, "trigger pending: {}", pending.join("; ")),
            Gate::Drift { detail } => write!(f, "drift: {detail}"),
        }
    }
}

/// `T1212 (+4)`: the first of a list and how many more, for the header.
fn first_and_more(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (+{})", rest.len()),
    }
}

fn list(gates: &[Gate]) -> String {
    gates.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// What the outside world says about the gates at the moment of an advance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateInputs {
    /// Names of the triggers firing now.
    pub firing_triggers: Vec<String>,
    /// IDs of the runbook gate tasks of the *target* stage that are not done
    /// (see [`TrafficState::resolve_target`] to learn the target first).
    pub open_gate_tasks: Vec<String>,
    /// Whether the operator asking holds the controls lease.
    pub controls_held: bool,
    /// Gating SLOs of blue that are not ok, as the screen shows them.
    pub slo_failing: Vec<SloFailure>,
    /// How many SLOs gate.
    pub slo_gating: usize,
    /// Gating SLOs with no data that pass because blue has no traffic yet (before the first stage).
    pub slo_no_traffic: Vec<String>,
    /// Triggers pending: `err>5% 10m pending 2:13, fires in 7:47`.
    pub pending_triggers: Vec<String>,
    /// Why the router's split cannot be trusted: drift, unreadable, a change interrupted.
    pub drift: Option<String>,
    /// The router's split as last read (`10/90`), for the drift gate's ✓ line.
    pub router: Option<String>,
    /// What an override reason must look like.
    pub override_rule: OverrideRule,
}

impl GateInputs {
    /// Nothing firing, nothing open, controls held.
    pub fn clear() -> Self {
        GateInputs { controls_held: true, ..Default::default() }
    }

    /// Why blue is not healthy for the soak, in a few words (`blue error rate breach`): a gating
    /// SLO not ok, or a trigger pending. `None`: healthy.
    pub fn unhealthy(&self) -> Option<String> {
        if let Some(f) = self.slo_failing.first() {
            return Some(Gate::Slo { failing: vec![f.clone()] }.short());
        }
        (!self.pending_triggers.is_empty()).then(|| Gate::Pending { pending: self.pending_triggers.clone() }.short())
    }
}

/// What an override reason must be: at least `min_chars` characters, or, when `pattern` is set,
/// matching it (a regex such as `^[A-Z]+-[0-9]+`, a change ticket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideRule {
    pub min_chars: usize,
    pub pattern: Option<String>,
}

impl Default for OverrideRule {
    fn default() -> Self {
        OverrideRule { min_chars: 10, pattern: None }
    }
}

impl OverrideRule {
    /// `Err(why)` when `reason` (trimmed) does not meet the rule.
    pub fn check(&self, reason: &str) -> Result<(), String> {
        let reason = reason.trim();
        if let Some(p) = &self.pattern {
            let re = regex::Regex::new(p).map_err(|e| format!("override_pattern {p:?} is not a regex: {e}"))?;
            return if re.is_match(reason) {
                Ok(())
            } else {
                Err(format!("the override reason {reason:?} does not match override_pattern {p:?}"))
            };
        }
        let n = reason.chars().count();
        if n < self.min_chars {
            return Err(format!(
                "the override reason {reason:?} has {n} characters; say why in at least {} (override_min_chars)",
                self.min_chars
            ));
        }
        Ok(())
    }
}

/// What counts as soak time: time blue was seen healthy (the default), or wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoakOn {
    #[default]
    Healthy,
    Wall,
}

/// With `soak_on = "healthy"`: unhealthy time does not count (`pause`), or any unhealthy
/// evaluation starts the soak again (`restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoakReset {
    #[default]
    Pause,
    Restart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoakPolicy {
    pub on: SoakOn,
    pub reset: SoakReset,
    /// Two observations further apart than this leave the time between them uncounted: nobody
    /// watched it (cutover was not running). The SLI window: a reading judges that much past.
    pub max_gap_ms: i64,
}

impl Default for SoakPolicy {
    fn default() -> Self {
        SoakPolicy { on: SoakOn::Healthy, reset: SoakReset::Pause, max_gap_ms: MINUTE_MS }
    }
}

/// Healthy-time accounting of the current stage's soak, driven by timestamped observations
/// ([`TrafficState::observe_soak`]) and kept in the state, so a restart shows the same figure.
/// The time between two observations counts when blue was healthy at both and they are at most
/// [`SoakPolicy::max_gap_ms`] apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoakClock {
    /// Healthy time counted in the current stage.
    pub healthy_ms: i64,
    /// The last observation: when, and whether blue was healthy.
    pub last: Option<(Ts, bool)>,
    /// Since when, and why, blue is not healthy: the soak is paused (or will restart).
    pub unhealthy: Option<(Ts, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    Advance,
    Rollback,
    /// A new attempt after a completed rollback procedure (0 % → 0 %).
    Resume,
    /// The router's split recorded as the stage, after it was changed outside cutover.
    Adopt,
}

/// One change of the split, as it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub kind: MoveKind,
    pub from: u8,
    pub to: u8,
    /// When the router confirmed an advance; when a rollback or resume was ordered.
    pub at: Ts,
    pub by: String,
    /// The override reason, rollback reason or resume reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// The gates that were failing and overridden, with their state at the time.
    #[serde(default)]
    pub overridden: Vec<Gate>,
}

/// A change handed to the actuators and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMove {
    pub seq: u64,
    pub kind: MoveKind,
    pub from: u8,
    pub to: u8,
    /// Index of the target stage; `None` for a rollback.
    pub stage: Option<usize>,
    pub requested_at: Ts,
    pub by: String,
    pub reason: Option<String>,
    pub overridden: Vec<Gate>,
    /// How the gates stood when it was asked for: `soak 30m00s passed, 0 triggers` or
    /// `OVERRIDE …: "reason"`.
    #[serde(default)]
    pub gates: String,
}

/// What an advance would do, for the confirmation dialog: `25% → 50%`, the weights, and the gates
/// that fail (an advance with failing gates needs an override reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub from: u8,
    pub to: u8,
    /// Index of the target stage.
    pub stage: usize,
    pub weights: Weights,
    /// Configured stages jumped over by an explicit target.
    pub skipped: Vec<u8>,
    pub failing: Vec<Gate>,
    /// Every gate, passed or failed, in the order the dialog lists them.
    pub checks: Vec<GateCheck>,
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}% → {}%", self.from, self.to)
    }
}

impl Preview {
    /// The confirmation the operator must type for this move.
    pub fn confirmation(&self) -> Confirmation {
        Confirmation::Stage(self.to)
    }
}

/// What the machine asks the outside world to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Move traffic. Report the outcome with `applied(seq, …)` or `apply_failed(seq, …)`.
    /// `stage` is the 1-based stage number of the target, `0` before the first, `rollback` for a
    /// rollback (the actuators' `{stage}` placeholder).
    SetWeights { seq: u64, weights: Weights, stage: String },
    /// A line for the audit log.
    Audit(Level, String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("cannot advance to {to}%: {}; override with a reason to go anyway", list(.failing))]
    Gates { to: u8, failing: Vec<Gate> },
    #[error("an override needs a reason: say why it is fine to go to {to}% although {}", list(.failing))]
    EmptyReason { to: u8, failing: Vec<Gate> },
    #[error("you do not hold the controls; take them before moving traffic (an override cannot replace them)")]
    ControlsNotHeld,
    #[error("cannot advance: drift: {detail}; resolve it first — set the router back to the recorded split, or adopt the router's split — an override cannot replace this{}", others_text(.others))]
    Drift { detail: String, others: Vec<Gate> },
    #[error("cannot advance to {to}% with this override: {why}")]
    WeakReason { to: u8, why: String },
    #[error(
        "the router's split {router} is no configured stage (nearest: {nearest}%, which is {expected}); set it to a stage first or set the router back"
    )]
    AdoptNoStage { router: String, nearest: u8, expected: String },
    #[error("the router already has the recorded split ({0}); nothing to adopt")]
    NothingToAdopt(String),
    #[error("traffic was rolled back; the router should send everything to green: roll back again rather than adopt")]
    AdoptRolledBack,
    #[error("adopting the router's split needs a reason")]
    AdoptNeedsReason,
    #[error("{requested}% is not a configured stage (stages: {})", percents(.stages))]
    NotAStage { requested: u8, stages: Vec<u8> },
    #[error("{requested}% is not ahead of the current {current}%: stages only move forward; to go back, roll back")]
    NotForward { current: u8, requested: u8 },
    #[error("already at the last stage ({0}%)")]
    AtLastStage(u8),
    #[error("traffic was rolled back; finish the rollback procedure and resume before advancing again")]
    RolledBack,
    #[error("{from}% → {to}% is still being applied; wait until the router confirms or fails")]
    InFlight { from: u8, to: u8 },
    #[error("no change #{0} is waiting for the router (already settled or superseded by a rollback)")]
    UnknownChange(u64),
    #[error("no rollback is in progress")]
    NoRollback,
    #[error("\"{}\" ticks itself when the router confirms the weights", .0.label())]
    StepTicksItself(StepKind),
    #[error("\"{}\" is already done", .0.label())]
    StepDone(StepKind),
    #[error("the rollback procedure is still open: {}", steps(.0))]
    ProcedureOpen(Vec<StepKind>),
    #[error("resuming after a rollback needs a reason")]
    ResumeNeedsReason,
    #[error("the rollback's reason is not given yet: give it first, then document it")]
    RollbackNeedsReason,
}

fn others_text(others: &[Gate]) -> String {
    if others.is_empty() { String::new() } else { format!(" (also failing: {})", list(others)) }
}

fn percents(p: &[u8]) -> String {
    p.iter().map(|p| format!("{p}%")).collect::<Vec<_>>().join(", ")
}

fn steps(s: &[StepKind]) -> String {
    s.iter().map(|k| k.label()).collect::<Vec<_>>().join(", ")
}

/// The persisted state of the traffic split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficState {
    /// The stages this go-live runs with, fixed when it began (compare with the configuration on
    /// start-up: a changed config should not silently re-index a running go-live).
    pub spec: TrafficSpec,
    /// Blue's share as cutover last confirmed it (or ordered it, for a rollback).
    pub blue_percent: u8,
    /// Index of the current stage; `None` before the first stage (and after a rollback).
    pub stage: Option<usize>,
    /// When the current split took effect: the soak and stabilization clocks run from here.
    pub stage_started: Option<Ts>,
    pub history: Vec<HistoryEntry>,
    #[serde(default)]
    pub pending: Option<PendingMove>,
    /// A change found still in flight when cutover started: the process applying it died between
    /// the actuator call and saving the outcome. Shown until the router's reading settles it or
    /// the operator retries, reverts or rolls back (see `interrupted`).
    #[serde(default)]
    pub interrupted: Option<PendingMove>,
    /// The rollback in progress, if traffic was rolled back.
    #[serde(default)]
    pub rollback: Option<RollbackProcedure>,
    /// Rollback procedures closed by a resume.
    #[serde(default)]
    pub past_rollbacks: Vec<RollbackProcedure>,
    /// The next change's sequence number.
    pub next_seq: u64,
    /// How the soak is counted (from the config; older state files load the default).
    #[serde(default)]
    pub soak_policy: SoakPolicy,
    /// The current stage's healthy soak time.
    #[serde(default)]
    pub soak_clock: SoakClock,
}

impl TrafficState {
    /// Before the first stage: 0 % on blue.
    pub fn new(spec: TrafficSpec) -> Self {
        TrafficState {
            spec,
            blue_percent: 0,
            stage: None,
            stage_started: None,
            history: Vec::new(),
            pending: None,
            interrupted: None,
            rollback: None,
            past_rollbacks: Vec::new(),
            next_seq: 1,
            soak_policy: SoakPolicy::default(),
            soak_clock: SoakClock::default(),
        }
    }

    pub fn is_rolled_back(&self) -> bool {
        self.rollback.is_some()
    }

    /// The weights the router should have now.
    pub fn expected_weights(&self) -> Weights {
        weights_for(self.blue_percent)
    }

    /// The stage after the current one: `(index, stage)`. `None` at the last stage and while
    /// rolled back.
    pub fn next_stage(&self) -> Option<(usize, Stage)> {
        if self.is_rolled_back() {
            return None;
        }
        let i = self.stage.map_or(0, |i| i + 1);
        self.spec.stages.get(i).map(|s| (i, *s))
    }

    /// Milliseconds until the current stage has soaked (0 once it has). `None` before the first
    /// stage and while rolled back, where no soak applies.
    pub fn soak_remaining(&self, now: Ts) -> Option<i64> {
        if self.is_rolled_back() {
            return None;
        }
        let stage = self.spec.stages.get(self.stage?)?;
        let started = self.stage_started?;
        Some(match self.soak_policy.on {
            SoakOn::Wall => (started.0 + stage.soak_ms - now.0).max(0),
            SoakOn::Healthy => (stage.soak_ms - self.soak_clock.healthy_ms).max(0),
        })
    }

    /// Blue as seen at `now`: healthy (`None`) or not, and why (`Some("blue error rate breach")`).
    /// Counts healthy time toward the soak (see [`SoakClock`]); returns whether blue's health
    /// changed since the last observation (worth saving and saying).
    pub fn observe_soak(&mut self, unhealthy: Option<String>, now: Ts) -> bool {
        let healthy = unhealthy.is_none();
        let clock = &mut self.soak_clock;
        let was = clock.last.map(|(_, h)| h);
        let counting = self.soak_policy.on == SoakOn::Healthy
            && self.stage.is_some()
            && self.rollback.is_none()
            && self.pending.is_none();
        if counting {
            if let Some((at, true)) = clock.last {
                let gap = now.0 - at.0;
                if healthy && gap > 0 && gap <= self.soak_policy.max_gap_ms {
                    clock.healthy_ms += gap;
                }
            }
            if !healthy && self.soak_policy.reset == SoakReset::Restart {
                clock.healthy_ms = 0;
            }
        }
        if clock.last.is_none_or(|(at, _)| now >= at) {
            clock.last = Some((now, healthy));
        }
        clock.unhealthy = match (unhealthy, clock.unhealthy.take()) {
            (None, _) => None,
            (Some(why), Some((since, _))) => Some((since, why)),
            (Some(why), None) => Some((now, why)),
        };
        was != Some(healthy)
    }

    /// Why the soak is not counting now and since when: `Some((14:02:11, "blue error rate
    /// breach"))` while blue is unhealthy in a soak on healthy time that has not passed.
    pub fn soak_paused(&self, now: Ts) -> Option<(Ts, String)> {
        if self.soak_policy.on != SoakOn::Healthy || self.soak_remaining(now).is_none_or(|ms| ms == 0) {
            return None;
        }
        self.soak_clock.unhealthy.clone()
    }

    /// A new stage (or none): its soak starts from nothing; blue's last known health stays.
    fn restart_soak(&mut self) {
        self.soak_clock.healthy_ms = 0;
        self.soak_clock.last = None;
    }

    fn at_last_stage(&self) -> bool {
        !self.is_rolled_back() && self.stage.is_some_and(|i| i + 1 == self.spec.stages.len())
    }

    /// Milliseconds of the stabilization window left (0 once over). `None` unless at the last
    /// stage.
    pub fn stabilization_remaining(&self, now: Ts) -> Option<i64> {
        if !self.at_last_stage() {
            return None;
        }
        Some((self.stage_started?.0 + self.spec.stabilization_ms - now.0).max(0))
    }

    /// At 100 % for the whole stabilization window: "decommission green" may be offered.
    pub fn stabilization_done(&self, now: Ts) -> bool {
        self.pending.is_none() && self.interrupted.is_none() && self.stabilization_remaining(now) == Some(0)
    }

    /// What comes next, for the header: `next 50% in 12:41`.
    pub fn next_up(&self, now: Ts) -> NextUp {
        if let Some(p) = &self.pending {
            return NextUp::Moving { from: p.from, to: p.to };
        }
        if let Some(p) = &self.interrupted {
            return NextUp::Interrupted { from: p.from, to: p.to };
        }
        if let Some(r) = &self.rollback {
            let (done, total) = r.progress();
            return NextUp::RolledBack { done, total };
        }
        if let Some((_, next)) = self.next_stage() {
            let in_ms = self.soak_remaining(now).unwrap_or(0);
            return NextUp::Stage { percent: next.blue_percent, in_ms };
        }
        match self.stabilization_remaining(now) {
            Some(0) | None => NextUp::Decommission,
            Some(ms) => NextUp::Stabilizing { remaining_ms: ms },
        }
    }

    /// The stage an advance to `to` (or to the next stage) would reach: `(index, stage)`, or why
    /// there is none. Use it to collect the target stage's open gate tasks before `advance`.
    pub fn resolve_target(&self, to: Option<u8>) -> Result<(usize, Stage), Refusal> {
        if self.is_rolled_back() {
            return Err(Refusal::RolledBack);
        }
        if let Some(p) = &self.pending {
            return Err(Refusal::InFlight { from: p.from, to: p.to });
        }
        match to {
            None => self.next_stage().ok_or(Refusal::AtLastStage(self.blue_percent)),
            Some(requested) => {
                let i = self
                    .spec
                    .position(requested)
                    .ok_or_else(|| Refusal::NotAStage { requested, stages: self.spec.percents() })?;
                if requested <= self.blue_percent {
                    return Err(Refusal::NotForward { current: self.blue_percent, requested });
                }
                Ok((i, self.spec.stages[i]))
            }
        }
    }

    /// What `advance(to, gates, …)` would do, without doing it. Structural problems (no such
    /// stage, backwards, rolled back, a change in flight) are refusals; failing gates are listed.
    pub fn preview(&self, to: Option<u8>, gates: &GateInputs, now: Ts) -> Result<Preview, Refusal> {
        let (index, stage) = self.resolve_target(to)?;
        let first = self.stage.map_or(0, |i| i + 1);
        let skipped = self.spec.stages.get(first..index).unwrap_or_default().iter().map(|s| s.blue_percent).collect();
        let mut failing = Vec::new();
        let mut checks = Vec::new();
        let mut check = |gate: Option<Gate>, kind: &'static str, ok: String| match gate {
            Some(g) => {
                checks.push(GateCheck { gate: kind, ok: false, detail: g.to_string() });
                failing.push(g);
            }
            None => checks.push(GateCheck { gate: kind, ok: true, detail: ok }),
        };
        check((!gates.controls_held).then_some(Gate::Controls), "controls", "controls held".into());
        let router = match &gates.router {
            Some(r) => format!("router says {r}, as recorded"),
            None => "router not read back (no actuator reads it)".into(),
        };
        check(gates.drift.clone().map(|detail| Gate::Drift { detail }), "drift", router);
        let slo_ok = match (gates.slo_gating, gates.slo_no_traffic.is_empty()) {
            (0, _) => "no SLO gates".to_string(),
            (_, false) => format!(
                "{} has no traffic yet: no data passes ({})",
                gates.slo_no_traffic.first().and_then(|s| s.split(' ').next()).unwrap_or("blue"),
                gates.slo_no_traffic.join(", ")
            ),
            (n, true) => format!("every gating SLO of blue ok ({n})"),
        };
        let slo = (!gates.slo_failing.is_empty()).then(|| Gate::Slo { failing: gates.slo_failing.clone() });
        check(slo, "slo", slo_ok);
        let pending =
            (!gates.pending_triggers.is_empty()).then(|| Gate::Pending { pending: gates.pending_triggers.clone() });
        check(pending, "pending", "no trigger pending".into());
        let soak = self.soak_remaining(now).filter(|ms| *ms > 0).map(|remaining_ms| Gate::Soak { remaining_ms });
        let soak_ok = match (self.stage.and_then(|i| self.spec.stages.get(i)), self.soak_policy.on) {
            (None, _) => "first stage: no soak".to_string(),
            (Some(s), SoakOn::Healthy) => {
                format!("soak passed ({} healthy)", super::time::format_age(s.soak_ms as f64 / 1000.0))
            }
            (Some(s), SoakOn::Wall) => format!("soak passed ({})", super::time::format_age(s.soak_ms as f64 / 1000.0)),
        };
        check(soak, "soak", soak_ok);
        let firing =
            (!gates.firing_triggers.is_empty()).then(|| Gate::Triggers { firing: gates.firing_triggers.clone() });
        check(firing, "triggers", "no trigger firing".into());
        let tasks = (!gates.open_gate_tasks.is_empty()).then(|| Gate::Tasks { open: gates.open_gate_tasks.clone() });
        check(tasks, "tasks", format!("runbook gate tasks for {}% done", stage.blue_percent));
        Ok(Preview {
            from: self.blue_percent,
            to: stage.blue_percent,
            stage: index,
            weights: weights_for(stage.blue_percent),
            skipped,
            failing,
            checks,
        })
    }

    /// Asks to move blue to the next stage (or to `to`, a configured stage above the current).
    /// Failing gates refuse unless `override_reason` is a non-empty reason; controls are never
    /// overridable. On success the move is pending: the split changes with [`Self::applied`].
    pub fn advance(
        &self,
        to: Option<u8>,
        gates: &GateInputs,
        override_reason: Option<String>,
        who: &str,
        now: Ts,
    ) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        let preview = self.preview(to, gates, now)?;
        if preview.failing.contains(&Gate::Controls) {
            return Err(Refusal::ControlsNotHeld);
        }
        if let Some(Gate::Drift { detail }) = preview.failing.iter().find(|g| matches!(g, Gate::Drift { .. })) {
            let others = preview.failing.iter().filter(|g| g.overridable()).cloned().collect();
            return Err(Refusal::Drift { detail: detail.clone(), others });
        }
        let reason = override_reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        if !preview.failing.is_empty() && reason.is_none() {
            let (to, failing) = (preview.to, preview.failing);
            return Err(match override_reason {
                None => Refusal::Gates { to, failing },
                Some(_) => Refusal::EmptyReason { to, failing },
            });
        }
        if let Some(r) = reason.as_deref().filter(|_| !preview.failing.is_empty())
            && let Err(why) = gates.override_rule.check(r)
        {
            return Err(Refusal::WeakReason { to: preview.to, why });
        }
        let mut s = self.clone();
        let seq = s.take_seq();
        let arrow = preview.to_string();
        let pending = PendingMove {
            seq,
            kind: MoveKind::Advance,
            from: preview.from,
            to: preview.to,
            stage: Some(preview.stage),
            requested_at: now,
            by: who.to_string(),
            reason,
            overridden: preview.failing,
            gates: String::new(),
        };
        let mut pending = pending;
        pending.gates = self.gate_summary(&pending, gates);
        let line = format!("stage {arrow} requested by {who} ({})", pending.gates);
        let level = if pending.overridden.is_empty() { Level::Info } else { Level::Warn };
        s.pending = Some(pending);
        // Trying again replaces a change found interrupted.
        s.interrupted = None;
        let effects = vec![
            Effect::Audit(level, line),
            Effect::SetWeights { seq, weights: preview.weights, stage: (preview.stage + 1).to_string() },
        ];
        Ok((s, effects))
    }

    /// `soak 30m passed, 0 triggers` or `OVERRIDE soak not over (12:41 left): "reason"`.
    fn gate_summary(&self, p: &PendingMove, gates: &GateInputs) -> String {
        if !p.overridden.is_empty() {
            let kinds: Vec<&str> = p.overridden.iter().map(Gate::kind).collect();
            return format!(
                "OVERRIDE {} ({}): {:?}",
                kinds.join(", "),
                list(&p.overridden),
                p.reason.as_deref().unwrap_or("")
            );
        }
        let soak = match self.stage.and_then(|i| self.spec.stages.get(i)) {
            Some(s) => format!("soak {} passed", super::time::format_age(s.soak_ms as f64 / 1000.0)),
            None => "first stage".to_string(),
        };
        let slos = match gates.slo_gating {
            0 => String::new(),
            n => format!(", {n} gating SLOs ok"),
        };
        format!(
            "{soak}{slos}, {} triggers, {} gate tasks open",
            gates.firing_triggers.len(),
            gates.open_gate_tasks.len()
        )
    }

    /// Leaves blue: routes 100 % to green and starts the rollback procedure. Always allowed,
    /// whatever the gates and whatever the state (again while rolled back: sends the weights
    /// again, keeping the procedure's progress). A change still in flight is superseded.
    pub fn rollback(&self, reason: &str, who: &str, now: Ts) -> (TrafficState, Vec<Effect>) {
        let mut s = self.clone();
        let seq = s.take_seq();
        let reason = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
        let from = s.blue_percent;
        let mut effects = Vec::new();
        s.interrupted = None;
        if let Some(p) = s.pending.take() {
            effects.push(Effect::Audit(
                Level::Warn,
                format!("{}% → {}% abandoned: rollback ordered before the router confirmed", p.from, p.to),
            ));
        }
        s.history.push(HistoryEntry {
            seq,
            kind: MoveKind::Rollback,
            from,
            to: 0,
            at: now,
            by: who.to_string(),
            reason: reason.clone(),
            overridden: Vec::new(),
        });
        s.pending = Some(PendingMove {
            seq,
            kind: MoveKind::Rollback,
            from,
            to: 0,
            stage: None,
            requested_at: now,
            by: who.to_string(),
            reason: reason.clone(),
            overridden: Vec::new(),
            gates: "rollback: gates do not apply".into(),
        });
        s.blue_percent = 0;
        s.stage = None;
        s.stage_started = Some(now);
        s.restart_soak();
        let again = s.rollback.is_some();
        if !again {
            s.rollback = Some(RollbackProcedure::start(now, who, reason.clone()));
        }
        let why = reason.as_deref().map_or_else(|| "no reason given yet".to_string(), |r| format!("{r:?}"));
        let what = if again { "ROLLBACK again" } else { "ROLLBACK" };
        effects.push(Effect::Audit(Level::Warn, format!("{what} {from}% → 0% by {who}: {why}")));
        effects.push(Effect::SetWeights { seq, weights: weights_for(0), stage: "rollback".into() });
        (s, effects)
    }

    /// The actuators confirmed change `seq` (`detail` says how, for the log). Commits an advance
    /// (the soak clock starts now) or ticks the rollback's "route traffic" step.
    pub fn applied(&self, seq: u64, detail: &str, now: Ts) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        let mut s = self.clone();
        let p = match s.pending.take() {
            Some(p) if p.seq == seq => p,
            _ => return Err(Refusal::UnknownChange(seq)),
        };
        let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        let line = match p.kind {
            MoveKind::Advance => {
                s.blue_percent = p.to;
                s.stage = p.stage;
                s.stage_started = Some(now);
                s.restart_soak();
                let line = format!("stage {}% → {}% by {} ({}) confirmed{detail}", p.from, p.to, p.by, p.gates);
                s.history.push(HistoryEntry {
                    seq,
                    kind: p.kind,
                    from: p.from,
                    to: p.to,
                    at: now,
                    by: p.by,
                    reason: p.reason,
                    overridden: p.overridden,
                });
                line
            }
            MoveKind::Rollback | MoveKind::Resume | MoveKind::Adopt => {
                if let Some(r) = s.rollback.as_mut() {
                    r.routed(now);
                }
                format!("rollback routed: 100% on green{detail}")
            }
        };
        Ok((s, vec![Effect::Audit(Level::Info, line)]))
    }

    /// The actuators failed change `seq`. An advance is dropped (the stage does not change); a
    /// rollback stays ordered with "route traffic" open: roll back again to retry.
    pub fn apply_failed(&self, seq: u64, error: &str, _now: Ts) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        let mut s = self.clone();
        let p = match s.pending.take() {
            Some(p) if p.seq == seq => p,
            _ => return Err(Refusal::UnknownChange(seq)),
        };
        let line = match p.kind {
            MoveKind::Rollback => format!("ROLLBACK routing FAILED: {error}; blue may still get traffic, retry now"),
            _ => format!("stage {}% → {}% FAILED: {error}; still at {}%", p.from, p.to, s.blue_percent),
        };
        Ok((s, vec![Effect::Audit(Level::Error, line)]))
    }

    /// Ticks a rollback procedure step done by the operator.
    pub fn tick_step(
        &self,
        kind: StepKind,
        who: &str,
        note: Option<String>,
        now: Ts,
    ) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        let mut s = self.clone();
        let r = s.rollback.as_mut().ok_or(Refusal::NoRollback)?;
        if kind.ticked_by() == TickedBy::Actuator {
            return Err(Refusal::StepTicksItself(kind));
        }
        if kind == StepKind::Document && r.reason.is_none() {
            return Err(Refusal::RollbackNeedsReason);
        }
        let step = r.step_mut(kind);
        if step.done_at.is_some() {
            return Err(Refusal::StepDone(kind));
        }
        step.done_at = Some(now);
        step.done_by = Some(who.to_string());
        step.note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        let line = format!("rollback step done: {} by {who}", kind.label());
        Ok((s, vec![Effect::Audit(Level::Info, line)]))
    }

    /// Time passing during a rollback: "verify green stable" ticks itself once green has been OK
    /// for [`VERIFY_WINDOW_MS`] after traffic was routed; green not OK restarts the window.
    pub fn observe_green(&self, green_ok: bool, now: Ts) -> (TrafficState, Vec<Effect>) {
        let mut s = self.clone();
        let mut effects = Vec::new();
        if s.rollback.as_mut().is_some_and(|r| r.observe_green(green_ok, now)) {
            let line = format!("rollback step done: {} (stable for 15m)", StepKind::VerifyGreen.label());
            effects.push(Effect::Audit(Level::Info, line));
        }
        (s, effects)
    }

    /// Starts a new attempt after a completed rollback procedure: back before the first stage.
    pub fn resume(&self, reason: &str, who: &str, now: Ts) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        let r = self.rollback.as_ref().ok_or(Refusal::NoRollback)?;
        if let Some(p) = &self.pending {
            return Err(Refusal::InFlight { from: p.from, to: p.to });
        }
        let open = r.open();
        if !open.is_empty() {
            return Err(Refusal::ProcedureOpen(open));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Refusal::ResumeNeedsReason);
        }
        let mut s = self.clone();
        let seq = s.take_seq();
        s.interrupted = None;
        s.past_rollbacks.extend(s.rollback.take());
        s.history.push(HistoryEntry {
            seq,
            kind: MoveKind::Resume,
            from: s.blue_percent,
            to: s.blue_percent,
            at: now,
            by: who.to_string(),
            reason: Some(reason.to_string()),
            overridden: Vec::new(),
        });
        s.stage = None;
        s.stage_started = Some(now);
        s.restart_soak();
        let line = format!("go-live resumed by {who} after the rollback: {reason:?}");
        Ok((s, vec![Effect::Audit(Level::Warn, line)]))
    }

    /// Records the router's split `actual` as the stage, after it was changed outside cutover (or
    /// a change was interrupted): the configured stage (or 0 %) nearest to it must match it
    /// exactly. The soak of the adopted stage starts now.
    pub fn adopt(
        &self,
        actual: Weights,
        reason: &str,
        who: &str,
        now: Ts,
    ) -> Result<(TrafficState, Vec<Effect>), Refusal> {
        if self.is_rolled_back() {
            return Err(Refusal::AdoptRolledBack);
        }
        if let Some(p) = &self.pending {
            return Err(Refusal::InFlight { from: p.from, to: p.to });
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Refusal::AdoptNeedsReason);
        }
        let router = format!("{}/{}", actual.blue, actual.green);
        if self.interrupted.is_none() && same_split(self.expected_weights(), actual) {
            return Err(Refusal::NothingToAdopt(router));
        }
        let total = u64::from(actual.blue) + u64::from(actual.green);
        let share = if total == 0 { -1.0 } else { actual.blue as f64 * 100.0 / total as f64 };
        let nearest = std::iter::once(0)
            .chain(self.spec.percents())
            .min_by(|a, b| (f64::from(*a) - share).abs().total_cmp(&(f64::from(*b) - share).abs()))
            .unwrap_or(0);
        let expected = weights_for(nearest);
        if !same_split(expected, actual) {
            let expected = format!("{}/{}", expected.blue, expected.green);
            return Err(Refusal::AdoptNoStage { router, nearest, expected });
        }
        let mut s = self.clone();
        let seq = s.take_seq();
        let from = s.blue_percent;
        s.interrupted = None;
        s.blue_percent = nearest;
        s.stage = s.spec.position(nearest);
        s.stage_started = Some(now);
        s.restart_soak();
        s.history.push(HistoryEntry {
            seq,
            kind: MoveKind::Adopt,
            from,
            to: nearest,
            at: now,
            by: who.to_string(),
            reason: Some(reason.to_string()),
            overridden: Vec::new(),
        });
        let line = format!("router's split {router} adopted by {who}: stage {from}% → {nearest}%: {reason:?}");
        Ok((s, vec![Effect::Audit(Level::Warn, line)]))
    }

    /// The router's weights compared with what cutover expects. While a change is in flight
    /// either side of it is fine.
    pub fn drift(&self, actual: Weights) -> Option<Drift> {
        let in_flight =
            self.pending.as_ref().is_some_and(|p| [p.from, p.to].iter().any(|pc| same_split(weights_for(*pc), actual)));
        if in_flight {
            return None;
        }
        reconcile(self.expected_weights(), actual)
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }
}

/// What the header says comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextUp {
    /// The next stage, and how long until its soak gate opens (0: now).
    Stage {
        percent: u8,
        in_ms: i64,
    },
    /// A change is being applied.
    Moving {
        from: u8,
        to: u8,
    },
    /// A change was cut off by a crash and the router did not settle it.
    Interrupted {
        from: u8,
        to: u8,
    },
    /// At 100 %, stabilizing.
    Stabilizing {
        remaining_ms: i64,
    },
    /// Stabilization is over: decommissioning the old environment is offered.
    Decommission,
    RolledBack {
        done: usize,
        total: usize,
    },
}

impl NextUp {
    /// `next 50% in 12:41`, `next 50% ready`, `decommission green in 23:59:59`, …; `green` is the
    /// old environment's display name.
    pub fn label(&self, green: &str) -> String {
        match *self {
            NextUp::Stage { percent, in_ms } if in_ms > 0 => format!("next {percent}% in {}", format_countdown(in_ms)),
            NextUp::Stage { percent, .. } => format!("next {percent}% ready"),
            NextUp::Moving { from, to } => format!("moving {from}% → {to}%…"),
            NextUp::Interrupted { from, to } => format!("INTERRUPTED {from}% → {to}%"),
            NextUp::Stabilizing { remaining_ms } => {
                format!("decommission {green} in {}", format_countdown(remaining_ms))
            }
            NextUp::Decommission => format!("decommission {green} offered"),
            NextUp::RolledBack { done, total } if done == total => "ROLLED BACK · procedure done: a resumes".into(),
            NextUp::RolledBack { done, total } => format!("ROLLED BACK · procedure {done}/{total}"),
        }
    }
}

/// A countdown: `12:41`, `0:05`, `23:59:59`. Rounds up, so it reads `0:00` only when over.
pub fn format_countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOAK: i64 = 30 * MINUTE_MS;

    /// A state whose soak counts wall-clock time: these tests are about the stage machine.
    fn wall(spec: TrafficSpec) -> TrafficState {
        let mut s = TrafficState::new(spec);
        s.soak_policy.on = SoakOn::Wall;
        s
    }

    fn commit(s: &TrafficState, r: Result<(TrafficState, Vec<Effect>), Refusal>, now: Ts) -> TrafficState {
        let (pending, effects) = r.unwrap();
        let seq = effects
            .iter()
            .find_map(|e| match e {
                Effect::SetWeights { seq, .. } => Some(*seq),
                _ => None,
            })
            .expect("a SetWeights effect");
        assert_ne!(&pending, s);
        pending.applied(seq, "ok", now).unwrap().0
    }

    #[test]
    fn default_spec_is_valid() {
        let spec = TrafficSpec::default();
        spec.validate().unwrap();
        assert_eq!(spec.percents(), vec![10, 25, 50, 75, 100]);
        assert_eq!(spec.stabilization_ms, 24 * HOUR_MS);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let st = |p: &[u8]| TrafficSpec {
            stages: p.iter().map(|p| Stage { blue_percent: *p, soak_ms: 0 }).collect(),
            stabilization_ms: 0,
        };
        assert_eq!(st(&[]).validate(), Err(SpecError::Empty));
        assert_eq!(
            st(&[10, 10, 100]).validate(),
            Err(SpecError::NotIncreasing { index: 2, percent: 10, previous: 10 })
        );
        assert_eq!(st(&[0, 100]).validate(), Err(SpecError::OutOfRange { index: 1, percent: 0 }));
        assert_eq!(st(&[10, 50]).validate(), Err(SpecError::LastNotFull(50)));
        assert!(st(&[10, 50]).validate().unwrap_err().to_string().contains("add a 100% stage"));
    }

    #[test]
    fn weights_are_the_percentages() {
        assert_eq!(weights_for(25), Weights { blue: 25, green: 75 });
        assert_eq!(weights_for(0), Weights { blue: 0, green: 100 });
        assert_eq!(weights_for(100), Weights { blue: 100, green: 0 });
    }

    #[test]
    fn first_advance_needs_no_soak_and_commits_only_when_applied() {
        let s = wall(TrafficSpec::default());
        assert_eq!(s.next_up(Ts(0)).label("green"), "next 10% ready");
        let (p, effects) = s.advance(None, &GateInputs::clear(), None, "alice", Ts(0)).unwrap();
        assert_eq!(p.blue_percent, 0, "nothing changes before the router confirms");
        assert_eq!(p.next_up(Ts(0)).label("green"), "moving 0% → 10%…");
        assert!(effects.contains(&Effect::SetWeights { seq: 1, weights: weights_for(10), stage: "1".into() }));
        assert_eq!(
            p.advance(None, &GateInputs::clear(), None, "alice", Ts(0)).unwrap_err(),
            Refusal::InFlight { from: 0, to: 10 }
        );
        let (s, effects) = p.applied(1, "haproxy 10/90", Ts(5000)).unwrap();
        assert_eq!(
            effects,
            vec![Effect::Audit(
                Level::Info,
                "stage 0% → 10% by alice (first stage, 0 triggers, 0 gate tasks open) confirmed: haproxy 10/90".into()
            )]
        );
        assert_eq!((s.blue_percent, s.stage, s.stage_started), (10, Some(0), Some(Ts(5000))));
        assert_eq!(s.history.len(), 1);
        assert_eq!(s.soak_remaining(Ts(5000)), Some(SOAK));
        assert_eq!(s.next_up(Ts(5000 + SOAK - 761_000)).label("green"), "next 25% in 12:41");
    }

    #[test]
    fn soak_gate_and_override() {
        let s0 = wall(TrafficSpec::default());
        let s = commit(&s0, s0.advance(None, &GateInputs::clear(), None, "a", Ts(0)), Ts(0));
        let early = Ts(10 * MINUTE_MS);
        let err = s.advance(None, &GateInputs::clear(), None, "a", early).unwrap_err();
        assert_eq!(err, Refusal::Gates { to: 25, failing: vec![Gate::Soak { remaining_ms: 20 * MINUTE_MS }] });
        assert_eq!(
            err.to_string(),
            "cannot advance to 25%: soak not over (20:00 left); override with a reason to go anyway"
        );
        let err = s.advance(None, &GateInputs::clear(), Some("  ".into()), "a", early).unwrap_err();
        assert!(matches!(err, Refusal::EmptyReason { to: 25, .. }), "{err:?}");
        let (p, effects) = s.advance(None, &GateInputs::clear(), Some("CAB approved".into()), "a", early).unwrap();
        assert!(
            matches!(&effects[0], Effect::Audit(Level::Warn, l) if l.contains("OVERRIDE") && l.contains("CAB approved"))
        );
        let s = p.applied(2, "", early).unwrap().0;
        let last = s.history.last().unwrap();
        assert_eq!((last.from, last.to, last.reason.as_deref()), (10, 25, Some("CAB approved")));
        assert_eq!(last.overridden, vec![Gate::Soak { remaining_ms: 20 * MINUTE_MS }]);
        // After the soak, no override is needed.
        let later = Ts(early.0 + SOAK);
        assert!(s.advance(None, &GateInputs::clear(), None, "a", later).is_ok());
    }

    #[test]
    fn every_failing_gate_is_named_and_controls_cannot_be_overridden() {
        let s = wall(TrafficSpec::default());
        let gates = GateInputs {
            firing_triggers: vec!["err>5% 10m".into()],
            open_gate_tasks: vec!["T1217".into()],
            ..GateInputs::clear()
        };
        let err = s.advance(None, &gates, None, "a", Ts(0)).unwrap_err().to_string();
        assert!(err.contains("trigger firing: err>5% 10m") && err.contains("gate tasks open: T1217"), "{err}");
        let no_controls = GateInputs { controls_held: false, ..GateInputs::clear() };
        assert_eq!(s.advance(None, &no_controls, Some("go".into()), "a", Ts(0)).unwrap_err(), Refusal::ControlsNotHeld);
        assert_eq!(s.preview(None, &no_controls, Ts(0)).unwrap().failing, vec![Gate::Controls]);
    }

    #[test]
    fn explicit_targets_must_be_stages_ahead() {
        let s = wall(TrafficSpec::default());
        let g = GateInputs::clear();
        assert_eq!(
            s.advance(Some(30), &g, None, "a", Ts(0)).unwrap_err().to_string(),
            "30% is not a configured stage (stages: 10%, 25%, 50%, 75%, 100%)"
        );
        let p = s.preview(Some(50), &g, Ts(0)).unwrap();
        assert_eq!((p.to_string(), p.skipped.clone()), ("0% → 50%".to_string(), vec![10, 25]));
        let s = commit(&s, s.advance(Some(50), &g, None, "a", Ts(0)), Ts(0));
        assert_eq!((s.blue_percent, s.stage), (50, Some(2)));
        assert_eq!(
            s.advance(Some(25), &g, None, "a", Ts(SOAK)).unwrap_err(),
            Refusal::NotForward { current: 50, requested: 25 }
        );
        assert_eq!(
            s.advance(Some(50), &g, None, "a", Ts(SOAK)).unwrap_err(),
            Refusal::NotForward { current: 50, requested: 50 }
        );
    }

    #[test]
    fn failed_apply_keeps_the_stage() {
        let s = wall(TrafficSpec::default());
        let (p, _) = s.advance(None, &GateInputs::clear(), None, "a", Ts(0)).unwrap();
        let (after, effects) = p.apply_failed(1, "connection refused", Ts(1)).unwrap();
        assert_eq!((after.blue_percent, after.stage, after.pending.is_none()), (0, None, true));
        assert!(after.history.is_empty());
        assert!(matches!(&effects[0], Effect::Audit(Level::Error, l) if l.contains("connection refused")));
        assert_eq!(after.applied(1, "", Ts(2)).unwrap_err(), Refusal::UnknownChange(1));
    }

    #[test]
    fn last_stage_then_stabilization_then_decommission() {
        let spec = TrafficSpec {
            stages: vec![Stage { blue_percent: 50, soak_ms: 1000 }, Stage { blue_percent: 100, soak_ms: 1000 }],
            stabilization_ms: 10_000,
        };
        let g = GateInputs::clear();
        let s = wall(spec);
        let s = commit(&s, s.advance(None, &g, None, "a", Ts(0)), Ts(0));
        let s = commit(&s, s.advance(None, &g, None, "a", Ts(1000)), Ts(1000));
        assert_eq!(s.advance(None, &g, None, "a", Ts(2000)).unwrap_err(), Refusal::AtLastStage(100));
        assert_eq!(s.next_stage(), None);
        assert!(!s.stabilization_done(Ts(10_999)));
        assert_eq!(s.next_up(Ts(2000)).label("green"), "decommission green in 0:09");
        assert!(s.stabilization_done(Ts(11_000)));
        assert_eq!(s.next_up(Ts(11_000)).label("old"), "decommission old offered");
    }

    #[test]
    fn rollback_from_anywhere_and_its_procedure() {
        let g = GateInputs::clear();
        let s = wall(TrafficSpec::default());
        let s = commit(&s, s.advance(Some(75), &g, None, "a", Ts(0)), Ts(0));
        // A change in flight is superseded.
        let (p, _) = s.advance(None, &g, None, "a", Ts(SOAK)).unwrap();
        let (r, effects) = p.rollback("error spike", "bob", Ts(SOAK + 1));
        assert_eq!((r.blue_percent, r.stage, r.is_rolled_back()), (0, None, true));
        assert!(effects.contains(&Effect::SetWeights { seq: 3, weights: weights_for(0), stage: "rollback".into() }));
        assert!(effects.iter().any(|e| matches!(e, Effect::Audit(_, l) if l.contains("abandoned"))));
        assert_eq!(p.applied(2, "", Ts(SOAK + 2)).map(|_| ()), Ok(()), "the old state still knew #2");
        assert_eq!(r.applied(2, "", Ts(SOAK + 2)).unwrap_err(), Refusal::UnknownChange(2));
        assert_eq!(r.advance(None, &g, None, "a", Ts(SOAK + 2)).unwrap_err(), Refusal::RolledBack);
        let proc_ = r.rollback.as_ref().unwrap();
        assert_eq!(proc_.progress(), (0, 5));
        assert_eq!(
            r.tick_step(StepKind::RouteTraffic, "bob", None, Ts(0)).unwrap_err(),
            Refusal::StepTicksItself(StepKind::RouteTraffic)
        );
        let t0 = SOAK + 1;
        let (r, _) = r.applied(3, "haproxy 0/100", Ts(t0 + 1000)).unwrap();
        assert!(r.rollback.as_ref().unwrap().step(StepKind::RouteTraffic).done_at.is_some());
        assert_eq!(r.history.last().unwrap().to, 0);
        // Verify green: the window restarts when green is not OK.
        let (r, e) = r.observe_green(true, Ts(t0 + 1000 + 10 * MINUTE_MS));
        assert!(e.is_empty());
        let (r, _) = r.observe_green(false, Ts(t0 + 1000 + 11 * MINUTE_MS));
        let (r, e) = r.observe_green(true, Ts(t0 + 1000 + 20 * MINUTE_MS));
        assert!(e.is_empty());
        let (r, e) = r.observe_green(true, Ts(t0 + 1000 + 26 * MINUTE_MS));
        assert_eq!(e.len(), 1, "stable for 15m since minute 11");
        assert_eq!(
            r.resume("fixed", "bob", Ts(t0)).unwrap_err(),
            Refusal::ProcedureOpen(vec![StepKind::Announce, StepKind::Investigate, StepKind::Document])
        );
        let mut r = r;
        for k in [StepKind::Announce, StepKind::Investigate, StepKind::Document] {
            r = r.tick_step(k, "bob", Some("INC-42".into()), Ts(t0 + HOUR_MS)).unwrap().0;
        }
        assert_eq!(r.next_up(Ts(t0)).label("green"), "ROLLED BACK · procedure done: a resumes");
        assert_eq!(r.resume(" ", "bob", Ts(t0)).unwrap_err(), Refusal::ResumeNeedsReason);
        let (r, _) = r.resume("fix deployed in 1.4.2", "bob", Ts(t0 + 2 * HOUR_MS)).unwrap();
        assert!(!r.is_rolled_back());
        assert_eq!(r.past_rollbacks.len(), 1);
        assert_eq!(r.next_stage().map(|(_, s)| s.blue_percent), Some(10));
        assert!(r.advance(None, &g, None, "bob", Ts(t0 + 2 * HOUR_MS)).is_ok());
    }

    #[test]
    fn drift_allows_either_side_of_a_change_in_flight() {
        let s = wall(TrafficSpec::default());
        let (p, _) = s.advance(None, &GateInputs::clear(), None, "a", Ts(0)).unwrap();
        assert_eq!(p.drift(weights_for(0)), None);
        assert_eq!(p.drift(Weights { blue: 1, green: 9 }), None);
        let d = p.drift(Weights { blue: 50, green: 50 }).unwrap();
        assert_eq!(d.to_string(), "router says 50/50, cutover expects 0/100");
    }

    /// At 10 % since `t0` with soaks on healthy time under `reset`.
    fn soaking(reset: SoakReset) -> TrafficState {
        let mut s = TrafficState::new(TrafficSpec::default());
        s.soak_policy.reset = reset;
        commit(&s.clone(), s.advance(None, &GateInputs::clear(), None, "a", Ts(0)), Ts(0))
    }

    /// Observations every 10 s from `from` to `to` (inclusive), healthy or with `why`.
    fn observe(s: &mut TrafficState, from: i64, to: i64, why: Option<&str>) {
        let mut t = from;
        while t <= to {
            s.observe_soak(why.map(str::to_string), Ts(t));
            t += 10_000;
        }
    }

    #[test]
    fn a_healthy_soak_pauses_while_blue_is_unhealthy() {
        let mut s = soaking(SoakReset::Pause);
        assert_eq!(s.soak_remaining(Ts(0)), Some(SOAK), "nothing counted before any observation");
        observe(&mut s, 0, 10 * MINUTE_MS, None);
        assert_eq!(s.soak_remaining(Ts(10 * MINUTE_MS)), Some(20 * MINUTE_MS));
        observe(&mut s, 10 * MINUTE_MS + 10_000, 15 * MINUTE_MS, Some("blue error rate breach"));
        assert_eq!(s.soak_remaining(Ts(15 * MINUTE_MS)), Some(20 * MINUTE_MS), "unhealthy time does not count");
        let paused = s.soak_paused(Ts(15 * MINUTE_MS));
        assert_eq!(paused, Some((Ts(10 * MINUTE_MS + 10_000), "blue error rate breach".to_string())));
        assert_eq!(s.next_up(Ts(15 * MINUTE_MS)).label("green"), "next 25% in 20:00");
        // The first healthy reading after the breach only starts the count again.
        observe(&mut s, 15 * MINUTE_MS + 10_000, 35 * MINUTE_MS, None);
        assert_eq!(s.soak_paused(Ts(35 * MINUTE_MS)), None);
        assert_eq!(s.soak_remaining(Ts(35 * MINUTE_MS)), Some(10_000));
        observe(&mut s, 35 * MINUTE_MS + 10_000, 35 * MINUTE_MS + 10_000, None);
        assert_eq!(s.soak_remaining(Ts(35 * MINUTE_MS + 10_000)), Some(0));
        assert!(s.advance(None, &GateInputs::clear(), None, "a", Ts(35 * MINUTE_MS + 10_000)).is_ok());
    }

    #[test]
    fn with_restart_any_unhealthy_evaluation_starts_the_soak_again() {
        let mut s = soaking(SoakReset::Restart);
        observe(&mut s, 0, 25 * MINUTE_MS, None);
        assert_eq!(s.soak_remaining(Ts(25 * MINUTE_MS)), Some(5 * MINUTE_MS));
        s.observe_soak(Some("err>5% 10m pending".into()), Ts(25 * MINUTE_MS + 10_000));
        assert_eq!(s.soak_remaining(Ts(25 * MINUTE_MS + 10_000)), Some(SOAK), "one bad evaluation restarts it");
        observe(&mut s, 25 * MINUTE_MS + 20_000, 55 * MINUTE_MS + 10_000, None);
        assert_eq!(s.soak_remaining(Ts(55 * MINUTE_MS + 10_000)), Some(10_000));
        observe(&mut s, 55 * MINUTE_MS + 20_000, 55 * MINUTE_MS + 20_000, None);
        assert_eq!(s.soak_remaining(Ts(55 * MINUTE_MS + 20_000)), Some(0));
    }

    #[test]
    fn time_nobody_watched_does_not_count_and_wall_soaks_ignore_health() {
        let mut s = soaking(SoakReset::Pause);
        s.observe_soak(None, Ts(0));
        s.observe_soak(None, Ts(10 * MINUTE_MS));
        assert_eq!(s.soak_remaining(Ts(10 * MINUTE_MS)), Some(SOAK), "a 10-minute gap is not watched time");
        s.observe_soak(None, Ts(10 * MINUTE_MS + s.soak_policy.max_gap_ms));
        assert_eq!(s.soak_remaining(Ts(11 * MINUTE_MS)), Some(SOAK - s.soak_policy.max_gap_ms));
        let mut w = soaking(SoakReset::Pause);
        w.soak_policy.on = SoakOn::Wall;
        w.observe_soak(Some("blue error rate breach".into()), Ts(MINUTE_MS));
        assert_eq!(w.soak_remaining(Ts(10 * MINUTE_MS)), Some(20 * MINUTE_MS));
        assert_eq!(w.soak_paused(Ts(10 * MINUTE_MS)), None, "a wall-clock soak is never paused");
    }

    #[test]
    fn a_restart_of_the_process_keeps_the_healthy_figure() {
        let mut s = soaking(SoakReset::Pause);
        observe(&mut s, 0, 12 * MINUTE_MS, None);
        // The process dies; a new one loads what was saved and observes 20 s later.
        let mut again: TrafficState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again.soak_remaining(Ts(12 * MINUTE_MS)), Some(18 * MINUTE_MS), "the same figure");
        again.observe_soak(None, Ts(12 * MINUTE_MS + 20_000));
        s.observe_soak(None, Ts(12 * MINUTE_MS + 20_000));
        assert_eq!(again, s);
        assert_eq!(again.soak_remaining(Ts(12 * MINUTE_MS + 20_000)), Some(18 * MINUTE_MS - 20_000));
        // A state file from before healthy soaks loads with the defaults.
        let mut v = serde_json::to_value(&s).unwrap();
        let m = v.as_object_mut().unwrap();
        m.remove("soak_policy");
        m.remove("soak_clock");
        let old: TrafficState = serde_json::from_value(v).unwrap();
        assert_eq!((old.soak_policy, old.soak_clock), (SoakPolicy::default(), SoakClock::default()));
    }

    #[test]
    fn a_new_stage_soaks_from_nothing() {
        let mut s = soaking(SoakReset::Pause);
        observe(&mut s, 0, SOAK, None);
        assert_eq!(s.soak_remaining(Ts(SOAK)), Some(0));
        let s = commit(&s, s.advance(None, &GateInputs::clear(), None, "a", Ts(SOAK)), Ts(SOAK));
        assert_eq!((s.blue_percent, s.soak_remaining(Ts(SOAK)), s.soak_clock.healthy_ms), (25, Some(SOAK), 0));
    }

    fn slo_breach() -> SloFailure {
        SloFailure { what: "blue error rate".into(), state: "breach".into(), detail: "5.03% breaches < 1%".into() }
    }

    #[test]
    fn health_gates_are_named_and_overridable_only_with_a_real_reason() {
        let s = wall(TrafficSpec::default());
        let gates = GateInputs {
            slo_failing: vec![slo_breach()],
            slo_gating: 1,
            pending_triggers: vec!["err>2% 30m pending 0:42, fires in 29:18".into()],
            ..GateInputs::clear()
        };
        let p = s.preview(None, &gates, Ts(0)).unwrap();
        let kinds: Vec<(&str, bool)> = p.checks.iter().map(|c| (c.gate, c.ok)).collect();
        assert_eq!(
            kinds,
            vec![
                ("controls", true),
                ("drift", true),
                ("slo", false),
                ("pending", false),
                ("soak", true),
                ("triggers", true),
                ("tasks", true)
            ]
        );
        assert_eq!(p.checks[2].detail, "SLO not ok: blue error rate 5.03% breaches < 1%");
        assert_eq!(p.checks[3].detail, "trigger pending: err>2% 30m pending 0:42, fires in 29:18");
        let err = s.advance(None, &gates, None, "a", Ts(0)).unwrap_err().to_string();
        assert!(err.contains("blue error rate 5.03% breaches < 1%") && err.contains("err>2% 30m pending"), "{err}");
        let err = s.advance(None, &gates, Some("ok".into()), "a", Ts(0)).unwrap_err();
        assert!(matches!(&err, Refusal::WeakReason { why, .. } if why.contains("at least 10")), "{err:?}");
        let (p, effects) = s.advance(None, &gates, Some("CHG-1234 accepted risk".into()), "a", Ts(0)).unwrap();
        let overridden: Vec<&str> = p.pending.as_ref().unwrap().overridden.iter().map(Gate::kind).collect();
        assert_eq!(overridden, vec!["slo", "pending"], "exactly the gates passed over");
        assert!(
            matches!(&effects[0], Effect::Audit(Level::Warn, l) if l.contains("OVERRIDE slo, pending (")),
            "{effects:?}"
        );
        // A pattern replaces the length rule.
        let ticket = GateInputs {
            override_rule: OverrideRule { min_chars: 10, pattern: Some("^[A-Z]+-[0-9]+".into()) },
            ..gates.clone()
        };
        assert!(s.advance(None, &ticket, Some("because I say so".into()), "a", Ts(0)).is_err());
        assert!(s.advance(None, &ticket, Some("CHG-7".into()), "a", Ts(0)).is_ok());
    }

    #[test]
    fn drift_is_never_overridden() {
        let s = wall(TrafficSpec::default());
        let gates = GateInputs {
            drift: Some("router says 10/90, cutover expects 0/100".into()),
            slo_failing: vec![slo_breach()],
            ..GateInputs::clear()
        };
        let err = s.advance(None, &gates, Some("CHG-1234 accepted risk".into()), "a", Ts(0)).unwrap_err();
        assert!(matches!(err, Refusal::Drift { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("drift: router says 10/90") && text.contains("also failing: SLO not ok"), "{text}");
        assert!(!Gate::Drift { detail: String::new() }.overridable());
    }

    #[test]
    fn adopt_records_the_routers_split_only_at_a_stage() {
        let s = wall(TrafficSpec::default());
        let s = commit(&s, s.advance(None, &GateInputs::clear(), None, "a", Ts(0)), Ts(0));
        assert_eq!(s.adopt(weights_for(10), "x", "bob", Ts(1)).unwrap_err(), Refusal::NothingToAdopt("10/90".into()));
        let err = s.adopt(Weights { blue: 13, green: 87 }, "hand-set", "bob", Ts(1)).unwrap_err();
        assert_eq!(err, Refusal::AdoptNoStage { router: "13/87".into(), nearest: 10, expected: "10/90".into() });
        assert_eq!(s.adopt(Weights { blue: 1, green: 3 }, " ", "bob", Ts(1)).unwrap_err(), Refusal::AdoptNeedsReason);
        let (a, effects) = s.adopt(Weights { blue: 1, green: 3 }, "ops moved it by hand", "bob", Ts(5)).unwrap();
        assert_eq!((a.blue_percent, a.stage, a.stage_started), (25, Some(1), Some(Ts(5))));
        let h = a.history.last().unwrap();
        assert_eq!(
            (h.kind, h.from, h.to, h.reason.as_deref()),
            (MoveKind::Adopt, 10, 25, Some("ops moved it by hand"))
        );
        assert!(matches!(&effects[0], Effect::Audit(Level::Warn, l) if l.contains("1/3 adopted by bob")));
        assert_eq!(a.drift(weights_for(25)), None);
        let (back, _) = s.adopt(weights_for(0), "someone drained blue", "bob", Ts(5)).unwrap();
        assert_eq!((back.blue_percent, back.stage), (0, None));
        let (r, _) = s.rollback("spike", "bob", Ts(6));
        assert_eq!(r.adopt(weights_for(25), "why not", "bob", Ts(7)).unwrap_err(), Refusal::AdoptRolledBack);
    }

    #[test]
    fn countdowns() {
        assert_eq!(format_countdown(761_000), "12:41");
        assert_eq!(format_countdown(4_001), "0:05");
        assert_eq!(format_countdown(0), "0:00");
        assert_eq!(format_countdown(24 * HOUR_MS - 1000), "23:59:59");
    }

    #[test]
    fn state_round_trips_through_json() {
        let s = wall(TrafficSpec::default());
        let s = commit(&s, s.advance(None, &GateInputs::clear(), Some("x".into()), "a", Ts(0)), Ts(0));
        let (s, _) = s.rollback("why", "b", Ts(10));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<TrafficState>(&json).unwrap(), s);
    }
}

//! The whole state of one cockpit, and the one function that changes it.

mod controls_ops;
mod interrupted;
mod manual_step;
pub mod merge;
#[cfg(test)]
mod read_only_tests;
mod traffic_ops;

use std::collections::BTreeSet;

pub use controls_ops::{ControlsInfo, ControlsOp, NOT_HOLDER, TriggerAction, TriggerRequest};
pub use manual_step::ManualWait;
pub use traffic_ops::{ApplyFailure, PersistedState};

use super::alert::Alert;
use super::automation::{Gate, Link, When, locked_phases};
use super::env::{Env, EnvNames, Weights};
use super::fault::{FaultPreset, FaultSpec};
use super::health::{HealthCell, HealthObservation, HealthState};
use super::runbook::{Runbook, Task};
use super::slo::{Judge, Outcome, SloRow, SloState};
use super::time::Ts;
use super::traffic::{Drift, StepKind, TrafficSpec, TrafficState};
use super::trigger::{Input, Labels, TriggerEvent, Triggers};

#[derive(Debug, Clone, PartialEq)]
pub struct Cockpit {
    /// Deployment name, e.g. `go-live`.
    pub deployment: String,
    /// Environment label shown in the header, e.g. `prod`.
    pub label: String,
    pub env_names: EnvNames,
    pub slos: Vec<SloRow>,
    pub health: Vec<HealthCell>,
    pub runbook: Option<Runbook>,
    /// Why the runbook could not be shown, when it could not.
    pub runbook_error: Option<String>,
    /// Tasks that tick themselves when something happens.
    pub links: Vec<Link>,
    /// Tasks that must be done before a traffic stage.
    pub gates: Vec<Gate>,
    /// IDs of tasks ticked by a link rather than by hand.
    pub auto_ticked: BTreeSet<String>,
    /// Since when every SLO has been ok in both environments.
    pub all_ok_since: Option<Ts>,
    /// The split as the router last reported it.
    pub weights: Option<(Ts, Weights)>,
    pub weights_error: Option<String>,
    /// Prometheus's active alerts (already filtered) as last read, or why they could not be read.
    pub alerts: Option<(Ts, Result<Vec<Alert>, String>)>,
    /// Alerts are polled (Prometheus is configured): the alerts panel is shown.
    pub alerts_enabled: bool,
    /// Running against the embedded fleet: the fault menu is offered.
    pub demo: bool,
    pub triggers: Triggers,
    /// Start a rollback by itself when an immediate trigger fires.
    pub auto_rollback: bool,
    /// A rollback was asked for (by a trigger or an operator); not asked twice.
    pub rollback_requested: bool,
    /// Health observations older than this count as stale for outage triggers.
    pub health_stale_ms: Option<i64>,
    /// Who operates this cockpit (`alice@ops1`, as the audit names them), for the log, trigger
    /// notes and the traffic history.
    pub operator: String,
    /// Local time's offset from UTC, for clock times in trigger reasons.
    pub utc_offset_secs: i32,
    pub now: Ts,
    /// The traffic split: stages, soak, history, rollback procedure.
    pub traffic: TrafficState,
    /// Whether this cockpit may move traffic: it holds the controls lease (or has no state dir
    /// to share).
    pub controls_held: bool,
    /// A viewer's cockpit: it watches, and never moves traffic, writes a file or the audit log.
    pub read_only: bool,
    /// Who holds the controls, who watches, who asks (from the state dir's lease).
    pub controls: ControlsInfo,
    /// The router's split differs from what cutover expects.
    pub drift: Option<Drift>,
    /// The last traffic change that failed part-way, until it is retried, reverted or superseded.
    pub apply_failure: Option<ApplyFailure>,
    /// A traffic change stopped at a manual actuator step, until the operator confirms or gives up.
    pub manual_wait: Option<ManualWait>,
    /// The stage start whose soak was already announced as passed.
    pub soak_announced: Option<Ts>,
    /// What moves traffic, for the confirmation dialogs: `webhook PUT http://…/weights`.
    pub actuators: Vec<String>,
    /// The last `state.json` this cockpit knows to be on disk, with its generation: the base of
    /// the three-way merge when someone else writes it, and what tells a stale reading.
    pub synced: Option<(u64, PersistedState)>,
    /// On the holder: an observer's request to raise, lower or acknowledge a trigger, until `y`/`n`.
    pub trigger_request: Option<TriggerRequest>,
    /// A popup the operator must see (the controls taken, a rollback from elsewhere), until `esc`.
    pub notice: Option<Notice>,
    /// `gate = true/false` per SLO (by index) where the config says; otherwise every
    /// per-environment SLO gates (see [`Cockpit::slo_gates`]).
    pub slo_gate: Vec<Option<bool>>,
    /// What an override reason must look like.
    pub override_rule: crate::domain::traffic::OverrideRule,
    /// The router's reading came from a one-shot look after the state was loaded
    /// ([`Cockpit::fresh_reading`]), not from a poll that may have started before a change.
    pub weights_fresh: bool,
    /// When the soak's counted time was last handed to be saved.
    pub soak_saved: Option<Ts>,
    /// The soak's pause was last said as paused (`true`) or counting (`false`).
    pub soak_logged: bool,
}

/// A popup: what happened, said once with the bell, shown until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub at: Ts,
    pub title: String,
    pub text: String,
}

/// Everything that can happen to the cockpit.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Time passed; ages and staleness move on.
    Tick,
    Sample {
        slo: usize,
        env: Env,
        outcome: Outcome,
    },
    Health {
        target: usize,
        obs: HealthObservation,
    },
    Weights(Result<Weights, String>),
    /// Prometheus's active alerts that match the configured labels, or why they could not be read.
    Alerts(Result<Vec<Alert>, String>),
    /// The operator chose an entry of the demo's fault menu.
    Fault(FaultPreset),
    /// The runbook as now on disk, with a note on why it changed.
    Runbook {
        runbook: Runbook,
        note: Option<String>,
    },
    /// Reading or writing the runbook failed.
    RunbookFailed(String),
    /// The operator ticks or unticks a task.
    ToggleTask(Task),
    /// Points read back from before the cockpit started, for the sparklines.
    History {
        slo: usize,
        env: Env,
        points: Result<Vec<(Ts, f64)>, String>,
    },
    /// The operator acknowledges a firing trigger.
    AckTrigger(usize),
    /// The operator raises (or lowers) a manual trigger, with a reason.
    RaiseTrigger {
        trigger: usize,
        reason: String,
    },
    LowerTrigger {
        trigger: usize,
        reason: String,
    },
    /// The operator asks to move blue to the next stage (or to `to`); failing gates need a reason.
    Advance {
        to: Option<u8>,
        override_reason: Option<String>,
    },
    /// The operator (or a trigger) sends all traffic back to green; an empty reason is given
    /// afterwards with [`Event::RollbackReason`].
    Rollback {
        reason: String,
    },
    /// The reason of a rollback ordered without one.
    RollbackReason {
        reason: String,
    },
    /// The actuators carried out change `seq` (`0`: a revert to the recorded split).
    Applied {
        seq: u64,
        detail: String,
    },
    /// The actuators failed change `seq`; `steps_done` names the actuators that did their part.
    ApplyFailed {
        seq: u64,
        error: String,
        steps_done: Vec<String>,
    },
    /// The actuators' readback of the router's split (`None`: they cannot tell).
    ActualWeights(Result<Option<Weights>, String>),
    /// The router's reading taken at start-up, which settles a change found interrupted
    /// (`Ok(None)`: no actuator can read it back). Then handled as [`Event::ActualWeights`].
    Reconcile(Result<Option<Weights>, String>),
    /// The operator ticks a step of the rollback procedure.
    TickRollbackStep(StepKind),
    /// After a part-way failure: set the router back to the split cutover has recorded.
    Revert,
    /// After a rollback whose procedure is complete: the go-live may start again from 0 %.
    Resume {
        reason: String,
    },
    /// Record the router's split (changed outside cutover) as the stage, with a reason.
    Adopt {
        reason: String,
    },
    /// The controls as the poller last saw them, with a line for the log (an answer to a request).
    Controls {
        info: ControlsInfo,
        note: Option<String>,
    },
    /// The operator takes, hands over or keeps the controls.
    ControlsKey(ControlsOp),
    /// `state.json` as someone else wrote it (the holder, or a CLI verb), who, and its generation.
    StateLoaded {
        state: Box<PersistedState>,
        by: Option<String>,
        generation: u64,
    },
    /// This cockpit's own save is on disk as `state` (merged with a change made elsewhere meanwhile,
    /// if there was one) at `generation`.
    StateSaved {
        state: Box<PersistedState>,
        generation: u64,
    },
    /// Someone took the controls from this holder without asking (`--take-controls` from a shell).
    ControlsTaken {
        by: String,
        reason: String,
    },
    /// The operator closes the popup.
    DismissNotice,
    /// An observer asks the holder to raise, lower or acknowledge a trigger (see
    /// [`TriggerRequest`]); on an observer, the operator's key sends one.
    TriggerRequest(TriggerRequest),
    /// The holder answers the trigger request shown: do it (`true`) or decline.
    AnswerTriggerRequest(bool),
    /// The actuators stopped change `seq` at a manual step (`next_step` runs once confirmed).
    NeedsConfirmation {
        seq: u64,
        weights: Weights,
        stage: String,
        next_step: usize,
        instruction: String,
        steps_done: Vec<String>,
    },
    /// The operator did the manual step.
    ConfirmManual,
    /// The operator cannot do the manual step: the change fails, the stage stays.
    AbandonManual {
        why: String,
    },
}

impl Event {
    /// Calls `f` on every string in the event that came from outside cutover (a server's error,
    /// a body, a label, an actuator's answer), so the caller can scrub and bound them before the
    /// cockpit keeps, shows or logs them.
    pub fn outside_texts(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Event::Sample { outcome: Outcome::TooFew(s) | Outcome::Error(s), .. } => f(s),
            Event::Health { obs, .. } => f(&mut obs.detail),
            Event::Weights(Err(e))
            | Event::ActualWeights(Err(e))
            | Event::Reconcile(Err(e))
            | Event::History { points: Err(e), .. }
            | Event::Alerts(Err(e))
            | Event::RunbookFailed(e) => f(e),
            Event::Alerts(Ok(alerts)) => {
                for a in alerts {
                    f(&mut a.name);
                    a.labels.values_mut().for_each(&mut *f);
                    a.summary.iter_mut().chain(a.value.iter_mut()).chain(a.active_at.iter_mut()).for_each(&mut *f);
                }
            }
            Event::Applied { detail, .. } => f(detail),
            Event::ApplyFailed { error, steps_done, .. } => {
                f(error);
                steps_done.iter_mut().for_each(f);
            }
            _ => {}
        }
    }

    /// What an operator's action is called, for the read-only refusal; `None` for what is only
    /// watched (readings, the runbook as on disk, time passing).
    pub fn action(&self) -> Option<&'static str> {
        Some(match self {
            Event::ToggleTask(_) => "ticking a task",
            Event::Advance { .. } => "advancing traffic",
            Event::Rollback { .. } => "rolling back",
            Event::RollbackReason { .. } => "giving the rollback's reason",
            Event::Revert => "reverting the router",
            Event::Resume { .. } => "resuming the go-live",
            Event::Adopt { .. } => "adopting the router's split",
            Event::TickRollbackStep(_) => "ticking a rollback step",
            Event::AckTrigger(_) => "acknowledging a trigger",
            Event::RaiseTrigger { .. } => "raising a trigger",
            Event::LowerTrigger { .. } => "lowering a trigger",
            Event::Fault(_) => "injecting a fault",
            Event::ConfirmManual => "confirming a manual traffic step",
            Event::AbandonManual { .. } => "giving up a manual traffic step",
            // Only the actuators of a traffic change send these; a viewer has none.
            Event::Applied { .. } | Event::ApplyFailed { .. } | Event::NeedsConfirmation { .. } => {
                "recording a traffic change"
            }
            // Settling a change cut off by a crash records it: a writer's job.
            Event::Reconcile(_) => "settling an interrupted traffic change",
            Event::ControlsKey(_) => "taking or handing over the controls",
            Event::Tick
            | Event::Sample { .. }
            | Event::Health { .. }
            | Event::Weights(_)
            | Event::Alerts(_)
            | Event::Runbook { .. }
            | Event::RunbookFailed(_)
            | Event::History { .. }
            | Event::ActualWeights(_)
            // Who holds the controls, and the state they wrote: a viewer follows both.
            | Event::Controls { .. }
            | Event::StateLoaded { .. }
            | Event::StateSaved { .. }
            | Event::ControlsTaken { .. }
            | Event::DismissNotice => return None,
            Event::TriggerRequest(_) => "asking for a trigger action",
            Event::AnswerTriggerRequest(_) => "answering a trigger request",
        })
    }
}

/// What the cockpit asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Write the task's checkbox to the runbook file.
    WriteTask {
        task: Task,
        done: bool,
    },
    PostFault(FaultSpec),
    ClearFaults,
    /// A line for the log pane and file.
    Log(Level, String),
    /// Ring the terminal bell (a trigger fired).
    Bell,
    /// Have the actuators set these weights, one change at a time; answer with `Applied` or
    /// `ApplyFailed` for `seq` (`0`: a revert the stage machine does not track).
    SetWeights {
        seq: u64,
        weights: Weights,
        /// The actuators' `{stage}` placeholder.
        stage: String,
    },
    /// After a confirmed manual step: the steps of change `seq` from `from_step` on.
    ContinueWeights {
        seq: u64,
        weights: Weights,
        stage: String,
        from_step: usize,
    },
    /// Save the persisted part of the state (see [`PersistedState`]) to the state dir.
    Persist,
    /// A line for the audit log: the action, the stage at the time, and what was seen.
    Audit {
        what: String,
        stage: String,
        detail: serde_json::Value,
    },
    /// Take, hand over or keep the controls (the lease in the state dir).
    Controls(ControlsOp),
    /// On an observer: hand a trigger request to the holder (through the state dir).
    SendTriggerRequest(TriggerRequest),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Cockpit {
    pub fn new(deployment: impl Into<String>, label: impl Into<String>) -> Self {
        Cockpit {
            deployment: deployment.into(),
            label: label.into(),
            env_names: EnvNames::default(),
            slos: Vec::new(),
            health: Vec::new(),
            runbook: None,
            runbook_error: None,
            links: Vec::new(),
            gates: Vec::new(),
            auto_ticked: BTreeSet::new(),
            all_ok_since: None,
            weights: None,
            weights_error: None,
            alerts: None,
            alerts_enabled: false,
            demo: false,
            triggers: Triggers::default(),
            auto_rollback: false,
            rollback_requested: false,
            health_stale_ms: None,
            operator: "operator".into(),
            utc_offset_secs: 0,
            now: Ts(0),
            traffic: TrafficState::new(TrafficSpec::default()),
            controls_held: true,
            read_only: false,
            controls: ControlsInfo::default(),
            drift: None,
            apply_failure: None,
            manual_wait: None,
            soak_announced: None,
            actuators: Vec::new(),
            synced: None,
            trigger_request: None,
            notice: None,
            slo_gate: Vec::new(),
            override_rule: Default::default(),
            weights_fresh: false,
            soak_saved: None,
            soak_logged: false,
        }
    }

    /// Applies one event at time `now` and returns what should be done about it.
    pub fn update(&mut self, event: Event, now: Ts) -> Vec<Command> {
        self.now = now;
        if self.read_only
            && let Some(what) = event.action()
        {
            return vec![Command::Log(Level::Warn, format!("read-only: {what} is not available"))];
        }
        let mut out = match self.as_trigger_request(&event, now) {
            Some(r) => {
                let mut out = Vec::new();
                self.send_trigger_request(r, &mut out);
                out
            }
            None => self.apply(event, now),
        };
        self.observer_writes_only_its_own(&mut out);
        if self.read_only {
            // Whatever a watched change asks for (saving a trigger state, an audit line) is not ours to do.
            out.retain(|c| matches!(c, Command::Log(..) | Command::Bell));
        }
        out
    }

    fn apply(&mut self, event: Event, now: Ts) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Tick => {
                self.check_all_ok(now, &mut out);
                self.traffic_tick(now, &mut out);
            }
            Event::Sample { slo, env, outcome } => {
                let Some(row) = self.slos.get_mut(slo) else {
                    out.push(Command::Log(Level::Error, format!("sample for unknown SLO #{slo} ignored")));
                    return out;
                };
                // Never had a number (only "no data yet" from a filling window, or nothing).
                let first = row.cell(env).value.is_none() && row.cell(env).consecutive_errors == 0;
                let before = row.env_state(env, now);
                row.cells[env.index()].record(now, outcome);
                let after = row.env_state(env, now);
                // The first reading coming in fine is not news; anything else that changes is.
                if before != after && !(first && after == SloState::Ok) {
                    out.push(match row.spec.judge {
                        // One verdict, on the sum: never one per environment.
                        Judge::Sum => self.sum_transition(slo, after),
                        Judge::PerEnv => self.slo_transition(slo, env, after),
                    });
                }
            }
            Event::Health { target, obs } => {
                let Some(cell) = self.health.get_mut(target) else {
                    out.push(Command::Log(Level::Error, format!("health for unknown target #{target} ignored")));
                    return out;
                };
                let before = cell.last.as_ref().map(|(_, o)| o.state);
                let after = obs.state;
                if before.is_some() && before != Some(after) {
                    let level = if after == HealthState::Up { Level::Info } else { Level::Warn };
                    let name = self.env_names.name(cell.env).to_string();
                    out.push(Command::Log(
                        level,
                        format!("{name} {} is {} ({})", cell.service, after.label(), obs.detail),
                    ));
                }
                cell.last = Some((now, obs));
            }
            Event::Weights(Ok(w)) => {
                if self.weights.map(|(_, old)| old) != Some(w) {
                    out.push(Command::Log(
                        Level::Info,
                        format!(
                            "router weights {}/{} ({} / {})",
                            w.blue, w.green, self.env_names.0[0], self.env_names.0[1]
                        ),
                    ));
                }
                self.weights = Some((now, w));
                self.weights_error = None;
                self.weights_fresh = false;
                self.check_drift(now, &mut out);
            }
            Event::Weights(Err(e)) => {
                if self.weights_error.as_deref() != Some(e.as_str()) {
                    out.push(Command::Log(Level::Warn, format!("router weights unknown: {e}")));
                }
                self.weights_error = Some(e);
            }
            Event::Alerts(alerts) => self.alerts = Some((now, alerts)),
            Event::Fault(preset) => {
                if !self.demo {
                    out.push(Command::Log(Level::Warn, "faults can only be injected into the demo fleet".into()));
                    return out;
                }
                out.push(Command::Log(Level::Warn, format!("demo fault: {}", preset.label())));
                out.push(match preset.spec() {
                    Some(spec) => Command::PostFault(spec),
                    None => Command::ClearFaults,
                });
            }
            Event::Runbook { runbook, note } => {
                if let Some(n) = note {
                    out.push(Command::Log(Level::Info, n));
                }
                self.runbook = Some(runbook);
                self.runbook_error = None;
            }
            Event::RunbookFailed(e) => out.push(Command::Log(Level::Error, e)),
            Event::ToggleTask(task) => self.toggle(task, &mut out),
            Event::History { slo, env, points } => match (self.slos.get_mut(slo), points) {
                (Some(row), Ok(points)) => row.cells[env.index()].backfill(&points),
                (Some(row), Err(e)) => {
                    let name = self.env_names.name(env);
                    out.push(Command::Log(Level::Warn, format!("{name} {}: no history: {e}", row.spec.name)));
                }
                (None, _) => {}
            },
            Event::AckTrigger(i) => {
                let by = self.operator.clone();
                let done = self.triggers.acknowledge(i, now, &by);
                self.trigger_action("trigger-ack", i, None, done.is_ok(), &mut out);
                self.trigger_outcome(i, done, &mut out);
            }
            Event::RaiseTrigger { trigger, reason } => {
                let by = self.operator.clone();
                let done = self.triggers.raise(trigger, now, &by, &reason);
                self.trigger_action("trigger-raise", trigger, Some(&reason), done.is_ok(), &mut out);
                self.trigger_outcome(trigger, done, &mut out);
            }
            Event::LowerTrigger { trigger, reason } => {
                let by = self.operator.clone();
                let done = self.triggers.lower(trigger, now, &by, &reason);
                self.trigger_action("trigger-lower", trigger, Some(&reason), done.is_ok(), &mut out);
                self.trigger_outcome(trigger, done, &mut out);
            }
            Event::Advance { .. }
            | Event::Rollback { .. }
            | Event::RollbackReason { .. }
            | Event::Revert
            | Event::Resume { .. }
            | Event::Adopt { .. }
            | Event::TickRollbackStep(_)
            | Event::ConfirmManual
            | Event::AbandonManual { .. }
                if self.refuse_unless_held(&mut out) => {}
            Event::Advance { to, override_reason } => self.advance(to, override_reason, now, &mut out),
            Event::Rollback { reason } => {
                let who = self.operator.clone();
                self.start_rollback(&reason, &who, now, &mut out);
            }
            Event::Applied { seq, detail } => self.applied(seq, &detail, now, &mut out),
            Event::ApplyFailed { seq, error, steps_done } => self.apply_failed(seq, &error, steps_done, now, &mut out),
            Event::ActualWeights(Ok(None)) => {}
            Event::ActualWeights(Ok(Some(w))) => return self.apply(Event::Weights(Ok(w)), now),
            Event::ActualWeights(Err(e)) => return self.apply(Event::Weights(Err(e)), now),
            Event::Reconcile(read) => {
                self.reconcile_interrupted(&read, now, &mut out);
                out.extend(self.apply(Event::ActualWeights(read), now));
                return out;
            }
            Event::TickRollbackStep(kind) => self.tick_rollback_step(kind, now, &mut out),
            Event::RollbackReason { reason } => self.rollback_reason(&reason, &mut out),
            Event::Revert => self.revert(&mut out),
            Event::Resume { reason } => self.resume(&reason, now, &mut out),
            Event::Adopt { reason } => self.adopt(&reason, now, &mut out),
            Event::Controls { info, note } => self.controls_changed(info, note, &mut out),
            Event::ControlsKey(op) => self.controls_op(op, &mut out),
            Event::StateLoaded { state, by, generation } => self.state_loaded(*state, by, generation, &mut out),
            Event::StateSaved { state, generation } => self.state_saved(*state, generation, &mut out),
            Event::ControlsTaken { by, reason } => self.controls_taken(&by, &reason, now, &mut out),
            Event::DismissNotice => self.notice = None,
            Event::TriggerRequest(r) => self.trigger_requested(r, now, &mut out),
            Event::AnswerTriggerRequest(yes) => self.answer_trigger_request(yes, now, &mut out),
            Event::NeedsConfirmation { seq, weights, stage, next_step, instruction, steps_done } => {
                let wait = ManualWait { seq, weights, stage, next_step, instruction, steps_done, since: now };
                self.manual_needed(wait, &mut out)
            }
            Event::ConfirmManual => self.confirm_manual(&mut out),
            Event::AbandonManual { why } => self.abandon_manual(&why, now, &mut out),
        }
        self.evaluate_triggers(now, &mut out);
        out
    }

    pub fn labels(&self) -> Labels<'_> {
        Labels { env_names: &self.env_names, slos: &self.slos, utc_offset_secs: self.utc_offset_secs }
    }

    /// Re-evaluates every trigger against the current readings.
    fn evaluate_triggers(&mut self, now: Ts, out: &mut Vec<Command>) {
        if self.triggers.is_empty() {
            return;
        }
        let input = Input {
            slos: &self.slos,
            health: &self.health,
            health_stale_ms: self.health_stale_ms,
            env_names: &self.env_names,
        };
        let events = self.triggers.evaluate_all(&input, now);
        for (i, e) in events {
            self.trigger_event(i, &e, out);
        }
        // Only the holder of the controls moves traffic; observers see the rollback in the state. A
        // viewer (which never holds them) says once that it does not start one.
        if let Some(i) = self.triggers.auto_rollback(self.auto_rollback)
            && (self.controls_held || self.read_only)
            && !self.rollback_requested
        {
            self.rollback_requested = true;
            if self.read_only {
                let name = &self.triggers.specs[i].name;
                out.push(Command::Log(
                    Level::Error,
                    format!("read-only: {name} asks for an automatic rollback; it is NOT started from this cockpit"),
                ));
                return;
            }
            let reason = format!("automatic rollback: {}", self.triggers.specs[i].name);
            out.push(Command::Log(Level::Error, reason.clone()));
            self.start_rollback(&reason, "auto-rollback", now, out);
        }
    }

    fn trigger_outcome(
        &mut self,
        i: usize,
        done: Result<Vec<TriggerEvent>, super::trigger::TriggerError>,
        out: &mut Vec<Command>,
    ) {
        match done {
            Ok(events) => events.iter().for_each(|e| self.trigger_event(i, e, out)),
            Err(e) => out.push(Command::Log(Level::Warn, e.to_string())),
        }
    }

    fn trigger_event(&self, i: usize, e: &TriggerEvent, out: &mut Vec<Command>) {
        let Some(spec) = self.triggers.specs.get(i) else { return };
        let level = match e {
            TriggerEvent::Fired { .. } | TriggerEvent::Raised { .. } => Level::Error,
            TriggerEvent::Pending { .. } => Level::Warn,
            _ => Level::Info,
        };
        out.push(Command::Log(level, e.text(spec)));
        if matches!(e, TriggerEvent::Fired { .. }) {
            let detail = serde_json::json!({ "trigger": spec.name, "tier": spec.tier.label(), "reason": e.text(spec) });
            self.audit("trigger-fired", detail, out);
        }
        if matches!(e, TriggerEvent::Fired { .. } | TriggerEvent::Cleared { .. }) {
            out.push(Command::Persist);
        }
        if e.rings_bell() {
            out.push(Command::Bell);
        }
    }

    fn toggle(&mut self, task: Task, out: &mut Vec<Command>) {
        let Some(rb) = &self.runbook else { return };
        let label = task.id.clone().unwrap_or_else(|| task.text.clone());
        let phase = rb.phases.iter().position(|p| p.tasks().any(|t| t.line == task.line));
        if let Some(i) = phase
            && !task.done
            && locked_phases(rb).get(i).copied().unwrap_or(false)
        {
            out.push(Command::Log(
                Level::Warn,
                format!("{label} ticked in \"{}\" before the phases it depends on are complete", rb.phases[i].title),
            ));
        }
        if task.done
            && let Some(id) = &task.id
        {
            self.auto_ticked.remove(id);
        }
        let done = !task.done;
        let what = if done { "tick" } else { "untick" };
        out.push(Command::WriteTask { task, done });
        self.audit(what, serde_json::json!({ "task": label }), out);
    }

    /// Something the cockpit did or saw that linked tasks may be waiting for.
    pub fn happened(&mut self, what: &When) -> Vec<Command> {
        let mut out = Vec::new();
        let ids: Vec<String> = self.links.iter().filter(|l| l.when == *what).map(|l| l.task.clone()).collect();
        for id in ids {
            self.auto_tick(&id, what, &mut out);
        }
        out
    }

    fn auto_tick(&mut self, id: &str, what: &When, out: &mut Vec<Command>) {
        // A viewer (read-only) or an observer ticks nothing: the holder does (once, audited), and
        // the others see it in the runbook and the state.
        if self.read_only || !self.controls_held {
            return;
        }
        let Some(rb) = &self.runbook else { return };
        let Some(task) = super::runbook::find(rb, id) else {
            out.push(Command::Log(Level::Warn, format!("linked task {id} is not in the runbook ({what})")));
            return;
        };
        if task.done || self.auto_ticked.contains(id) {
            return;
        }
        self.auto_ticked.insert(id.to_string());
        out.push(Command::Log(Level::Info, format!("{id} ticked automatically: {what}")));
        self.audit("auto-tick", serde_json::json!({ "task": id, "because": what.to_string() }), out);
        out.push(Command::Persist);
        out.push(Command::WriteTask { task: task.clone(), done: true });
    }

    /// Whether every SLO is ok in both environments right now.
    pub fn all_slos_ok(&self, now: Ts) -> bool {
        !self.slos.is_empty()
            && self.slos.iter().all(|row| Env::ALL.iter().all(|e| row.env_state(*e, now) == SloState::Ok))
    }

    fn check_all_ok(&mut self, now: Ts, out: &mut Vec<Command>) {
        if !self.all_slos_ok(now) {
            self.all_ok_since = None;
            return;
        }
        let since = *self.all_ok_since.get_or_insert(now);
        let held = now.0 - since.0;
        let due: Vec<(String, When)> = self
            .links
            .iter()
            .filter(|l| matches!(l.when, When::AllSlosOk { for_ms } if held >= for_ms))
            .map(|l| (l.task.clone(), l.when.clone()))
            .collect();
        for (id, when) in due {
            self.auto_tick(&id, &when, out);
        }
    }

    fn slo_transition(&self, slo: usize, env: Env, state: SloState) -> Command {
        let row = &self.slos[slo];
        let name = self.env_names.name(env);
        let level = match state {
            SloState::Ok | SloState::NoData => Level::Info,
            SloState::Breach | SloState::Stale => Level::Warn,
            SloState::Error => Level::Error,
        };
        let cell = row.cell(env);
        let detail = match (state, cell.current(&row.spec, self.now)) {
            (SloState::Ok | SloState::Breach, Ok(v)) => {
                format!("{} (objective {})", row.spec.objective.format_value(v), row.spec.objective)
            }
            // No value now: say why, never show an old value as if it were the current one.
            _ => cell.why(&row.spec, self.now).unwrap_or_default(),
        };
        Command::Log(level, format!("{name} {}: {} {detail}", row.spec.name, state.label()).trim_end().to_string())
    }

    /// The log line of a summed SLO's verdict: the sum and its parts.
    fn sum_transition(&self, slo: usize, state: SloState) -> Command {
        let row = &self.slos[slo];
        let level = match state {
            SloState::Ok | SloState::NoData => Level::Info,
            SloState::Breach | SloState::Stale => Level::Warn,
            SloState::Error => Level::Error,
        };
        let o = &row.spec.objective;
        let parts: Vec<String> = Env::ALL
            .iter()
            .map(|&e| {
                let cell = row.cell(e);
                let shown = match cell.current(&row.spec, self.now) {
                    Ok(v) => o.unit.format(v),
                    Err(s) => cell
                        .why(&row.spec, self.now)
                        .map_or_else(|| s.label().to_string(), |w| format!("{} ({w})", s.label())),
                };
                format!("{} {shown}", self.env_names.name(e))
            })
            .collect();
        let detail = match row.sum(self.now) {
            Ok(v) => format!("{} = {} (objective {o})", o.format_value(v), parts.join(" + ")),
            Err(_) => parts.join(", "),
        };
        Command::Log(level, format!("{} (sum): {} {detail}", row.spec.name, state.label()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::slo::{Judge, SloSpec};

    fn cockpit() -> Cockpit {
        let mut c = Cockpit::new("go-live", "prod");
        c.slos.push(SloRow::new(SloSpec {
            name: "error rate".into(),
            objective: "< 1%".parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        }));
        c.health.push(HealthCell::new("api-gateway", Env::Blue));
        c
    }

    #[test]
    fn no_data_is_logged_with_its_reason_and_a_sum_with_one_verdict() {
        let mut c = cockpit();
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.002) }, Ts(1000));
        let why = Outcome::TooFew("37 requests in 60s < 100".into());
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: why }, Ts(2000));
        let [Command::Log(Level::Info, m)] = &out[..] else { panic!("{out:?}") };
        assert_eq!(m, "blue error rate: no data 37 requests in 60s < 100", "the reason, not the old 0.20%");

        c.slos.push(SloRow::new(SloSpec {
            name: "throughput".into(),
            objective: ">= 200/s".parse().unwrap(),
            judge: Judge::Sum,
            interval_ms: 1000,
        }));
        let mut logs = Vec::new();
        for (env, v, t) in [(Env::Blue, 30.0, 3000), (Env::Green, 190.0, 3000), (Env::Green, 150.0, 4000)] {
            logs.extend(c.update(Event::Sample { slo: 1, env, outcome: Outcome::Value(v) }, Ts(t)));
        }
        let texts: Vec<&str> =
            logs.iter().filter_map(|l| if let Command::Log(_, m) = l { Some(m.as_str()) } else { None }).collect();
        assert_eq!(
            texts,
            ["throughput (sum): breach 180/s = blue 30/s + green 150/s (objective ≥ 200/s)"],
            "one verdict on the sum, never blue's 30/s judged on its own"
        );
    }

    #[test]
    fn a_breach_is_logged_once_on_the_transition() {
        let mut c = cockpit();
        assert!(c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::NoData }, Ts(500)).is_empty());
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.002) }, Ts(1000));
        assert!(out.is_empty(), "a first reading that is fine is not logged, even after a filling window: {out:?}");
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.03) }, Ts(2000));
        assert!(
            matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("breach") && m.contains("3.00%")),
            "{out:?}"
        );
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.04) }, Ts(3000));
        assert!(out.is_empty(), "no new transition: {out:?}");
        assert_eq!(c.slos[0].env_state(Env::Blue, Ts(3000)), SloState::Breach);
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.001) }, Ts(4000));
        assert!(matches!(&out[..], [Command::Log(Level::Info, m)] if m.contains("blue error rate: ok")), "{out:?}");
    }

    #[test]
    fn unknown_indices_are_reported_not_panicked_on() {
        let mut c = cockpit();
        let out = c.update(Event::Sample { slo: 9, env: Env::Green, outcome: Outcome::NoData }, Ts(0));
        assert!(matches!(&out[..], [Command::Log(Level::Error, _)]));
        let obs =
            HealthObservation { state: HealthState::Up, latency_ms: Some(1), code: Some(200), detail: "pass".into() };
        let out = c.update(Event::Health { target: 9, obs }, Ts(0));
        assert!(matches!(&out[..], [Command::Log(Level::Error, _)]));
    }

    #[test]
    fn faults_only_in_the_demo() {
        let mut c = cockpit();
        let out = c.update(Event::Fault(FaultPreset::ErrorSpike), Ts(0));
        assert!(!out.iter().any(|c| matches!(c, Command::PostFault(_))));
        c.demo = true;
        let out = c.update(Event::Fault(FaultPreset::ErrorSpike), Ts(0));
        assert!(out.iter().any(|c| matches!(c, Command::PostFault(f) if f.error_ratio > 0.05)));
        let out = c.update(Event::Fault(FaultPreset::Clear), Ts(0));
        assert!(out.contains(&Command::ClearFaults));
    }

    #[test]
    fn a_task_linked_to_all_slos_ok_ticks_itself_once_after_the_hold() {
        let mut c = cockpit();
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1 watch\n- [ ] T2 other\n").unwrap());
        c.links = vec![Link { task: "T1".into(), when: When::AllSlosOk { for_ms: 2000 } }];
        for env in Env::ALL {
            c.update(Event::Sample { slo: 0, env, outcome: Outcome::Value(0.001) }, Ts(0));
        }
        assert!(c.update(Event::Tick, Ts(500)).is_empty());
        // A breach breaks the streak.
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.02) }, Ts(900));
        c.update(Event::Tick, Ts(1000));
        assert_eq!(c.all_ok_since, None);
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.001) }, Ts(1100));
        assert!(c.update(Event::Tick, Ts(1500)).is_empty());
        for env in Env::ALL {
            c.update(Event::Sample { slo: 0, env, outcome: Outcome::Value(0.001) }, Ts(3000));
        }
        assert!(c.update(Event::Tick, Ts(3400)).is_empty(), "held 1.9 s of 2 s");
        let out = c.update(Event::Tick, Ts(3600));
        assert!(
            out.iter()
                .any(|x| matches!(x, Command::WriteTask { task, done: true } if task.id.as_deref() == Some("T1"))),
            "{out:?}"
        );
        assert!(c.auto_ticked.contains("T1"));
        assert!(!out.iter().any(|x| matches!(x, Command::WriteTask { task, .. } if task.id.as_deref() == Some("T2"))));
        assert!(c.update(Event::Tick, Ts(3700)).is_empty(), "asked once only");
    }

    #[test]
    fn stage_links_fire_on_the_event_and_missing_tasks_are_reported() {
        let mut c = cockpit();
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1217 route 10%\n").unwrap());
        c.links = vec![
            Link { task: "T1217".into(), when: When::Stage(10) },
            Link { task: "T9999".into(), when: When::Stage(10) },
        ];
        assert!(c.happened(&When::Stage(25)).is_empty());
        let out = c.happened(&When::Stage(10));
        assert!(out.iter().any(|x| matches!(x, Command::WriteTask { task, .. } if task.line == 2)), "{out:?}");
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m) if m.contains("T9999"))), "{out:?}");
    }

    #[test]
    fn ticking_in_a_locked_phase_is_allowed_with_a_warning() {
        let mut c = cockpit();
        let rb = "## A\n- [ ] T1 a\n## B\n- [ ] T2 b\n## Dependencies\n```\nA (T1-T1) → B (T2-T2)\n```\n";
        c.runbook = Some(crate::domain::runbook::parse(rb.as_bytes()).unwrap());
        let t2 = c.runbook.as_ref().unwrap().find("T2").unwrap().clone();
        let out = c.update(Event::ToggleTask(t2), Ts(0));
        assert!(
            matches!(&out[0], Command::Log(Level::Warn, m) if m.contains("before the phases it depends on")),
            "{out:?}"
        );
        assert!(matches!(&out[1], Command::WriteTask { done: true, .. }));
        let t1 = c.runbook.as_ref().unwrap().find("T1").unwrap().clone();
        let out = c.update(Event::ToggleTask(t1), Ts(0));
        assert!(
            matches!(&out[..], [Command::WriteTask { done: true, .. }, Command::Audit { .. }]),
            "no warning in an open phase, and an audit entry: {out:?}"
        );
    }

    #[test]
    fn alerts_are_kept_with_their_time() {
        let mut c = cockpit();
        assert!(c.update(Event::Alerts(Err("connection refused".into())), Ts(5)).is_empty());
        assert_eq!(c.alerts, Some((Ts(5), Err("connection refused".into()))));
        assert!(c.update(Event::Alerts(Ok(Vec::new())), Ts(7)).is_empty());
        assert_eq!(c.alerts, Some((Ts(7), Ok(Vec::new()))));
    }

    #[test]
    fn health_changes_are_logged() {
        let mut c = cockpit();
        let up =
            HealthObservation { state: HealthState::Up, latency_ms: Some(2), code: Some(200), detail: "pass".into() };
        assert!(c.update(Event::Health { target: 0, obs: up.clone() }, Ts(0)).is_empty());
        let down = HealthObservation { state: HealthState::Down, code: Some(503), detail: "fail".into(), ..up };
        let out = c.update(Event::Health { target: 0, obs: down }, Ts(1000));
        assert!(
            matches!(&out[..], [Command::Log(Level::Warn, m)] if m == "blue api-gateway is down (fail)"),
            "{out:?}"
        );
    }
}

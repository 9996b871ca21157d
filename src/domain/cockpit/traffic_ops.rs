//! The cockpit's side of the traffic stage machine: gates from what the cockpit sees, effects
//! turned into commands, stage changes rippling into triggers and runbook links, the audit trail,
//! and the part of the state that must survive a restart.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Cockpit, Command, Level};
use crate::domain::automation::When;
use crate::domain::env::Env;
use crate::domain::slo::Judge;
use crate::domain::slo::SloState;
use crate::domain::status::StatusReport;
use crate::domain::time::Ts;
use crate::domain::traffic::SoakOn;
use crate::domain::traffic::{
    Effect, Gate, GateInputs, MoveKind, NextUp, Preview, Refusal, SloFailure, StepKind, TrafficState, describe,
    format_countdown,
};
use crate::domain::trigger::{Input, Phase, TriggerState};

/// A router reading this soon after a change may predate it: drift is not judged yet.
pub const SETTLE_MS: i64 = 5_000;

/// How often the holder saves the soak's counted healthy time while nothing else changes.
pub const SOAK_SAVE_MS: i64 = 10_000;

/// What the state dir keeps of a cockpit (`state.json`, schema 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedState {
    pub traffic: TrafficState,
    /// Trigger states by trigger name.
    #[serde(default)]
    pub triggers: BTreeMap<String, TriggerState>,
    /// Tasks ticked by a link rather than by hand.
    #[serde(default)]
    pub auto_ticked: BTreeSet<String>,
}

/// A traffic change the actuators failed, with what they did manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyFailure {
    pub at: Ts,
    pub kind: MoveKind,
    pub from: u8,
    pub to: u8,
    pub error: String,
    /// Actuators that did their part before the failure: the router may be half-way.
    pub steps_done: Vec<String>,
}

impl Cockpit {
    /// What the state dir should keep.
    pub fn persisted(&self) -> PersistedState {
        PersistedState {
            traffic: self.traffic.clone(),
            triggers: self.triggers.snapshot(),
            auto_ticked: self.auto_ticked.clone(),
        }
    }

    /// Takes a saved state back. A stored go-live whose stages differ from the configured ones
    /// keeps its own (a running go-live is never re-indexed silently); the warning says so.
    pub fn restore(&mut self, saved: PersistedState) -> Vec<String> {
        let mut warnings = Vec::new();
        if saved.traffic.spec != self.traffic.spec {
            warnings.push(format!(
                "the state dir's go-live runs with stages {} (soaks {}), the config says {} (soaks {}); \
                 keeping the stored stages — start a new state dir to use the new ones",
                percents(&saved.traffic),
                soaks(&saved.traffic),
                percents(&self.traffic),
                soaks(&self.traffic)
            ));
        }
        // How the soak counts is the configuration's; what it counted is the state's.
        let policy = self.traffic.soak_policy;
        self.traffic = saved.traffic;
        self.traffic.soak_policy = policy;
        self.triggers.restore(saved.triggers);
        self.auto_ticked = saved.auto_ticked;
        warnings
    }

    /// For a cutover that may write, at start-up: a change the state still marks in flight is
    /// no longer being applied by anyone (the one writer died), so it becomes interrupted, to be
    /// settled by the router's reading. Returns a warning saying so.
    pub fn take_over_in_flight(&mut self) -> Option<String> {
        let p = self.traffic.pending.as_ref()?;
        let warning = format!(
            "{} was in flight when cutover stopped: it is checked against the router, never repeated",
            crate::domain::traffic::describe(p)
        );
        self.traffic.interrupt();
        Some(warning)
    }

    /// A router reading taken after the state was loaded, with no change in flight (a one-shot
    /// look): drift is judged at once, without the settling time a live cockpit allows.
    pub fn fresh_reading(&mut self, w: crate::domain::env::Weights, now: Ts) {
        self.weights = Some((now, w));
        self.weights_error = None;
        self.weights_fresh = true;
        if self.traffic.pending.is_none() {
            self.drift = self.traffic.drift(w);
        }
    }

    /// The stage as text for the audit log: `25%`, `0% (rolled back)`.
    pub fn stage_label(&self) -> String {
        if self.traffic.is_rolled_back() {
            format!("{}% (rolled back)", self.traffic.blue_percent)
        } else {
            format!("{}%", self.traffic.blue_percent)
        }
    }

    /// The gates as the cockpit sees them for an advance to `to` (or the next stage).
    pub fn gate_inputs(&self, to: Option<u8>) -> GateInputs {
        let firing_triggers = self.triggers.firing().map(|i| self.triggers.specs[i].name.clone()).collect();
        let target = self.traffic.resolve_target(to).ok().map(|(_, s)| s.blue_percent);
        let open_gate_tasks = match self.traffic.resolve_target(to) {
            Ok((_, stage)) => self
                .gates
                .iter()
                .filter(|g| g.stage == stage.blue_percent)
                .flat_map(|g| g.open(self.runbook.as_ref()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let now = self.now;
        let blue = self.env_names.name(Env::Blue).to_string();
        let no_traffic = self.traffic.blue_percent == 0;
        let (mut slo_failing, mut slo_no_traffic, mut slo_gating) = (Vec::new(), Vec::new(), 0);
        for (i, row) in self.slos.iter().enumerate() {
            if !self.slo_gates(i) {
                continue;
            }
            slo_gating += 1;
            let what = format!("{blue} {}", row.spec.name);
            let state = row.env_state(Env::Blue, now);
            let cell = row.cell(Env::Blue);
            let detail = match state {
                SloState::Ok => continue,
                SloState::NoData if no_traffic => {
                    slo_no_traffic.push(what);
                    continue;
                }
                SloState::Breach => match row.spec.judge {
                    Judge::PerEnv => match cell.current(&row.spec, now) {
                        Ok(v) => format!("{} breaches {}", row.spec.objective.format_value(v), row.spec.objective),
                        Err(_) => "breach".to_string(),
                    },
                    Judge::Sum => match row.sum(now) {
                        Ok(v) => {
                            format!("{} (sum) breaches {}", row.spec.objective.format_value(v), row.spec.objective)
                        }
                        Err(_) => "breach".to_string(),
                    },
                },
                SloState::NoData => "no data".to_string(),
                SloState::Error => match &cell.last_error {
                    Some((_, e)) => format!("error: {e}"),
                    None => "error".to_string(),
                },
                SloState::Stale => match cell.age(now) {
                    Some(a) => format!("stale: last read {} ago", crate::domain::time::format_age(a)),
                    None => "stale".to_string(),
                },
            };
            slo_failing.push(SloFailure { what, state: state.label().to_string(), detail });
        }
        let pending_triggers = self
            .triggers
            .specs
            .iter()
            .zip(&self.triggers.states)
            .filter_map(|(spec, st)| match st.phase() {
                Phase::Pending { .. } => {
                    let held = st.elapsed_ms(now);
                    Some(format!(
                        "{} pending {}, fires in {}",
                        spec.name,
                        format_countdown(held),
                        format_countdown(spec.for_ms - held)
                    ))
                }
                _ => None,
            })
            .collect();
        let drift = if let Some(d) = &self.drift {
            Some(d.to_string())
        } else if let Some(p) = self.traffic.interrupted.as_ref().filter(|p| Some(p.to) != target) {
            // Trying the interrupted change again is how one of its ways out goes.
            Some(format!("{} was interrupted and the router did not settle it", describe(p)))
        } else {
            self.weights_error.as_ref().map(|e| format!("the router cannot be read: {e}"))
        };
        GateInputs {
            firing_triggers,
            open_gate_tasks,
            controls_held: self.controls_held,
            slo_failing,
            slo_gating,
            slo_no_traffic,
            pending_triggers,
            drift,
            router: self.weights.map(|(_, w)| format!("{}/{}", w.blue, w.green)),
            override_rule: self.override_rule.clone(),
        }
    }

    /// Whether SLO `i` gates an advance and the soak: `gate = …` on its `[[slo]]`, else every
    /// per-environment SLO.
    pub fn slo_gates(&self, i: usize) -> bool {
        let Some(row) = self.slos.get(i) else { return false };
        self.slo_gate.get(i).copied().flatten().unwrap_or(row.spec.judge == Judge::PerEnv)
    }

    /// What the header says comes next, with the gates: `next 25% blocked: blue error rate
    /// breach`, `next 50% in 12:41 (paused: blue error rate breach since 14:02:11)`; clock times
    /// in local time.
    pub fn next_hint(&self) -> String {
        let next = self.traffic.next_up(self.now);
        let green = &self.env_names.0[1];
        let NextUp::Stage { percent, in_ms } = next else { return next.label(green) };
        if in_ms > 0 {
            let mut s = next.label(green);
            if let Some((since, why)) = self.traffic.soak_paused(self.now) {
                s.push_str(&format!(" (paused: {why} since {})", self.clock(since)));
            }
            return s;
        }
        let blocked: Vec<String> = match self.preview_advance(None) {
            Ok(p) => p.failing.iter().filter(|g| !matches!(g, Gate::Controls)).map(Gate::short).collect(),
            Err(_) => Vec::new(),
        };
        if blocked.is_empty() { next.label(green) } else { format!("next {percent}% blocked: {}", blocked.join(", ")) }
    }

    /// `14:02:11` in local time.
    pub fn clock(&self, ts: Ts) -> String {
        let s = (ts.0.div_euclid(1000) + i64::from(self.utc_offset_secs)).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    }

    /// Records the router's split as the stage (after it changed outside cutover), audited.
    pub(super) fn adopt(&mut self, reason: &str, now: Ts, out: &mut Vec<Command>) {
        let Some((_, w)) = self.weights else {
            let why = self.weights_error.as_deref().unwrap_or("no actuator or router source reads it back");
            out.push(Command::Log(Level::Warn, format!("the router's split is unknown ({why}): nothing to adopt")));
            return;
        };
        let who = self.operator.clone();
        let from = self.traffic.blue_percent;
        match self.traffic.adopt(w, reason, &who, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.apply_failure = None;
                self.drift = None;
                self.effects(effects, out);
                let detail = json!({
                    "from": from,
                    "to": self.traffic.blue_percent,
                    "router": format!("{}/{}", w.blue, w.green),
                    "reason": reason.trim(),
                });
                self.audit("adopt", detail, out);
                self.stage_changed(now, out);
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, refusal.to_string())),
        }
    }

    /// What an advance would do now, with the gates that fail.
    pub fn preview_advance(&self, to: Option<u8>) -> Result<Preview, Refusal> {
        self.traffic.preview(to, &self.gate_inputs(to), self.now)
    }

    /// The SLO, health and trigger snapshot that goes into every audit entry.
    pub fn audit_snapshot(&self) -> Value {
        let status = serde_json::to_value(StatusReport::of(self, self.now)).unwrap_or(Value::Null);
        let triggers: Vec<Value> = self
            .triggers
            .specs
            .iter()
            .zip(&self.triggers.states)
            .map(|(spec, st)| json!({ "name": spec.name, "tier": spec.tier.label(), "phase": st.phase().label() }))
            .collect();
        json!({ "status": status, "triggers": triggers })
    }

    pub(super) fn audit(&self, what: &str, mut detail: Value, out: &mut Vec<Command>) {
        if let Value::Object(map) = &mut detail
            && let Value::Object(snap) = self.audit_snapshot()
        {
            map.extend(snap);
        }
        out.push(Command::Audit { what: what.to_string(), stage: self.stage_label(), detail });
    }

    pub(super) fn trigger_action(&self, what: &str, i: usize, reason: Option<&str>, ok: bool, out: &mut Vec<Command>) {
        let Some(spec) = self.triggers.specs.get(i) else { return };
        if ok {
            self.audit(what, json!({ "trigger": spec.name, "reason": reason }), out);
            out.push(Command::Persist);
        }
    }

    pub(super) fn effects(&self, effects: Vec<Effect>, out: &mut Vec<Command>) {
        for e in effects {
            match e {
                Effect::SetWeights { seq, weights, stage } => out.push(Command::SetWeights { seq, weights, stage }),
                Effect::Audit(level, line) => out.push(Command::Log(level, line)),
            }
        }
    }

    /// Write-ahead: the log lines, then the state with the change marked pending, and only then
    /// the actuator call. A crash between the two leaves a trace that start-up reconciles.
    fn persist_then_move(&self, effects: Vec<Effect>, out: &mut Vec<Command>) {
        let (moves, rest): (Vec<Effect>, Vec<Effect>) =
            effects.into_iter().partition(|e| matches!(e, Effect::SetWeights { .. }));
        self.effects(rest, out);
        out.push(Command::Persist);
        self.effects(moves, out);
    }

    pub(super) fn advance(&mut self, to: Option<u8>, reason: Option<String>, now: Ts, out: &mut Vec<Command>) {
        let gates = self.gate_inputs(to);
        let who = self.operator.clone();
        match self.traffic.advance(to, &gates, reason.clone(), &who, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.apply_failure = None;
                let p = self.traffic.pending.clone();
                let detail = json!({
                    "from": p.as_ref().map(|p| p.from),
                    "to": p.as_ref().map(|p| p.to),
                    "override_reason": p.as_ref().and_then(|p| p.reason.clone()),
                    "overridden": p.as_ref().map(|p| p.overridden.iter().map(ToString::to_string).collect::<Vec<_>>()),
                    "overridden_gates": p.as_ref().map(|p| p.overridden.iter().map(Gate::kind).collect::<Vec<_>>()),
                    "gates": p.as_ref().map(|p| p.gates.clone()),
                });
                let what =
                    if p.as_ref().is_some_and(|p| !p.overridden.is_empty()) { "advance-override" } else { "advance" };
                self.audit(what, detail, out);
                self.persist_then_move(effects, out);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, refusal.to_string())),
        }
    }

    pub(super) fn start_rollback(&mut self, reason: &str, who: &str, now: Ts, out: &mut Vec<Command>) {
        let (next, effects) = self.traffic.rollback(reason, who, now);
        let from = self.traffic.blue_percent;
        let first = !self.traffic.is_rolled_back();
        self.traffic = next;
        self.rollback_requested = true;
        self.apply_failure = None;
        self.manual_wait = None;
        self.audit("rollback", json!({ "from": from, "to": 0, "reason": reason, "by": who }), out);
        self.stage_changed(now, out);
        if first {
            out.extend(self.happened(&When::RollbackStarted));
        }
        self.persist_then_move(effects, out);
    }

    /// A new split took effect: per-stage trigger history starts again.
    pub(super) fn stage_changed(&mut self, now: Ts, _out: &mut [Command]) {
        let input = Input {
            slos: &self.slos,
            health: &self.health,
            health_stale_ms: self.health_stale_ms,
            env_names: &self.env_names,
        };
        self.triggers.reset_stage(&input, now);
        self.drift = None;
    }

    pub(super) fn applied(&mut self, seq: u64, detail: &str, now: Ts, out: &mut Vec<Command>) {
        if seq == 0 {
            out.push(Command::Log(Level::Info, format!("router set back to the recorded split: {detail}")));
            self.apply_failure = None;
            let interrupted = self.traffic.interrupted.take();
            self.audit("revert", json!({ "result": detail }), out);
            if interrupted.is_some() {
                out.push(Command::Persist);
            }
            return;
        }
        let kind = self.traffic.pending.as_ref().filter(|p| p.seq == seq).map(|p| p.kind);
        match self.traffic.applied(seq, detail, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.apply_failure = None;
                self.manual_wait = None;
                self.effects(effects, out);
                let what = if kind == Some(MoveKind::Advance) { "advance-applied" } else { "rollback-routed" };
                self.audit(what, json!({ "seq": seq, "result": detail }), out);
                if kind == Some(MoveKind::Advance) {
                    self.stage_changed(now, out);
                    out.extend(self.happened(&When::Stage(self.traffic.blue_percent)));
                }
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, format!("actuators confirmed a change: {refusal}"))),
        }
    }

    pub(super) fn apply_failed(
        &mut self,
        seq: u64,
        error: &str,
        steps_done: Vec<String>,
        now: Ts,
        out: &mut Vec<Command>,
    ) {
        if seq == 0 {
            out.push(Command::Log(Level::Error, format!("revert FAILED: {error}")));
            return;
        }
        let pending = self.traffic.pending.clone().filter(|p| p.seq == seq);
        match self.traffic.apply_failed(seq, error, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.manual_wait = None;
                self.effects(effects, out);
                if let Some(p) = pending {
                    if !steps_done.is_empty() {
                        out.push(Command::Log(
                            Level::Error,
                            format!(
                                "part-way: {} did their part; the router may be between {}% and {}%: \
                                 a retries, V sets it back to {}%",
                                steps_done.join(", "),
                                p.from,
                                p.to,
                                self.traffic.blue_percent
                            ),
                        ));
                    }
                    let what = if p.kind == MoveKind::Rollback { "rollback-failed" } else { "advance-failed" };
                    self.audit(what, json!({ "seq": seq, "error": error, "steps_done": steps_done }), out);
                    self.apply_failure = Some(ApplyFailure {
                        at: now,
                        kind: p.kind,
                        from: p.from,
                        to: p.to,
                        error: error.to_string(),
                        steps_done,
                    });
                }
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, format!("actuators reported a failure: {refusal}"))),
        }
    }

    pub(super) fn revert(&mut self, out: &mut Vec<Command>) {
        if self.apply_failure.is_none() && self.traffic.interrupted.is_none() {
            out.push(Command::Log(
                Level::Info,
                "nothing to revert: no traffic change failed part-way or was interrupted".into(),
            ));
            return;
        }
        if let Some(p) = &self.traffic.pending {
            out.push(Command::Log(Level::Warn, format!("{}% → {}% is being applied; wait for it", p.from, p.to)));
            return;
        }
        let w = self.traffic.expected_weights();
        out.push(Command::Log(
            Level::Warn,
            format!("reverting the router to {}/{} by {}", w.blue, w.green, self.operator),
        ));
        let stage = match (self.traffic.is_rolled_back(), self.traffic.stage) {
            (true, _) => "rollback".to_string(),
            (false, Some(i)) => (i + 1).to_string(),
            (false, None) => "0".to_string(),
        };
        out.push(Command::SetWeights { seq: 0, weights: w, stage });
    }

    pub(super) fn tick_rollback_step(&mut self, kind: StepKind, now: Ts, out: &mut Vec<Command>) {
        let who = self.operator.clone();
        match self.traffic.tick_step(kind, &who, None, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.effects(effects, out);
                self.audit("rollback-step", json!({ "step": kind.label() }), out);
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, refusal.to_string())),
        }
    }

    pub(super) fn rollback_reason(&mut self, reason: &str, out: &mut Vec<Command>) {
        match self.traffic.give_rollback_reason(reason) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.effects(effects, out);
                self.audit("rollback-reason", json!({ "reason": reason.trim(), "by": self.operator }), out);
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, refusal.to_string())),
        }
    }

    pub(super) fn resume(&mut self, reason: &str, now: Ts, out: &mut Vec<Command>) {
        let who = self.operator.clone();
        match self.traffic.resume(reason, &who, now) {
            Ok((next, effects)) => {
                self.traffic = next;
                self.effects(effects, out);
                self.audit("resume", json!({ "reason": reason, "by": who }), out);
                out.push(Command::Persist);
            }
            Err(refusal) => out.push(Command::Log(Level::Warn, refusal.to_string())),
        }
    }

    /// Every second: the soak passing, green's stability after a rollback.
    pub(super) fn traffic_tick(&mut self, now: Ts, out: &mut Vec<Command>) {
        self.observe_soak(now, out);
        if self.traffic.pending.is_none()
            && self.traffic.soak_remaining(now) == Some(0)
            && self.soak_announced != self.traffic.stage_started
        {
            self.soak_announced = self.traffic.stage_started;
            let p = self.traffic.blue_percent;
            out.push(Command::Log(Level::Info, format!("soak at {p}% passed")));
            out.extend(self.happened(&When::SoakPassed(p)));
        }
        if self.traffic.is_rolled_back() {
            let green_ok =
                !self.slos.is_empty() && self.slos.iter().all(|r| r.env_state(Env::Green, now) == SloState::Ok);
            let (next, effects) = self.traffic.observe_green(green_ok, now);
            let changed = next != self.traffic;
            self.traffic = next;
            if !effects.is_empty() {
                self.effects(effects, out);
            }
            if changed
                && self.traffic.rollback.as_ref().is_some_and(|r| r.step(StepKind::VerifyGreen).done_at.is_some())
            {
                out.push(Command::Persist);
            }
        }
        self.check_drift(now, out);
    }

    /// Blue's health as the gates see it, counted toward the soak. A change of health is said and
    /// saved; counted time is saved every [`SOAK_SAVE_MS`], so a restart keeps the figure.
    pub(super) fn observe_soak(&mut self, now: Ts, out: &mut Vec<Command>) {
        let unhealthy = self.gate_inputs(None).unhealthy();
        let before = self.traffic.soak_remaining(now);
        let changed = self.traffic.observe_soak(unhealthy.clone(), now);
        let soaking = before.is_some_and(|ms| ms > 0) && self.traffic.soak_policy.on == SoakOn::Healthy;
        if changed && soaking && self.soak_logged != unhealthy.is_some() {
            self.soak_logged = unhealthy.is_some();
            let p = self.traffic.blue_percent;
            out.push(match &unhealthy {
                Some(why) => Command::Log(Level::Warn, format!("soak at {p}% paused: {why}")),
                None => Command::Log(Level::Info, format!("soak at {p}% counting again: blue healthy")),
            });
        }
        let due = self.soak_saved.is_none_or(|at| now.0 - at.0 >= SOAK_SAVE_MS);
        if self.controls_held && !self.read_only && self.traffic.stage.is_some() && (changed || due) {
            self.soak_saved = Some(now);
            out.push(Command::Persist);
        }
    }

    /// Compares the router's last reading with the recorded split; says so when that changes.
    pub(super) fn check_drift(&mut self, now: Ts, out: &mut Vec<Command>) {
        // A one-shot reading taken after the state was loaded cannot predate the recorded change.
        let settled = self.weights_fresh || self.traffic.history.last().is_none_or(|h| now.0 - h.at.0 >= SETTLE_MS);
        let drift = match self.weights {
            Some((at, w)) if settled && self.traffic.history.last().is_none_or(|h| at.0 >= h.at.0) => {
                self.traffic.drift(w)
            }
            _ => self.drift.filter(|_| settled),
        };
        if drift == self.drift {
            return;
        }
        match &drift {
            Some(d) => out.push(Command::Log(
                Level::Error,
                format!("DRIFT: {d}; cutover does not overwrite it: find out who changed the router"),
            )),
            None if self.drift.is_some() => {
                out.push(Command::Log(Level::Info, "router and cutover agree on the split again".into()))
            }
            None => {}
        }
        self.drift = drift;
    }
}

fn percents(t: &TrafficState) -> String {
    t.spec.percents().iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
}

fn soaks(t: &TrafficState) -> String {
    t.spec
        .stages
        .iter()
        .map(|s| crate::domain::time::format_age(s.soak_ms as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::automation::{Gate as TaskGate, Link};
    use crate::domain::cockpit::Event;
    use crate::domain::env::Weights;
    use crate::domain::traffic::{MINUTE_MS, weights_for};
    use crate::domain::trigger::{Tier, TriggerSpec, Triggers};

    /// Soak on wall-clock time: these tests are about other things (the healthy soak has its own).
    fn cockpit() -> Cockpit {
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        c.traffic.soak_policy.on = crate::domain::traffic::SoakOn::Wall;
        c
    }

    fn set_weights(out: &[Command]) -> Option<(u64, Weights)> {
        out.iter().find_map(|c| match c {
            Command::SetWeights { seq, weights, .. } => Some((*seq, *weights)),
            _ => None,
        })
    }

    fn advanced(c: &mut Cockpit, reason: Option<&str>, now: Ts) -> Vec<Command> {
        let mut out = c.update(Event::Advance { to: None, override_reason: reason.map(str::to_string) }, now);
        let (seq, _) = set_weights(&out).expect("SetWeights");
        out.extend(c.update(Event::Applied { seq, detail: "ok".into() }, now));
        out
    }

    #[test]
    fn advance_goes_through_the_actuators_and_commits_when_applied() {
        let mut c = cockpit();
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(0));
        assert_eq!(set_weights(&out), Some((1, weights_for(10))));
        assert!(out.contains(&Command::Persist));
        assert!(
            out.iter().any(|x| matches!(x, Command::Audit { what, stage, .. } if what == "advance" && stage == "0%"))
        );
        assert_eq!(c.traffic.blue_percent, 0, "not before the router confirmed");
        let out = c.update(Event::Applied { seq: 1, detail: "webhook: HTTP 200".into() }, Ts(1000));
        assert_eq!((c.traffic.blue_percent, c.traffic.stage), (10, Some(0)));
        assert!(
            out.iter().any(
                |x| matches!(x, Command::Audit { what, stage, .. } if what == "advance-applied" && stage == "10%")
            )
        );
        assert!(out.contains(&Command::Persist));
    }

    #[test]
    fn advance_before_the_soak_is_refused_naming_the_gate_and_an_override_is_recorded() {
        let mut c = cockpit();
        advanced(&mut c, None, Ts(0));
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(MINUTE_MS));
        assert!(set_weights(&out).is_none());
        assert!(
            out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m) if m.contains("soak not over (29:00 left)"))),
            "{out:?}"
        );
        let out = advanced(&mut c, Some("CAB approved"), Ts(MINUTE_MS));
        assert_eq!(c.traffic.blue_percent, 25);
        let audit = out.iter().find_map(|x| match x {
            Command::Audit { what, detail, .. } if what == "advance-override" => Some(detail.clone()),
            _ => None,
        });
        let audit = audit.expect("an override audit entry");
        assert_eq!(audit["override_reason"], "CAB approved");
        assert!(audit["overridden"][0].as_str().unwrap().contains("soak"));
        assert!(audit.get("status").is_some() && audit.get("triggers").is_some(), "the snapshot: {audit}");
        assert_eq!(c.traffic.history.last().unwrap().reason.as_deref(), Some("CAB approved"));
    }

    #[test]
    fn gate_tasks_and_firing_triggers_are_gates() {
        let mut c = cockpit();
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1212 check\n").unwrap());
        c.gates = vec![TaskGate { stage: 10, tasks: vec!["T1212".into()] }];
        c.triggers = Triggers::new(vec![TriggerSpec::manual("stakeholder", Tier::Planned)]);
        c.update(Event::RaiseTrigger { trigger: 0, reason: "CTO says stop".into() }, Ts(0));
        let p = c.preview_advance(None).unwrap();
        let text: Vec<String> = p.failing.iter().map(ToString::to_string).collect();
        assert_eq!(text, vec!["trigger firing: stakeholder", "gate tasks open: T1212"]);
        c.controls_held = false;
        let out = c.update(Event::Advance { to: None, override_reason: Some("x".into()) }, Ts(0));
        assert!(out.iter().any(|x| matches!(x, Command::Log(_, m) if m.contains("controls"))), "{out:?}");
        assert!(set_weights(&out).is_none());
    }

    #[test]
    fn a_failed_apply_keeps_the_stage_and_says_what_was_done() {
        let mut c = cockpit();
        advanced(&mut c, None, Ts(0));
        let later = Ts(31 * MINUTE_MS);
        let out = c.update(Event::Advance { to: None, override_reason: None }, later);
        let (seq, w) = set_weights(&out).unwrap();
        assert_eq!(w, weights_for(25));
        let out = c.update(
            Event::ApplyFailed { seq, error: "FAILED webhook: HTTP 503".into(), steps_done: vec!["haproxy".into()] },
            later,
        );
        assert_eq!((c.traffic.blue_percent, c.traffic.pending.is_none()), (10, true));
        let f = c.apply_failure.clone().unwrap();
        assert_eq!((f.from, f.to, f.steps_done), (10, 25, vec!["haproxy".to_string()]));
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "advance-failed")));
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Error, m) if m.contains("part-way"))), "{out:?}");
        // Revert sets the router back to the recorded split, outside the stage machine.
        let out = c.update(Event::Revert, later);
        assert_eq!(set_weights(&out), Some((0, weights_for(10))));
        c.update(Event::Applied { seq: 0, detail: "ok".into() }, later);
        assert!(c.apply_failure.is_none());
        assert_eq!(c.traffic.blue_percent, 10);
    }

    #[test]
    fn resume_only_after_every_rollback_step_and_with_a_reason() {
        let mut c = cockpit();
        advanced(&mut c, Some("test of the stage"), Ts(0));
        let out = c.update(Event::Rollback { reason: "error spike".into() }, Ts(100));
        let (seq, _) = set_weights(&out).unwrap();
        c.update(Event::Applied { seq, detail: "ok".into() }, Ts(200));
        let out = c.update(Event::Resume { reason: "fixed".into() }, Ts(300));
        assert!(c.traffic.is_rolled_back(), "steps are open");
        assert!(matches!(&out[..], [Command::Log(Level::Warn, _)]), "{out:?}");
        for kind in crate::domain::traffic::StepKind::ALL {
            c.update(Event::TickRollbackStep(kind), Ts(400));
        }
        let out = c.update(Event::Resume { reason: "  ".into() }, Ts(500));
        assert!(c.traffic.is_rolled_back(), "a reason is needed: {out:?}");
        let out = c.update(Event::Resume { reason: "root cause fixed in 1.4.2".into() }, Ts(600));
        assert!(!c.traffic.is_rolled_back(), "{out:?}");
        assert_eq!(c.traffic.blue_percent, 0);
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "resume")));
        assert!(out.contains(&Command::Persist));
    }

    #[test]
    fn rollback_from_any_stage_sends_0_100_and_fires_its_links() {
        for stages in 0..3 {
            let mut c = cockpit();
            c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1 announce\n").unwrap());
            c.links = vec![Link { task: "T1".into(), when: When::RollbackStarted }];
            for i in 0..stages {
                advanced(&mut c, Some("test of the stage"), Ts(i));
            }
            let out = c.update(Event::Rollback { reason: "error spike".into() }, Ts(100));
            assert_eq!(set_weights(&out).map(|(_, w)| w), Some(Weights { blue: 0, green: 100 }), "from stage {stages}");
            assert!(c.traffic.is_rolled_back());
            assert!(out.iter().any(|x| matches!(x, Command::WriteTask { done: true, .. })), "{out:?}");
            assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "rollback")));
        }
    }

    #[test]
    fn drift_is_detected_and_never_overwritten() {
        let mut c = cockpit();
        advanced(&mut c, None, Ts(0));
        let out = c.update(Event::ActualWeights(Ok(Some(Weights { blue: 0, green: 100 }))), Ts(10_000));
        assert_eq!(c.drift.map(|d| d.to_string()).as_deref(), Some("router says 0/100, cutover expects 10/90"));
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Error, m) if m.contains("DRIFT"))));
        assert!(set_weights(&out).is_none(), "drift is shown, not corrected");
        c.update(Event::Weights(Ok(Weights { blue: 10, green: 90 })), Ts(11_000));
        assert_eq!(c.drift, None);
        // A reading within moments of a change may predate it.
        let mut c = cockpit();
        advanced(&mut c, None, Ts(0));
        c.update(Event::Weights(Ok(Weights { blue: 0, green: 100 })), Ts(1000));
        assert_eq!(c.drift, None);
    }

    #[test]
    fn auto_rollback_goes_through_the_same_path() {
        use crate::domain::slo::{Judge, Outcome, SloRow, SloSpec};
        use crate::domain::trigger::{Condition, Direction};
        let mut c = cockpit();
        c.slos.push(SloRow::new(SloSpec {
            name: "error rate".into(),
            objective: "< 1%".parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        }));
        let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 };
        c.triggers = Triggers::new(vec![TriggerSpec::new("err>5%", Tier::Immediate, cond, 0)]);
        c.auto_rollback = true;
        advanced(&mut c, None, Ts(0));
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.2) }, Ts(1000));
        assert_eq!(set_weights(&out).map(|(_, w)| w), Some(Weights { blue: 0, green: 100 }), "{out:?}");
        assert!(c.traffic.is_rolled_back());
        assert_eq!(c.traffic.rollback.as_ref().unwrap().by, "auto-rollback");
    }

    /// A cockpit with a per-environment error rate (gating by default) and a sum throughput
    /// (not gating), soaking on healthy time, with an error-rate trigger of 10 minutes.
    fn gated() -> Cockpit {
        use crate::domain::slo::{SloRow, SloSpec};
        use crate::domain::trigger::{Condition, Direction};
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        c.utc_offset_secs = 0;
        let spec = |name: &str, objective: &str, judge| SloSpec {
            name: name.into(),
            objective: objective.parse().unwrap(),
            judge,
            interval_ms: 1000,
        };
        c.slos.push(SloRow::new(spec("error rate", "< 1%", Judge::PerEnv)));
        c.slos.push(SloRow::new(spec("throughput", ">= 200/s", Judge::Sum)));
        let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.02 };
        c.triggers = Triggers::new(vec![TriggerSpec::new("err>2% 10m", Tier::Planned, cond, 10 * MINUTE_MS)]);
        c
    }

    fn blue_error(c: &mut Cockpit, v: f64, now: Ts) -> Vec<Command> {
        use crate::domain::slo::Outcome;
        let mut out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(v) }, now);
        out.extend(c.update(Event::Tick, now));
        out
    }

    fn check<'a>(p: &'a Preview, gate: &str) -> &'a crate::domain::traffic::GateCheck {
        p.checks.iter().find(|c| c.gate == gate).unwrap()
    }

    #[test]
    fn the_slo_gate_judges_blue_as_shown_and_no_data_passes_only_before_the_first_stage() {
        let mut c = gated();
        let p = c.preview_advance(None).unwrap();
        assert!(p.failing.is_empty(), "{:?}", p.failing);
        assert_eq!(check(&p, "slo").detail, "blue has no traffic yet: no data passes (blue error rate)");
        advanced(&mut c, None, Ts(0));
        let p = c.preview_advance(None).unwrap();
        assert_eq!(check(&p, "slo").detail, "SLO not ok: blue error rate no data", "at 10 % no data fails");
        blue_error(&mut c, 0.0503, Ts(1000));
        let p = c.preview_advance(None).unwrap();
        assert!(!check(&p, "slo").ok);
        assert_eq!(check(&p, "slo").detail, "SLO not ok: blue error rate 5.03% breaches < 1%");
        assert_eq!(check(&p, "pending").detail, "trigger pending: err>2% 10m pending 0:00, fires in 10:00");
        // The throughput sum does not gate unless asked to; gate = false opts the error rate out.
        c.slo_gate = vec![Some(false), Some(true)];
        let p = c.preview_advance(None).unwrap();
        assert_eq!(check(&p, "slo").detail, "SLO not ok: blue throughput no data");
        // An error is not a breach, and not ok either.
        let mut c = gated();
        advanced(&mut c, None, Ts(0));
        use crate::domain::slo::Outcome;
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Error("HTTP 401".into()) }, Ts(1000));
        let p = c.preview_advance(None).unwrap();
        assert_eq!(check(&p, "slo").detail, "SLO not ok: blue error rate error: HTTP 401");
    }

    #[test]
    fn the_header_hint_follows_the_gates_and_the_soak_counts_healthy_ticks() {
        let mut c = gated();
        assert_eq!(c.next_hint(), "next 10% ready");
        advanced(&mut c, None, Ts(0));
        blue_error(&mut c, 0.0503, Ts(1000));
        assert_eq!(c.next_hint(), "next 25% in 30:00 (paused: blue error rate breach since 00:00:01)");
        let mut t = 2000;
        while t <= 31 * MINUTE_MS {
            let out = blue_error(&mut c, 0.001, Ts(t));
            if c.traffic.soak_remaining(Ts(t)) == Some(0) {
                assert!(out.iter().any(|x| matches!(x, Command::Log(_, m) if m == "soak at 10% passed")), "{out:?}");
                break;
            }
            t += 1000;
        }
        assert_eq!(t, 30 * MINUTE_MS + 2000, "30 minutes of healthy ticks from the first healthy one");
        assert_eq!(c.next_hint(), "next 25% ready");
        blue_error(&mut c, 0.0503, Ts(t + 1000));
        assert_eq!(c.next_hint(), "next 25% blocked: blue error rate breach, err>2% 10m pending");
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(t + 1000));
        assert!(set_weights(&out).is_none(), "{out:?}");
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m) if m.contains("5.03% breaches"))));
        let out = advanced(&mut c, Some("INC-7 error budget ok"), Ts(t + 1000));
        let audit = out.iter().find_map(|x| match x {
            Command::Audit { what, detail, .. } if what == "advance-override" => Some(detail.clone()),
            _ => None,
        });
        assert_eq!(audit.unwrap()["overridden_gates"], json!(["slo", "pending"]));
    }

    #[test]
    fn the_holder_saves_the_counted_soak_and_a_restored_cockpit_shows_the_same_figure() {
        let mut c = gated();
        advanced(&mut c, None, Ts(0));
        let mut saves = 0;
        for t in (1..=60).map(|s| Ts(s * 1000)) {
            saves += blue_error(&mut c, 0.001, t).iter().filter(|x| **x == Command::Persist).count();
        }
        assert!((6..=8).contains(&saves), "a save on the change of health and every 10 s: {saves}");
        let mut again = gated();
        again.restore(serde_json::from_str(&serde_json::to_string(&c.persisted()).unwrap()).unwrap());
        assert_eq!(again.traffic.soak_remaining(Ts(60_000)), c.traffic.soak_remaining(Ts(60_000)));
        assert_eq!(again.traffic.soak_remaining(Ts(60_000)), Some(30 * MINUTE_MS - 59_000));
    }

    #[test]
    fn drift_blocks_every_advance_until_adopted() {
        let mut c = cockpit();
        advanced(&mut c, None, Ts(0));
        c.update(Event::ActualWeights(Ok(Some(Weights { blue: 25, green: 75 }))), Ts(10_000));
        let p = c.preview_advance(None).unwrap();
        assert_eq!(check(&p, "drift").detail, "drift: router says 25/75, cutover expects 10/90");
        let out = c.update(
            Event::Advance { to: None, override_reason: Some("CHG-1 go anyway please".into()) },
            Ts(40 * MINUTE_MS),
        );
        assert!(set_weights(&out).is_none());
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m) if m.contains("an override cannot"))));
        assert_eq!(c.next_hint(), "next 25% blocked: drift");
        let out = c.update(Event::Adopt { reason: "ops moved it by hand".into() }, Ts(40 * MINUTE_MS));
        assert_eq!((c.traffic.blue_percent, c.drift), (25, None));
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "adopt")), "{out:?}");
        assert!(out.contains(&Command::Persist));
        assert!(c.preview_advance(None).unwrap().checks.iter().all(|g| g.gate != "drift" || g.ok));
        c.controls_held = false;
        let out = c.update(Event::Adopt { reason: "again".into() }, Ts(41 * MINUTE_MS));
        assert!(out.iter().all(|x| !matches!(x, Command::Audit { .. })), "only the holder adopts: {out:?}");
    }

    #[test]
    fn soak_passing_fires_its_links_once_and_the_state_round_trips() {
        let mut c = cockpit();
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T9 soak done\n").unwrap());
        c.links = vec![Link { task: "T9".into(), when: When::SoakPassed(10) }];
        advanced(&mut c, None, Ts(0));
        assert!(c.update(Event::Tick, Ts(29 * MINUTE_MS)).iter().all(|x| !matches!(x, Command::WriteTask { .. })));
        let out = c.update(Event::Tick, Ts(30 * MINUTE_MS));
        assert!(out.iter().any(|x| matches!(x, Command::WriteTask { done: true, .. })), "{out:?}");
        assert!(c.update(Event::Tick, Ts(31 * MINUTE_MS)).iter().all(|x| !matches!(x, Command::WriteTask { .. })));
        let saved = c.persisted();
        let json = serde_json::to_string(&saved).unwrap();
        let mut fresh = cockpit();
        assert!(fresh.restore(serde_json::from_str(&json).unwrap()).is_empty());
        assert_eq!(fresh.traffic, c.traffic);
        // A config with other stages does not re-index a running go-live.
        let mut other = cockpit();
        other.traffic = TrafficState::new(crate::domain::traffic::TrafficSpec {
            stages: vec![crate::domain::traffic::Stage { blue_percent: 100, soak_ms: 0 }],
            stabilization_ms: 0,
        });
        let w = other.restore(saved);
        assert!(w[0].contains("keeping the stored stages"), "{w:?}");
        assert_eq!(other.traffic.blue_percent, 10);
    }
}

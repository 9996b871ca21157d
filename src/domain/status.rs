//! A snapshot of the cockpit for `cutover status --json` and for the audit log:
//! every number with its state and age, never a bare number.

use serde::Serialize;

use super::alert::Alert;
use super::cockpit::Cockpit;
use super::env::{Env, Weights};
use super::health::HealthState;
use super::slo::{Judge, SloState};
use super::time::Ts;
use super::traffic::{GateCheck, MoveKind, SoakOn, Verdict};
use super::trigger::Phase;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub deployment: String,
    /// When the snapshot was taken, RFC 3339 UTC (as every time in this report).
    pub at: String,
    pub slos: Vec<SloStatus>,
    pub health: Vec<HealthStatus>,
    /// Prometheus's matching alerts; empty when alerts are not configured or could not be read.
    pub alerts: Vec<Alert>,
    /// Why the alerts could not be read, when they could not.
    pub alerts_error: Option<String>,
    /// The split as the router last reported it.
    pub weights: Option<Weights>,
    /// Ticked tasks of the runbook; `null` without a runbook.
    pub runbook: Option<RunbookStatus>,
    /// The audit log's last entry; `null` when there is none (or the log was not read).
    pub last_action: Option<LastAction>,
    pub triggers: Vec<TriggerStatus>,
    /// The traffic stage as cutover has it recorded.
    pub stage: StageStatus,
    /// Who holds the controls of the state dir and how many instances watch.
    pub controls: ControlsStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlsStatus {
    /// `alice@ops1`, or `null` when nobody holds them.
    pub holder: Option<String>,
    /// Live observers (the holder is not one).
    pub observers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerStatus {
    pub name: String,
    /// `immediate` or `planned`.
    pub tier: &'static str,
    /// `inactive`, `pending` or `firing`.
    pub state: &'static str,
    /// Breach time counted toward `for_s` in the current streak.
    pub breach_s: f64,
    pub for_s: f64,
    /// Breach streaks this stage.
    pub count: u32,
    /// The derivation: what was read, against what, since when.
    pub reason: String,
    /// A firing trigger whose condition stopped holding (it stays firing until acknowledged).
    pub cleared: bool,
    pub acknowledged: bool,
    /// The input the trigger could not read at its last evaluation (`null` when it could):
    /// an inactive trigger here is holding, not ok.
    pub input: Option<TriggerInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerInput {
    /// `input error`, `input stale` or `no data`.
    pub what: &'static str,
    /// RFC 3339 UTC.
    pub since: String,
    /// What the trigger's policy made of it: `hold` (its timer paused), `reset` or `breach`.
    pub policy: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStatus {
    pub blue_percent: u8,
    /// The next stage's percent; `null` at the last stage and while rolled back.
    pub next: Option<u8>,
    /// Seconds until the current stage has soaked (rounded up); `null` before the first stage.
    pub soak_remaining_s: Option<i64>,
    /// `router says 10/90, cutover expects 25/75`, or `null`.
    pub drift: Option<String>,
    pub rolled_back: bool,
    /// A change handed to the actuators and not yet confirmed: `10% → 25%`.
    pub pending: Option<String>,
    /// A change cut off by a crash (its intent saved, its outcome not) that the router's reading
    /// has not settled; `null` otherwise.
    pub interrupted: Option<InterruptedStatus>,
    /// Every gate of an advance to the next stage, as the advance dialog and `cutover advance`
    /// judge it: `{"gate":"slo","ok":false,"detail":"…"}`; empty when no advance is possible
    /// (at the last stage, rolled back, a change in flight).
    pub gates: Vec<GateCheck>,
    /// `healthy` or `wall`: what the soak counts.
    pub soak_on: SoakOn,
    /// Why the soak is not counting, while blue is unhealthy: `blue error rate breach`.
    pub soak_paused: Option<String>,
    /// Since when (RFC 3339, like every time in the report).
    pub soak_paused_since: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterruptedStatus {
    pub kind: MoveKind,
    pub from: u8,
    pub to: u8,
    /// When the change was asked for, RFC 3339 UTC.
    pub since: String,
    pub by: String,
    /// The router's split as last read (`25/75`), `null` when unknown.
    pub router: Option<String>,
    /// What that reading says: `applied`, `not_applied` or `unknown`. The next cutover that may
    /// write (a CLI verb, the cockpit) records it; nothing is ever repeated.
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloStatus {
    pub name: String,
    /// `blue`, `green`, or `all` for the sum a system-wide SLO is judged on (its only entry).
    pub env: String,
    /// Base units: a ratio, seconds, or per second. `null` unless there is a current value
    /// (never an infinity: that is an error).
    pub value: Option<f64>,
    /// The value in the objective's unit, as the cockpit shows it (`0.40%`); `null` with `value`.
    pub shown: Option<String>,
    pub objective: String,
    pub state: SloState,
    /// Seconds since the source last answered.
    pub age_s: Option<f64>,
    pub error: Option<String>,
    /// Why there is no data, when the source said (`37 requests in 20s < 100`).
    pub reason: Option<String>,
    /// For a summed SLO, each environment's figure: shown, not judged on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<SloPart>,
}

/// One environment's share of a summed SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloPart {
    pub env: String,
    pub value: Option<f64>,
    pub shown: Option<String>,
    pub age_s: Option<f64>,
    pub error: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthStatus {
    pub service: String,
    pub env: Env,
    /// `null` until the first probe has answered.
    pub state: Option<HealthState>,
    pub latency_ms: Option<u64>,
    pub code: Option<u16>,
    pub detail: Option<String>,
}

/// What was last done to the go-live, as the audit log has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastAction {
    /// `advance`, `rollback`, `tick`, …
    pub what: String,
    /// `alice@ops1`.
    pub who: String,
    /// RFC 3339, UTC.
    pub when: String,
    /// The traffic stage at the time, e.g. `25%`.
    pub stage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunbookStatus {
    pub done: usize,
    pub total: usize,
}

impl StatusReport {
    pub fn of(c: &Cockpit, now: Ts) -> StatusReport {
        let mut slos = Vec::new();
        for row in &c.slos {
            let objective = row.spec.objective.to_string();
            let o = row.spec.objective;
            // What one cell says besides its verdict: the error when in error or stale, the
            // reason for no data.
            let why = |cell: &super::slo::SloCell| match cell.current(&row.spec, now) {
                Ok(_) => (None, None),
                Err(SloState::Error) | Err(SloState::Stale) => (cell.last_error.as_ref().map(|(_, e)| e.clone()), None),
                Err(_) => (None, cell.why(&row.spec, now)),
            };
            if row.spec.judge == Judge::Sum {
                let parts: Vec<SloPart> = Env::ALL
                    .iter()
                    .map(|&env| {
                        let cell = row.cell(env);
                        let value = cell.current(&row.spec, now).ok();
                        let (error, reason) = why(cell);
                        SloPart {
                            env: env.key().into(),
                            value,
                            shown: value.map(|v| o.unit.format(v)),
                            age_s: cell.age(now).map(round3),
                            error,
                            reason,
                        }
                    })
                    .collect();
                let age = parts
                    .iter()
                    .filter_map(|p| p.age_s)
                    .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.max(a))));
                let value = row.sum(now).ok();
                let error = parts.iter().find_map(|p| p.error.as_ref().map(|e| format!("{}: {e}", p.env)));
                let reason = parts.iter().find_map(|p| p.reason.as_ref().map(|r| format!("{}: {r}", p.env)));
                slos.push(SloStatus {
                    name: row.spec.name.clone(),
                    env: "all".into(),
                    value,
                    shown: value.map(|v| o.format_value(v)),
                    objective,
                    state: row.sum_state(now),
                    age_s: age,
                    error,
                    reason,
                    parts,
                });
                continue;
            }
            for env in Env::ALL {
                let cell = row.cell(env);
                let value = cell.current(&row.spec, now).ok();
                let (error, reason) = why(cell);
                slos.push(SloStatus {
                    name: row.spec.name.clone(),
                    env: env.key().into(),
                    value,
                    shown: value.map(|v| o.format_value(v)),
                    objective: objective.clone(),
                    state: row.env_state(env, now),
                    age_s: cell.age(now).map(round3),
                    error,
                    reason,
                    parts: Vec::new(),
                });
            }
        }
        let health = c
            .health
            .iter()
            .map(|h| {
                let last = h.last.as_ref().map(|(_, o)| o);
                HealthStatus {
                    service: h.service.clone(),
                    env: h.env,
                    state: last.map(|o| o.state),
                    latency_ms: last.and_then(|o| o.latency_ms),
                    code: last.and_then(|o| o.code),
                    detail: last.map(|o| o.detail.clone()),
                }
            })
            .collect();
        StatusReport {
            deployment: c.deployment.clone(),
            at: super::time::rfc3339(now),
            slos,
            health,
            alerts: match &c.alerts {
                Some((_, Ok(a))) => a.clone(),
                _ => Vec::new(),
            },
            alerts_error: match &c.alerts {
                Some((_, Err(e))) => Some(e.clone()),
                _ => None,
            },
            weights: c.weights.map(|(_, w)| w),
            runbook: c.runbook.as_ref().map(|rb| {
                let (done, total) = rb.progress();
                RunbookStatus { done, total }
            }),
            last_action: None,
            triggers: {
                let labels = c.labels();
                c.triggers
                    .specs
                    .iter()
                    .zip(&c.triggers.states)
                    .map(|(spec, st)| {
                        let phase = st.phase();
                        let (cleared, acknowledged) = match phase {
                            Phase::Firing { cleared_at, acknowledged, .. } => (cleared_at.is_some(), acknowledged),
                            _ => (false, false),
                        };
                        TriggerStatus {
                            name: spec.name.clone(),
                            tier: spec.tier.label(),
                            state: match phase {
                                Phase::Inactive => "inactive",
                                Phase::Pending { .. } => "pending",
                                Phase::Firing { .. } => "firing",
                            },
                            breach_s: round3(st.elapsed_ms(now) as f64 / 1000.0),
                            for_s: spec.for_ms as f64 / 1000.0,
                            count: st.breaches(),
                            reason: st.reason(spec, &labels, now),
                            cleared,
                            acknowledged,
                            input: if spec.is_manual() { None } else { st.input_trouble() }.map(|i| TriggerInput {
                                what: i.what,
                                since: super::time::rfc3339(i.since),
                                policy: i.policy.map(|p| p.label()),
                            }),
                        }
                    })
                    .collect()
            },
            stage: StageStatus {
                blue_percent: c.traffic.blue_percent,
                next: c.traffic.next_stage().map(|(_, s)| s.blue_percent),
                soak_remaining_s: c.traffic.soak_remaining(now).map(|ms| (ms + 999) / 1000),
                drift: c.drift.map(|d| d.to_string()),
                rolled_back: c.traffic.is_rolled_back(),
                pending: c.traffic.pending.as_ref().map(|p| format!("{}% → {}%", p.from, p.to)),
                interrupted: c.traffic.interrupted.as_ref().map(|p| {
                    let w = c.weights.map(|(_, w)| w);
                    InterruptedStatus {
                        kind: p.kind,
                        from: p.from,
                        to: p.to,
                        since: super::time::rfc3339(p.requested_at),
                        by: p.by.clone(),
                        router: w.map(|w| format!("{}/{}", w.blue, w.green)),
                        verdict: Verdict::of(p, w),
                    }
                }),
                gates: c.preview_advance(None).map(|p| p.checks).unwrap_or_default(),
                soak_on: c.traffic.soak_policy.on,
                soak_paused: c.traffic.soak_paused(now).map(|(_, why)| why),
                soak_paused_since: c.traffic.soak_paused(now).map(|(at, _)| super::time::rfc3339(at)),
            },
            controls: ControlsStatus { holder: c.controls.holder.clone(), observers: c.controls.observers },
        }
    }

    /// Every SLO ok and every health check up.
    pub fn all_ok(&self) -> bool {
        self.slos.iter().all(|s| s.state == SloState::Ok)
            && self.health.iter().all(|h| h.state == Some(HealthState::Up))
    }

    /// Whether every SLO and health check has been heard from (an answer of any kind).
    pub fn complete(&self) -> bool {
        self.slos.iter().all(|s| s.age_s.is_some() || s.error.is_some())
            && self.health.iter().all(|h| h.state.is_some())
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::Event;
    use crate::domain::health::{HealthCell, HealthObservation};
    use crate::domain::slo::{Outcome, SloRow, SloSpec};

    #[test]
    fn the_report_carries_states_ages_and_errors() {
        let mut c = Cockpit::new("go-live", "prod");
        c.slos.push(SloRow::new(SloSpec {
            name: "error rate".into(),
            objective: "< 1%".parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        }));
        c.slos.push(SloRow::new(SloSpec {
            name: "throughput".into(),
            objective: ">= 200/s".parse().unwrap(),
            judge: Judge::Sum,
            interval_ms: 1000,
        }));
        c.health.push(HealthCell::new("api-gateway", Env::Blue));
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.004) }, Ts(1000));
        c.update(Event::Sample { slo: 0, env: Env::Green, outcome: Outcome::Error("HTTP 503".into()) }, Ts(1000));
        c.update(Event::Sample { slo: 1, env: Env::Blue, outcome: Outcome::Value(30.0) }, Ts(1000));
        c.update(Event::Sample { slo: 1, env: Env::Green, outcome: Outcome::Value(190.0) }, Ts(1000));
        let r = StatusReport::of(&c, Ts(1500));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["slos"][0]["env"], "blue");
        assert_eq!(json["slos"][0]["value"], 0.004);
        assert_eq!(json["slos"][0]["state"], "ok");
        assert_eq!(json["slos"][0]["age_s"], 0.5);
        assert_eq!(json["slos"][1]["state"], "error");
        assert_eq!(json["slos"][1]["value"], serde_json::Value::Null, "an error is not a number");
        assert_eq!(json["slos"][1]["error"], "HTTP 503");
        assert_eq!(json["slos"][0]["shown"], "0.40%", "in the objective's unit");
        assert_eq!(json["slos"].as_array().unwrap().len(), 3, "a summed SLO has one entry, one verdict");
        assert_eq!(json["slos"][2]["env"], "all");
        assert_eq!(json["slos"][2]["value"], 220.0);
        assert_eq!(json["slos"][2]["state"], "ok");
        let parts = &json["slos"][2]["parts"];
        assert_eq!(parts[0]["env"], "blue");
        assert_eq!(parts[0]["value"], 30.0);
        assert_eq!(parts[0]["shown"], "30/s");
        assert!(parts[0].get("state").is_none(), "blue's 30/s is not judged against ≥ 200/s: {parts}");
        assert_eq!(json["at"], "1970-01-01T00:00:01.500Z");
        assert_eq!(json["health"][0]["state"], serde_json::Value::Null);
        assert!(!r.complete(), "the health check has not answered");
        assert!(!r.all_ok());
        let obs =
            HealthObservation { state: HealthState::Up, latency_ms: Some(3), code: Some(200), detail: "pass".into() };
        c.update(Event::Health { target: 0, obs }, Ts(1600));
        let r = StatusReport::of(&c, Ts(1700));
        assert!(r.complete());
        assert_eq!(serde_json::to_value(&r).unwrap()["health"][0]["state"], "up");
        assert!(r.triggers.is_empty());
        assert_eq!(json_stage(&c)["interrupted"], serde_json::Value::Null);
    }

    fn json_stage(c: &Cockpit) -> serde_json::Value {
        serde_json::to_value(StatusReport::of(c, Ts(0))).unwrap()["stage"].clone()
    }

    #[test]
    fn an_interrupted_change_is_reported_with_the_routers_reading() {
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        c.update(Event::Advance { to: None, override_reason: None }, Ts(2000));
        let mut restarted = Cockpit::new("go-live", "prod");
        restarted.restore(c.persisted());
        assert_eq!(json_stage(&restarted)["pending"], "0% → 10%", "as saved");
        restarted.take_over_in_flight();
        let st = json_stage(&restarted);
        assert_eq!(st["interrupted"]["kind"], "advance");
        assert_eq!((st["interrupted"]["from"].as_u64(), st["interrupted"]["to"].as_u64()), (Some(0), Some(10)));
        assert_eq!(st["interrupted"]["since"], "1970-01-01T00:00:02.000Z", "one time format: RFC 3339");
        assert_eq!(st["interrupted"]["by"], "alice");
        assert_eq!(st["interrupted"]["verdict"], "unknown");
        assert_eq!(st["interrupted"]["router"], serde_json::Value::Null);
        assert_eq!(st["pending"], serde_json::Value::Null, "nobody is applying it any more");
        restarted.update(Event::Weights(Ok(Weights { blue: 10, green: 90 })), Ts(3000));
        let st = json_stage(&restarted);
        assert_eq!(
            (st["interrupted"]["router"].as_str(), st["interrupted"]["verdict"].as_str()),
            (Some("10/90"), Some("applied"))
        );
    }

    #[test]
    fn infinities_and_thin_windows_are_never_ok_values() {
        let mut c = Cockpit::new("go-live", "prod");
        for (name, obj) in [("error rate", "< 1%"), ("availability", ">= 99.9%")] {
            c.slos.push(SloRow::new(SloSpec {
                name: name.into(),
                objective: obj.parse().unwrap(),
                judge: Judge::PerEnv,
                interval_ms: 1000,
            }));
        }
        use crate::domain::trigger::{Condition, Direction, Tier, TriggerSpec, Triggers};
        let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 };
        c.triggers = Triggers::new(vec![TriggerSpec::new("error rate > 5%", Tier::Immediate, cond, 600_000)]);
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(f64::NEG_INFINITY) }, Ts(1000));
        c.update(Event::Sample { slo: 1, env: Env::Blue, outcome: Outcome::Value(f64::INFINITY) }, Ts(1000));
        let why = Outcome::TooFew("37 requests in 20s < 100".into());
        c.update(Event::Sample { slo: 0, env: Env::Green, outcome: why }, Ts(1000));
        let json = serde_json::to_value(StatusReport::of(&c, Ts(1000))).unwrap();
        let slos = json["slos"].as_array().unwrap();
        for s in slos {
            assert!(!(s["value"].is_null() && s["state"] == "ok"), "{s}");
        }
        assert_eq!(
            (slos[0]["state"].as_str(), slos[0]["error"].as_str()),
            (Some("error"), Some("not a finite number: -Inf"))
        );
        assert_eq!(
            (slos[2]["state"].as_str(), slos[2]["error"].as_str()),
            (Some("error"), Some("not a finite number: +Inf"))
        );
        assert_eq!(
            (slos[1]["state"].as_str(), slos[1]["reason"].as_str()),
            (Some("no_data"), Some("37 requests in 20s < 100"))
        );
        let t = &json["triggers"][0];
        assert_eq!(t["state"], "inactive");
        let want = serde_json::json!({"what": "input error", "since": "1970-01-01T00:00:01.000Z", "policy": "hold"});
        assert_eq!(t["input"], want, "holding on an error, not ok: {t}");
    }

    #[test]
    fn the_stage_carries_every_gate_as_the_advance_judges_it() {
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        c.slos.push(SloRow::new(SloSpec {
            name: "error rate".into(),
            objective: "< 1%".parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        }));
        let st = json_stage(&c);
        let kinds: Vec<&str> = st["gates"].as_array().unwrap().iter().map(|g| g["gate"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["controls", "drift", "slo", "pending", "soak", "triggers", "tasks"]);
        assert!(st["gates"].as_array().unwrap().iter().all(|g| g["ok"] == true), "{st}");
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(0));
        assert!(out.iter().any(|x| matches!(x, crate::domain::cockpit::Command::SetWeights { .. })));
        c.update(Event::Applied { seq: 1, detail: "ok".into() }, Ts(0));
        c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.0503) }, Ts(0));
        c.update(Event::Tick, Ts(0));
        let st = json_stage(&c);
        let slo = st["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "slo").unwrap().clone();
        assert_eq!(slo["ok"], false);
        assert_eq!(slo["detail"], "SLO not ok: blue error rate 5.03% breaches < 1%");
        assert_eq!(
            (st["soak_on"].as_str(), st["soak_paused"].as_str()),
            (Some("healthy"), Some("blue error rate breach"))
        );
        assert_eq!(st["soak_paused_since"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn triggers_report_state_breach_time_and_reason() {
        use crate::domain::trigger::{Condition, Direction, Tier, TriggerSpec, Triggers};
        let mut c = Cockpit::new("go-live", "prod");
        c.slos.push(SloRow::new(SloSpec {
            name: "error rate".into(),
            objective: "< 1%".parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        }));
        let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 };
        c.triggers = Triggers::new(vec![TriggerSpec::new("error rate > 5%", Tier::Immediate, cond, 600_000)]);
        for t in 0..43 {
            c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.061) }, Ts(t * 1000));
        }
        let json = serde_json::to_value(StatusReport::of(&c, Ts(42_000))).unwrap();
        let t = &json["triggers"][0];
        assert_eq!(t["name"], "error rate > 5%");
        assert_eq!(t["tier"], "immediate");
        assert_eq!(t["state"], "pending");
        assert_eq!(t["breach_s"], 42.0);
        assert_eq!(t["for_s"], 600.0);
        assert_eq!(t["count"], 1);
        assert!(t["reason"].as_str().unwrap().contains("6.10% > 5%"), "{t}");
    }
}

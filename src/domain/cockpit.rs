//! The whole state of one cockpit, and the one function that changes it.

use super::alert::Alert;
use super::env::{Env, EnvNames, Weights};
use super::fault::{FaultPreset, FaultSpec};
use super::health::{HealthCell, HealthObservation, HealthState};
use super::runbook::Runbook;
use super::slo::{Outcome, SloRow, SloState};
use super::time::Ts;

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
    /// The split as the router last reported it.
    pub weights: Option<(Ts, Weights)>,
    pub weights_error: Option<String>,
    /// Prometheus's active alerts (already filtered) as last read, or why they could not be read.
    pub alerts: Option<(Ts, Result<Vec<Alert>, String>)>,
    /// Running against the embedded fleet: the fault menu is offered.
    pub demo: bool,
    pub now: Ts,
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
}

/// What the cockpit asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    PostFault(FaultSpec),
    ClearFaults,
    /// A line for the log pane and file.
    Log(Level, String),
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
            weights: None,
            weights_error: None,
            alerts: None,
            demo: false,
            now: Ts(0),
        }
    }

    /// Applies one event at time `now` and returns what should be done about it.
    pub fn update(&mut self, event: Event, now: Ts) -> Vec<Command> {
        self.now = now;
        let mut out = Vec::new();
        match event {
            Event::Tick => {}
            Event::Sample { slo, env, outcome } => {
                let Some(row) = self.slos.get_mut(slo) else {
                    out.push(Command::Log(Level::Error, format!("sample for unknown SLO #{slo} ignored")));
                    return out;
                };
                let first = row.cell(env).last_success.is_none() && row.cell(env).consecutive_errors == 0;
                let before = row.env_state(env, now);
                row.cells[env.index()].record(now, outcome);
                let after = row.env_state(env, now);
                // The first reading coming in fine is not news; anything else that changes is.
                if before != after && !(first && after == SloState::Ok) {
                    out.push(self.slo_transition(slo, env, after));
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
        }
        out
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
        let detail = match state {
            SloState::Error => cell.last_error.as_ref().map(|(_, e)| e.clone()).unwrap_or_default(),
            _ => match cell.value {
                Some((_, v)) => format!("{} (objective {})", row.spec.objective.format_value(v), row.spec.objective),
                None => String::new(),
            },
        };
        Command::Log(level, format!("{name} {}: {} {detail}", row.spec.name, state.label()).trim_end().to_string())
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
    fn a_breach_is_logged_once_on_the_transition() {
        let mut c = cockpit();
        let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.002) }, Ts(1000));
        assert!(out.is_empty(), "a first reading that is fine is not logged: {out:?}");
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

//! Turning the cockpit's SLO cells and health cells into one [`Sample`] per trigger.

use super::spec::{Condition, Reference, TriggerSpec};
use super::state::{Baseline, Sample, TriggerEvent, TriggerState};
use crate::domain::env::{Env, EnvNames};
use crate::domain::health::{HealthCell, HealthState};
use crate::domain::slo::{SloRow, SloState};
use crate::domain::time::{Ts, format_age};

/// What triggers read at an evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub slos: &'a [SloRow],
    pub health: &'a [HealthCell],
    /// A health observation older than this counts as stale (an error) for outage triggers;
    /// `None`: observations never go stale.
    pub health_stale_ms: Option<i64>,
    pub env_names: &'a EnvNames,
}

/// Evaluates one trigger at `now`: captures a missing baseline, reads the input, applies the result.
pub fn evaluate(state: &mut TriggerState, spec: &TriggerSpec, input: &Input, now: Ts) -> Vec<TriggerEvent> {
    capture_baseline(state, spec, input, now);
    let sample = observe(spec, state.baseline, input, now);
    state.apply(spec, sample, now)
}

/// For a baseline condition without a baseline: takes the watched value now, when there is a finite one.
pub fn capture_baseline(state: &mut TriggerState, spec: &TriggerSpec, input: &Input, now: Ts) {
    if let Condition::Relative { slo, env, reference: Reference::Baseline, .. } = spec.condition {
        if state.baseline.is_some() {
            return;
        }
        if let Some(Ok(v)) = input.slos.get(slo).map(|row| read(row, env, input.env_names, now))
            && v.is_finite()
        {
            state.set_baseline(v, now);
        }
    }
}

/// What `spec`'s condition reads at `now`, before policies. A manual trigger reads nothing and
/// gets `NoData` (ignored by [`TriggerState::apply`]).
///
/// SLO readings come from `SloCell::current` of the watched environment (for a `Sum` SLO too):
/// a value, or no data (also NaN), an error, or stale, which counts as an error.
pub fn observe(spec: &TriggerSpec, baseline: Option<Baseline>, input: &Input, now: Ts) -> Sample {
    let names = input.env_names;
    match spec.condition {
        Condition::Threshold { slo, env, cmp, value } => {
            let row = match input.slos.get(slo) {
                Some(row) => row,
                None => return missing_slo(slo),
            };
            match read(row, env, names, now) {
                Ok(v) => Sample::reading(v, cmp, value),
                Err(s) => s,
            }
        }
        Condition::Relative { slo, env, cmp, factor, reference } => {
            let row = match input.slos.get(slo) {
                Some(row) => row,
                None => return missing_slo(slo),
            };
            let own = read(row, env, names, now);
            let other = match reference {
                Reference::OtherEnv => read(row, env.other(), names, now),
                Reference::Baseline => match baseline {
                    Some(b) => Ok(b.value),
                    None => Err(Sample::NoData { why: format!("no {} baseline yet", row.spec.name) }),
                },
            };
            match (own, other) {
                (Ok(v), Ok(r)) => {
                    let limit = factor * r;
                    Sample::Reading { value: v, limit, reference: Some(r), breach: cmp.breaches(v, limit) }
                }
                (Err(e @ Sample::Error { .. }), _) | (_, Err(e @ Sample::Error { .. })) => e,
                (Err(e), _) | (_, Err(e)) => e,
            }
        }
        Condition::Outage { env } => outage(env, input, now),
        Condition::Manual => Sample::NoData { why: "manual".into() },
    }
}

fn missing_slo(slo: usize) -> Sample {
    Sample::Error { why: format!("SLO #{slo} is not configured"), stale: false }
}

/// One environment's current value of an SLO, or the sample that stands in for it.
fn read(row: &SloRow, env: Env, names: &EnvNames, now: Ts) -> Result<f64, Sample> {
    let who = format!("{} {}", names.name(env), row.spec.name);
    let cell = row.cell(env);
    match cell.current(&row.spec, now) {
        Ok(v) if v.is_nan() => Err(Sample::NoData { why: format!("{who}: NaN") }),
        Ok(v) => Ok(v),
        Err(SloState::Stale) => {
            let age = cell.age(now).map_or_else(|| "–".to_string(), format_age);
            Err(Sample::Error { why: format!("{who}: stale, last reading {age} ago"), stale: true })
        }
        Err(SloState::Error) => {
            let msg = cell.last_error.as_ref().map_or("error", |(_, e)| e.as_str());
            Err(Sample::Error { why: format!("{who}: {msg}"), stale: false })
        }
        Err(_) => Err(Sample::NoData { why: format!("{who}: no data") }),
    }
}

/// Complete outage: every health check of `env` observed, fresh, and down or unreachable.
/// One check up or degraded is not an outage; checks not yet observed make it no data; stale
/// ones (when nothing is up) make it an error.
fn outage(env: Env, input: &Input, now: Ts) -> Sample {
    let name = input.env_names.name(env);
    let cells: Vec<&HealthCell> = input.health.iter().filter(|c| c.env == env).collect();
    if cells.is_empty() {
        return Sample::NoData { why: format!("no health checks for {name}") };
    }
    let (mut up, mut down, mut unseen, mut stale) = (0u32, 0u32, 0u32, 0u32);
    for cell in &cells {
        match &cell.last {
            None => unseen += 1,
            Some((at, _)) if input.health_stale_ms.is_some_and(|ms| now.0 - at.0 > ms) => stale += 1,
            Some((_, obs)) => match obs.state {
                HealthState::Up | HealthState::Degraded => up += 1,
                HealthState::Down | HealthState::Unreachable => down += 1,
            },
        }
    }
    let total = cells.len() as u32;
    if up > 0 {
        Sample::Health { down, total }
    } else if stale > 0 {
        Sample::Error { why: format!("{stale} of {total} {name} health checks stale"), stale: true }
    } else if unseen > 0 {
        Sample::NoData { why: format!("{unseen} of {total} {name} health checks not answered yet") }
    } else {
        Sample::Health { down, total }
    }
}

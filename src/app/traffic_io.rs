//! Carrying out the cockpit's traffic commands: the actuator chain, the state file and the audit
//! log. Shared by the cockpit's executor and the `advance`/`rollback` commands.

use crate::actuators::{ActuatorSpec, Chain, ChainStop, Request};
use crate::domain::cockpit::Event;
use crate::domain::env::Weights;
use crate::domain::traffic::Effect;

/// Builds the configured actuators, in order. Errors name the actuator.
pub fn build_chain(specs: &[ActuatorSpec]) -> Result<Chain, String> {
    let mut actuators = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        actuators.push(s.build().map_err(|e| format!("actuator[{i}]: {e}"))?);
    }
    Ok(Chain::new(actuators))
}

/// Runs change `seq` through the chain from step `from` on (0: the whole chain; later: the steps
/// after a confirmed manual one); the outcome as the event the cockpit expects.
pub async fn apply(chain: &Chain, seq: u64, weights: Weights, stage: String, from: usize) -> Event {
    if chain.actuators.is_empty() {
        return Event::ApplyFailed {
            seq,
            error: "no traffic actuator is configured ([[actuator]] in the config): move the traffic by hand".into(),
            steps_done: Vec::new(),
        };
    }
    let Some(req) = Request::from_effect(&Effect::SetWeights { seq, weights, stage: stage.clone() }) else {
        unreachable!("a SetWeights effect always makes a request")
    };
    let report = chain.apply_from(&req, from).await;
    let steps_done: Vec<String> = report.done.iter().map(|d| d.name.clone()).collect();
    match report.stop {
        None => Event::Applied { seq, detail: report.summary() },
        Some(ChainStop::Failed { .. }) => Event::ApplyFailed { seq, error: report.summary(), steps_done },
        Some(ChainStop::NeedsConfirmation { index, instruction }) => {
            Event::NeedsConfirmation { seq, weights, stage, next_step: index + 1, instruction, steps_done }
        }
    }
}

/// The URL the chain reads the weights back from, when its first possible reader is a webhook.
pub fn read_url(chain: &Chain) -> Option<String> {
    use crate::actuators::Actuator;
    for a in &chain.actuators {
        match a {
            Actuator::Webhook(w) if w.read_url.is_some() => return w.read_url.clone(),
            Actuator::Webhook(_) | Actuator::Manual(_) => continue,
            Actuator::Haproxy(_) | Actuator::Exec(_) => return None,
        }
    }
    None
}

//! IO that moves traffic: HAProxy's runtime API, an HTTP webhook, a command, or the operator.
//!
//! One enum, [`Actuator`], with two async operations: [`Actuator::apply`] sets the weights and
//! [`Actuator::read`] reads them back (`None` when the actuator cannot). A [`Chain`] runs several
//! in order and stops at the first failure, reporting which steps succeeded so the cockpit can
//! offer to retry from the failed step or to revert.
//!
//! Templates (webhook URL, headers and body; exec arguments; manual instruction) may contain
//! `{blue}`, `{green}` (the weights), `{stage}` (1-based stage number, `0` before the first,
//! `rollback`) and `{key}` (the action's idempotency key). Anything else in braces, such as a
//! JSON body's own braces, is left as written.

pub mod exec;
pub mod haproxy;
pub mod manual;
pub mod spec;
pub mod webhook;

use std::fmt;
use std::time::Duration;

use crate::domain::env::Weights;
use crate::domain::traffic::Effect;

pub use exec::Exec;
pub use haproxy::{Haproxy, SocketAddress};
pub use manual::Manual;
pub use spec::{ActuatorSpec, ExecSpec, HaproxySpec, ManualSpec, WebhookSpec};
pub use webhook::Webhook;

/// One traffic change as the actuators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub weights: Weights,
    /// The `{stage}` placeholder.
    pub stage: String,
    /// Identifies this action: sent as the webhook's idempotency key, the same across retries.
    /// Reuse the request (and so the key) when the operator retries a failed chain.
    pub key: String,
}

impl Request {
    /// A request with a fresh random key.
    pub fn new(weights: Weights, stage: impl Into<String>) -> Self {
        let key = format!("cutover-{:016x}", fastrand::u64(..));
        Request { weights, stage: stage.into(), key }
    }

    /// The request for an [`Effect::SetWeights`]; the key carries the change's sequence number.
    pub fn from_effect(effect: &Effect) -> Option<Self> {
        match effect {
            Effect::SetWeights { seq, weights, stage } => Some(Request {
                weights: *weights,
                stage: stage.clone(),
                key: format!("cutover-{seq}-{:016x}", fastrand::u64(..)),
            }),
            Effect::Audit(..) => None,
        }
    }

    /// Fills in `{blue}`, `{green}`, `{stage}` and `{key}`.
    pub fn render(&self, template: &str) -> String {
        template
            .replace("{blue}", &self.weights.blue.to_string())
            .replace("{green}", &self.weights.green.to_string())
            .replace("{stage}", &self.stage)
            .replace("{key}", &self.key)
    }
}

/// What an actuator did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Done; `detail` is for the log (`app/blue=25 app/green=75 verified`, a command's output).
    Done { detail: String },
    /// The operator must do it elsewhere and confirm.
    NeedsConfirmation { instruction: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ActuatorError {
    #[error(
        "cannot reach the HAProxy runtime API at {addr}: {reason}; is HAProxy running, with `stats socket {addr} level admin` in its global section?"
    )]
    Unreachable { addr: String, reason: String },
    #[error(
        "HAProxy at {addr} answered `Permission denied` to `{command}`: changing weights needs admin level; configure the stats socket with `level admin` (e.g. `stats socket {addr} level admin`)"
    )]
    PermissionDenied { addr: String, command: String },
    #[error(
        "HAProxy at {addr}: `{command}`: {answer}; check the backend and server names in the actuator settings against haproxy.cfg"
    )]
    NoSuchServer { addr: String, command: String, answer: String },
    #[error("HAProxy at {addr} rejected `{command}`: {answer}")]
    Rejected { addr: String, command: String, answer: String },
    #[error("{what}: no answer within {}", fmt_duration(*.after))]
    Timeout { what: String, after: Duration },
    #[error("{what} reads {actual} after setting {expected}: the change did not stick")]
    NotApplied { what: String, expected: u32, actual: u32 },
    #[error("{method} {url}: HTTP {status} after {attempts} {}: {body}", tries(*.attempts))]
    Http { method: String, url: String, status: u16, attempts: u32, body: String },
    #[error("{method} {url}: {reason} after {attempts} {}", tries(*.attempts))]
    Transport { method: String, url: String, reason: String, attempts: u32 },
    #[error("{what}: unexpected answer {answer:?}: {reason}")]
    BadAnswer { what: String, answer: String, reason: String },
    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },
    #[error("`{command}` {status}{}", output(.stderr, .stdout))]
    Exit { command: String, status: String, stdout: String, stderr: String },
    #[error("invalid actuator settings: {0}")]
    Config(String),
}

fn tries(n: u32) -> &'static str {
    if n == 1 { "try" } else { "tries" }
}

fn output(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() { stdout } else { stderr };
    let text = one_line(text, 200);
    if text.is_empty() { String::new() } else { format!(": {text}") }
}

/// Whitespace collapsed to single spaces, at most `max` characters.
pub(crate) use crate::text::{one_line, short_duration as fmt_duration};

/// Everything that can move traffic. An enum rather than a trait object: async fns in traits are
/// not dyn-compatible, and the set is closed.
#[derive(Debug)]
pub enum Actuator {
    Haproxy(Haproxy),
    Webhook(Webhook),
    Exec(Exec),
    Manual(Manual),
}

impl Actuator {
    /// A short name for logs and the failure report: `haproxy 127.0.0.1:9999 app/blue,green`.
    pub fn name(&self) -> String {
        match self {
            Actuator::Haproxy(a) => a.name(),
            Actuator::Webhook(a) => a.name(),
            Actuator::Exec(a) => a.name(),
            Actuator::Manual(_) => "manual".to_string(),
        }
    }

    pub async fn apply(&self, req: &Request) -> Result<Applied, ActuatorError> {
        match self {
            Actuator::Haproxy(a) => a.apply(req).await,
            Actuator::Webhook(a) => a.apply(req).await,
            Actuator::Exec(a) => a.apply(req).await,
            Actuator::Manual(a) => Ok(a.apply(req)),
        }
    }

    /// The weights as the router has them now; `None` when this actuator cannot tell.
    pub async fn read(&self) -> Result<Option<Weights>, ActuatorError> {
        match self {
            Actuator::Haproxy(a) => a.read().await.map(Some),
            Actuator::Webhook(a) => a.read().await,
            Actuator::Exec(a) => a.read().await,
            Actuator::Manual(_) => Ok(None),
        }
    }
}

/// Several actuators run in order (e.g. HAProxy, then a webhook telling the status page).
#[derive(Debug, Default)]
pub struct Chain {
    pub actuators: Vec<Actuator>,
}

/// One actuator that did its part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDone {
    pub index: usize,
    pub name: String,
    pub detail: String,
}

/// Why a chain stopped before its end.
#[derive(Debug)]
pub enum ChainStop {
    /// Step `index` failed; the steps after it did not run.
    Failed { index: usize, name: String, error: ActuatorError },
    /// Step `index` is manual: once the operator confirms, continue with `apply_from(req, index + 1)`.
    NeedsConfirmation { index: usize, instruction: String },
}

/// What a chain did: the steps that succeeded and, unless all did, where it stopped.
#[derive(Debug)]
pub struct ChainReport {
    pub done: Vec<StepDone>,
    pub stop: Option<ChainStop>,
    /// Names of the steps after the stop that did not run.
    pub not_run: Vec<String>,
}

impl ChainReport {
    pub fn is_complete(&self) -> bool {
        self.stop.is_none()
    }

    /// One line for the log: `haproxy …: app/blue=25 …; webhook …: HTTP 200` or
    /// `done: haproxy …; FAILED webhook …: HTTP 503 after 3 tries; not run: exec …`.
    pub fn summary(&self) -> String {
        let done: Vec<String> = self.done.iter().map(|d| format!("{}: {}", d.name, d.detail)).collect();
        match &self.stop {
            None => done.join("; "),
            Some(stop) => {
                let mut parts = Vec::new();
                if !done.is_empty() {
                    parts.push(format!("done: {}", done.join("; ")));
                }
                parts.push(match stop {
                    ChainStop::Failed { name, error, .. } => format!("FAILED {name}: {error}"),
                    ChainStop::NeedsConfirmation { instruction, .. } => {
                        format!("waiting for the operator: {instruction}")
                    }
                });
                if !self.not_run.is_empty() {
                    parts.push(format!("not run: {}", self.not_run.join(", ")));
                }
                parts.join("; ")
            }
        }
    }
}

impl fmt::Display for ChainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Chain {
    pub fn new(actuators: Vec<Actuator>) -> Self {
        Chain { actuators }
    }

    pub async fn apply(&self, req: &Request) -> ChainReport {
        self.apply_from(req, 0).await
    }

    /// Runs the steps from `start` on (a retry after a failure, or the rest after a manual step
    /// was confirmed).
    pub async fn apply_from(&self, req: &Request, start: usize) -> ChainReport {
        let mut done = Vec::new();
        for (index, a) in self.actuators.iter().enumerate().skip(start) {
            let stop = match a.apply(req).await {
                Ok(Applied::Done { detail }) => {
                    done.push(StepDone { index, name: a.name(), detail });
                    continue;
                }
                Ok(Applied::NeedsConfirmation { instruction }) => ChainStop::NeedsConfirmation { index, instruction },
                Err(error) => ChainStop::Failed { index, name: a.name(), error },
            };
            let not_run = self.actuators[index + 1..].iter().map(Actuator::name).collect();
            return ChainReport { done, stop: Some(stop), not_run };
        }
        ChainReport { done, stop: None, not_run: Vec::new() }
    }

    /// The weights from the first actuator that can read them back; `None` if none can.
    pub async fn read(&self) -> Result<Option<Weights>, ActuatorError> {
        for a in &self.actuators {
            if let Some(w) = a.read().await? {
                return Ok(Some(w));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_only() {
        let req = Request { weights: Weights { blue: 25, green: 75 }, stage: "2".into(), key: "k1".into() };
        assert_eq!(
            req.render(r#"{"blue":{blue},"green":{green},"stage":"{stage}","k":"{key}","x":"{other}"}"#),
            r#"{"blue":25,"green":75,"stage":"2","k":"k1","x":"{other}"}"#
        );
    }

    #[test]
    fn requests_from_effects_get_distinct_keys() {
        let e = Effect::SetWeights { seq: 7, weights: Weights { blue: 10, green: 90 }, stage: "1".into() };
        let a = Request::from_effect(&e).unwrap();
        let b = Request::from_effect(&e).unwrap();
        assert!(a.key.starts_with("cutover-7-"));
        assert_ne!(a.key, b.key);
        assert_eq!((a.weights, a.stage.as_str()), (Weights { blue: 10, green: 90 }, "1"));
    }
}

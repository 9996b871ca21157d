//! Health poller: GET each health URL on its own cadence and report what came back.
//!
//! Bodies are read by [`crate::domain::health::classify`]: `application/health+json`
//! (pass / warn / fail), Spring actuator (`{"status":"UP"}`) or plain text by status code.
//! Redirects are not followed (see [`super::client`]): a 3xx is reported as
//! `Down` with code 3xx and the `Location` in the detail, since a health endpoint that
//! redirects (usually to a login page) is not telling anything about health.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::{Sink, describe_error, read_body};
use crate::domain::cockpit::Event;
use crate::domain::health::{HealthObservation, HealthState, classify};

/// Health bodies are small; anything past this is ignored (the status code still counts).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTarget {
    pub url: String,
}

/// Starts polling. Target `i` reports as `Event::Health { target: i, .. }`, every
/// `interval`, each target on its own so a slow one does not hold up the others; at most
/// one request per target is in flight. Aborting the returned handle stops every poller
/// (they live in a `JoinSet` owned by the returned task).
pub fn spawn(
    targets: Vec<HealthTarget>,
    interval: Duration,
    timeout: Duration,
    client: reqwest::Client,
    sink: Sink,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut set = JoinSet::new();
        for (i, t) in targets.into_iter().enumerate() {
            let (client, sink) = (client.clone(), sink.clone());
            set.spawn(async move {
                let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
                tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let obs = probe(&client, &t.url, timeout).await;
                    sink(Event::Health { target: i, obs });
                }
            });
        }
        drop(sink);
        while let Some(res) = set.join_next().await {
            if let Err(e) = res
                && e.is_panic()
            {
                tracing::error!(target: "health", "a health poller panicked: {e}");
            }
        }
    })
}

/// One health check of `url`.
///
/// - an answer: state from [`classify`], its code, latency until the body was read;
/// - a 3xx: `Down`, detail `HTTP 302 redirect to <location> (not followed)`;
/// - no answer (refused, timeout, DNS, TLS, body cut off): `Unreachable`, the reason in
///   the detail (`timeout after 2s`, `connection refused`), no latency.
pub async fn probe(client: &reqwest::Client, url: &str, timeout: Duration) -> HealthObservation {
    let started = Instant::now();
    let unreachable = |code: Option<u16>, detail: String| HealthObservation {
        state: HealthState::Unreachable,
        latency_ms: None,
        code,
        detail,
    };
    let resp = match client.get(url).timeout(timeout).send().await {
        Ok(resp) => resp,
        Err(e) => return unreachable(None, describe_error(&e, timeout)),
    };
    let code = resp.status().as_u16();
    let location =
        resp.headers().get(reqwest::header::LOCATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = match read_body(resp, MAX_BODY_BYTES).await {
        Ok((body, _truncated)) => body,
        Err(e) => return unreachable(Some(code), format!("HTTP {code}, then {}", describe_error(&e, timeout))),
    };
    let latency_ms = Some(started.elapsed().as_millis() as u64);
    let (state, detail) = if (300..400).contains(&code) {
        let to = location.as_deref().unwrap_or("nowhere (no Location header)");
        (HealthState::Down, format!("HTTP {code} redirect to {to} (not followed)"))
    } else {
        classify(code, &body)
    };
    HealthObservation { state, latency_ms, code: Some(code), detail }
}

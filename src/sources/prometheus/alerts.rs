//! Prometheus's active alerts (`GET /api/v1/alerts`), filtered by label.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::PromConfig;
use super::api::{self, PromError, decode_alerts};
use crate::domain::alert::{self, Alert};
use crate::domain::cockpit::Event;
use crate::sources::Sink;

/// The active alerts whose labels match every one of `matchers` (none: all of them), firing
/// first (see [`alert::select`]).
pub async fn alerts_once(
    cfg: &PromConfig,
    client: &reqwest::Client,
    matchers: &BTreeMap<String, String>,
) -> Result<Vec<Alert>, PromError> {
    let answer = api::call(cfg, client, "/api/v1/alerts", &[], false).await?;
    Ok(alert::select(decode_alerts(&answer.data)?, matchers))
}

/// Starts polling the alerts: every `interval` one request (never two in flight), and an
/// `Event::Alerts` with the matching alerts or the error text. Aborting the handle stops it.
pub fn spawn_alerts(
    cfg: PromConfig,
    matchers: BTreeMap<String, String>,
    interval: Duration,
    client: reqwest::Client,
    sink: Sink,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut streak = crate::domain::streak::Streak::default();
        loop {
            tick.tick().await;
            let result = alerts_once(&cfg, &client, &matchers).await.map_err(|e| e.to_string());
            match &result {
                Err(e) => streak
                    .failed(e)
                    .into_iter()
                    .for_each(|l| tracing::warn!(target: "prometheus", "alerts: {}", crate::text::scrub(&l))),
                Ok(_) => streak
                    .succeeded()
                    .into_iter()
                    .for_each(|l| tracing::info!(target: "prometheus", "alerts: {}", crate::text::scrub(&l))),
            }
            sink(Event::Alerts(result));
        }
    })
}

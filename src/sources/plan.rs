//! Which sources a cockpit (or a one-shot `status`) runs, and starting them.

use std::time::Duration;

use tokio::task::JoinHandle;

use std::collections::BTreeMap;

use crate::domain::cockpit::Event;
use crate::domain::slo::Outcome;

use super::health::HealthTarget;
use super::prometheus::{self, PromConfig, PromSlo};
use super::scrape::ScrapeConfig;
use super::{Sink, health, router, scrape};

pub struct SourcePlan {
    pub scrape: Option<ScrapeConfig>,
    /// Health targets, in the order of the cockpit's health cells.
    pub health: Vec<HealthTarget>,
    pub interval: Duration,
    pub timeout: Duration,
    /// Where the router reports its weights.
    pub weights_url: Option<String>,
    /// SLOs read from Prometheus, one query per SLO and environment.
    pub prometheus: Option<(PromConfig, Vec<PromSlo>)>,
    /// Prometheus's alerts, filtered by these labels.
    pub alerts: Option<(PromConfig, BTreeMap<String, String>)>,
    /// Fill the sparklines from Prometheus's history at start (not for a one-shot status).
    pub backfill: bool,
}

impl SourcePlan {
    /// Starts every source; each delivers into `sink` until its handle is aborted.
    pub fn spawn(self, client: &reqwest::Client, sink: &Sink) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(cfg) = self.scrape {
            tasks.push(scrape::spawn(cfg, client.clone(), sink.clone()));
        }
        if !self.health.is_empty() {
            tasks.push(health::spawn(self.health, self.interval, self.timeout, client.clone(), sink.clone()));
        }
        if let Some(url) = self.weights_url {
            tasks.push(router::spawn(url, self.interval, self.timeout, client.clone(), sink.clone()));
        }
        if let Some((cfg, slos)) = self.prometheus {
            match prometheus::client_for(&cfg, client) {
                Ok(c) => {
                    if self.backfill {
                        tasks.push(spawn_backfill(cfg.clone(), slos.clone(), self.interval, c.clone(), sink.clone()));
                    }
                    tasks.push(prometheus::spawn(cfg, slos, self.interval, c, sink.clone()));
                }
                Err(e) => report(sink, &slos, &e.to_string()),
            }
        }
        if let Some((cfg, labels)) = self.alerts {
            match prometheus::client_for(&cfg, client) {
                Ok(c) => tasks.push(prometheus::spawn_alerts(cfg, labels, self.interval, c, sink.clone())),
                Err(e) => sink(Event::Alerts(Err(e.to_string()))),
            }
        }
        tasks
    }
}

/// A source that cannot even start says so on every SLO it feeds, rather than leaving them silent.
fn report(sink: &Sink, slos: &[PromSlo], error: &str) {
    for s in slos {
        sink(Event::Sample { slo: s.slo, env: s.env, outcome: Outcome::Error(error.to_string()) });
    }
}

/// How far back the sparklines are filled at start.
const BACKFILL: Duration = Duration::from_secs(10 * 60);

/// One range query per SLO and environment at start, so the sparklines are not empty.
fn spawn_backfill(
    cfg: PromConfig,
    slos: Vec<PromSlo>,
    interval: Duration,
    client: reqwest::Client,
    sink: Sink,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        for (slo, env, points) in prometheus::backfill(&cfg, &client, &slos, BACKFILL, interval).await {
            sink(Event::History { slo, env, points });
        }
    })
}

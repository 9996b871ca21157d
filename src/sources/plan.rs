//! Which sources a cockpit (or a one-shot `status`) runs, and starting them.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::health::HealthTarget;
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
        tasks
    }
}

//! Placeholder until the direct-scrape source lands.
use std::time::Duration;

use super::Sink;
use crate::domain::env::Env;
use crate::domain::sli::SliKind;

pub struct ScrapeTarget {
    pub env: Env,
    pub url: String,
}

pub struct ScrapeConfig {
    pub targets: Vec<ScrapeTarget>,
    pub slos: Vec<(usize, SliKind)>,
    pub interval: Duration,
    pub window: Duration,
    pub timeout: Duration,
}

pub fn spawn(_cfg: ScrapeConfig, _client: reqwest::Client, _sink: Sink) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}

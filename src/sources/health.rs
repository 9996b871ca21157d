//! Placeholder until the health poller lands.
use std::time::Duration;

use super::Sink;

pub struct HealthTarget {
    pub url: String,
}

pub fn spawn(
    _targets: Vec<HealthTarget>,
    _interval: Duration,
    _timeout: Duration,
    _client: reqwest::Client,
    _sink: Sink,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}

//! Reads the split the router reports (`{"blue":N,"green":M}`), so the header
//! shows what traffic really does, not what was last asked for.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Sink;
use crate::domain::cockpit::Event;
use crate::domain::env::Weights;

pub fn spawn(
    url: String,
    interval: Duration,
    timeout: Duration,
    client: reqwest::Client,
    sink: Sink,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            sink(Event::Weights(fetch(&client, &url, timeout).await));
        }
    })
}

pub async fn fetch(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<Weights, String> {
    let failed = |e: reqwest::Error| format!("GET {url}: {}", super::describe_error(&e, timeout));
    let resp = client.get(url).timeout(timeout).send().await.map_err(failed)?;
    let status = resp.status();
    let (body, _) = super::read_body(resp, 64 * 1024).await.map_err(failed)?;
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}: {}", super::snippet(&body)));
    }
    serde_json::from_str(&body)
        .map_err(|e| format!("GET {url}: expected {{\"blue\":N,\"green\":M}}: {e}: {}", super::snippet(&body)))
}

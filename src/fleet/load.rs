//! Built-in load: a steady request rate at the router (or a given target) and a light smoke load
//! straight at blue's services.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

/// Requests in flight at once, at most: beyond it ticks are dropped rather than piling up
/// requests (and sockets) while the fleet is slow. Above the ~650 that the demo's 2.5 s latency
/// spike keeps in flight at 250 rps, so a spike shows as latency rather than lost throughput.
const MAX_IN_FLIGHT: usize = 1024;
/// Long enough for the demo's 2.5 s latency spike, short enough to free slots from a stuck target.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Ticks no more often than this; higher rates send several requests per tick. 100 wake-ups a
/// second cost next to nothing and keep bursts small.
const MIN_TICK: Duration = Duration::from_millis(10);

/// Paths the load cycles through: what an application's clients might ask for.
const PATHS: [&str; 4] = ["/api/v1/orders", "/api/v1/search?q=cutover", "/api/v1/items/42", "/"];

pub fn client() -> std::io::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| std::io::Error::other(format!("cannot build the load generator's HTTP client: {e}")))
}

/// Sends `rps` GET requests a second, spread round-robin over `targets` (base URLs without a
/// trailing slash), until `stop` changes or is dropped.
pub fn spawn(
    rps: u32,
    targets: Vec<String>,
    client: reqwest::Client,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_secs_f64(1.0 / f64::from(rps.max(1))).max(MIN_TICK);
        let per_tick = f64::from(rps) * period.as_secs_f64();
        let mut ticks = tokio::time::interval(period);
        // After a stall (busy cores), carry on at the normal pace instead of firing a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // Owning the requests here means aborting this task aborts them too.
        let mut in_flight = JoinSet::new();
        let mut due = 0.0;
        let mut sent = 0usize;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            while in_flight.try_join_next().is_some() {}
            due += per_tick;
            while due >= 1.0 {
                due -= 1.0;
                if in_flight.len() >= MAX_IN_FLIGHT {
                    due = 0.0;
                    break;
                }
                let url = format!("{}{}", targets[sent % targets.len()], PATHS[(sent / targets.len()) % PATHS.len()]);
                sent = sent.wrapping_add(1);
                let client = client.clone();
                in_flight.spawn(async move {
                    // Errors and error codes are the fleet's business, seen in its metrics; the
                    // body is read so the connection goes back to the pool.
                    if let Ok(answer) = client.get(&url).send().await {
                        let _ = answer.bytes().await;
                    }
                });
            }
        }
    })
}

//! IO that produces signals. Each source runs as tokio tasks and hands events to a sink.

pub mod health;
pub mod router;
pub mod scrape;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::cockpit::Event;
use crate::domain::time::Ts;

/// Where sources deliver what they observed (the app's event channel).
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// Wall-clock now, as the domain's time value.
pub fn now() -> Ts {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ts(d.as_millis() as i64)
}

/// The HTTP client every source shares: rustls, no redirects followed, bounded waits.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

/// The start of a body, for error messages.
pub fn snippet(body: &str) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 80 { one_line } else { one_line.chars().take(79).chain(['…']).collect() }
}

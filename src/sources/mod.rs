//! IO that produces signals. Each source runs as tokio tasks and hands events to a sink.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::domain::cockpit::Event;
use crate::domain::time::Ts;

pub mod health;
pub mod plan;
pub mod prometheus;
pub mod router;
pub mod scrape;

/// Where sources deliver what they observed (the app's event channel).
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// The wall clock as a domain timestamp (ms since the Unix epoch).
pub fn now() -> Ts {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    Ts(ms)
}

/// A safety net for connecting; each request also carries its own, usually shorter, timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client the sources expect: rustls, **no redirects** (a health endpoint that
/// answers 302 is reported as a 302, not as whatever the login page says), a connect
/// timeout, and a `cutover/<version>` user agent. Proxies from the environment apply.
///
/// # Panics
/// If the TLS backend cannot be initialised (rustls with bundled roots: not expected).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("building the HTTP client (rustls) failed")
}

/// A short human reason for a failed request: `connection refused`, `timeout after 2s`, ...
pub(crate) fn describe_error(err: &reqwest::Error, timeout: Duration) -> String {
    crate::domain::bound::bound(&describe_unbounded(err, timeout), crate::domain::bound::MAX_CHARS)
}

fn describe_unbounded(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("timeout after {}", format_duration(timeout));
    }
    let mut io = None;
    let mut innermost: Option<&(dyn std::error::Error + 'static)> = None;
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<std::io::Error>() {
            io = Some(e);
        }
        innermost = Some(s);
        source = s.source();
    }
    if let Some(e) = io {
        use std::io::ErrorKind::*;
        return match e.kind() {
            ConnectionRefused => "connection refused".into(),
            ConnectionReset => "connection reset".into(),
            ConnectionAborted => "connection aborted".into(),
            TimedOut => format!("timeout after {}", format_duration(timeout)),
            _ => e.to_string(),
        };
    }
    match innermost {
        Some(s) if err.is_connect() => format!("connect error: {s}"),
        Some(s) => s.to_string(),
        None => err.to_string(),
    }
}

/// The start of a body on one line, for error messages.
pub(crate) fn snippet(body: &str) -> String {
    crate::text::one_line(body, 80)
}

pub(crate) use crate::text::short_duration as format_duration;

/// Reads at most `limit` bytes of a body. Returns the text (lossy UTF-8) and whether
/// more was there.
pub(crate) async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<(String, bool), reqwest::Error> {
    let mut buf: Vec<u8> = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&buf).into_owned(), truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_the_wall_clock_in_ms() {
        let t = now();
        assert!(t.0 > 1_600_000_000_000, "{t:?}");
    }
}

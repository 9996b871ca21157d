//! Health poller: check each target on its own cadence and report what was seen.
//!
//! Two kinds of check ([`HealthCheck`]):
//! - `Http`: GET the URL; the status code must be one `expect`ed (default any 2xx), then
//!   the body is read by [`crate::domain::health::read_cut_answer`] (health+json, Spring
//!   actuator, Kubernetes readyz, plain; `format` auto-detects by default). Redirects are
//!   not followed (see [`super::client`]): a 3xx is Down with code 3xx and the `Location`
//!   in the detail, since a health endpoint that redirects (usually to a login page) is
//!   not telling anything about health, unless `follow_redirects` is set (then up to
//!   [`MAX_REDIRECTS`] are followed) or the code is listed in `expect`.
//! - `Tcp`: connect to `host:port` (databases, Redis, Kafka): Up with the connect latency,
//!   Unreachable when refused or timed out.
//!
//! Every check is bounded by the poller's `timeout` (for HTTP: connect, redirects and body
//! together). Raw observations pass through a [`FailureThreshold`] per target.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::{Sink, describe_error, format_duration, read_body};
use crate::domain::cockpit::Event;
pub use crate::domain::health::{BodyFormat, Expect};
use crate::domain::health::{FailureThreshold, HealthObservation, HealthState, read_cut_answer};

/// Health bodies are small; one past this is not read (the detail says so; the code still counts).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How many redirects a check with `follow_redirects` follows before it gives up.
pub const MAX_REDIRECTS: usize = 5;

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    Http {
        url: String,
        expect: Expect,
        format: BodyFormat,
        follow_redirects: bool,
    },
    /// A TCP connect to `host:port`.
    Tcp {
        addr: String,
    },
}

impl HealthCheck {
    /// An HTTP check with the defaults: any 2xx, format auto, redirects not followed.
    pub fn http(url: impl Into<String>) -> Self {
        HealthCheck::Http {
            url: url.into(),
            expect: Expect::default(),
            format: BodyFormat::default(),
            follow_redirects: false,
        }
    }

    /// `tcp://host:port` is a TCP check (nothing may follow the port); `http://` and
    /// `https://` URLs are HTTP checks with the defaults.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if let Some(addr) = url.strip_prefix("tcp://") {
            let addr = addr.strip_suffix('/').unwrap_or(addr);
            let port = addr.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
            return match port {
                Some((host, Ok(p))) if !host.is_empty() && p != 0 && !addr.contains('/') => {
                    Ok(HealthCheck::Tcp { addr: addr.to_string() })
                }
                _ => Err(format!("{url:?}: a tcp health check needs tcp://host:port")),
            };
        }
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(HealthCheck::http(url)),
            Ok(u) => Err(format!("{url:?}: expected http://, https:// or tcp://, got scheme {:?}", u.scheme())),
            Err(e) => Err(format!("{url:?} is not a URL: {e}")),
        }
    }

    /// The URL or address, for messages.
    pub fn target(&self) -> &str {
        match self {
            HealthCheck::Http { url, .. } => url,
            HealthCheck::Tcp { addr } => addr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTarget {
    pub check: HealthCheck,
    /// Consecutive failures before a failure shows (as Kubernetes probes); 0 counts as 1.
    pub failure_threshold: u32,
}

impl HealthTarget {
    /// A check with a failure threshold of 1: every failure shows at once.
    pub fn new(check: HealthCheck) -> Self {
        HealthTarget { check, failure_threshold: 1 }
    }
}

/// Starts polling. Target `i` reports as `Event::Health { target: i, .. }`, every
/// `interval`, each target on its own so a slow one does not hold up the others; at most
/// one check per target is in flight, each bounded by `timeout`. Aborting the returned
/// handle stops every poller (they live in a `JoinSet` owned by the returned task).
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
                let mut threshold = FailureThreshold::new(t.failure_threshold);
                let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
                tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let raw = probe(&client, &t.check, timeout).await;
                    sink(Event::Health { target: i, obs: threshold.observe(raw) });
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

/// One check, before any failure threshold.
pub async fn probe(client: &reqwest::Client, check: &HealthCheck, timeout: Duration) -> HealthObservation {
    match check {
        HealthCheck::Http { url, expect, format, follow_redirects } => {
            probe_http(client, url, expect, *format, *follow_redirects, timeout).await
        }
        HealthCheck::Tcp { addr } => probe_tcp(addr, timeout).await,
    }
}

fn unreachable(code: Option<u16>, detail: String) -> HealthObservation {
    HealthObservation { state: HealthState::Unreachable, latency_ms: None, code, detail }
}

fn elapsed_ms(started: Instant) -> Option<u64> {
    Some(started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64)
}

/// One HTTP check.
///
/// - an answer: state and detail from [`read_cut_answer`], its code, latency until the body
///   was read (over all redirects followed; the detail then names where it ended);
/// - a 3xx not followed: `Down`, detail `HTTP 302 redirect to <location> (not followed)`;
///   more than [`MAX_REDIRECTS`]: `Down`, `HTTP 302: more than 5 redirects (…)`;
/// - no answer (refused, timeout, DNS, TLS, body cut off): `Unreachable`, the reason in
///   the detail (`timeout after 2s`, `connection refused`), no latency.
async fn probe_http(
    client: &reqwest::Client,
    url: &str,
    expect: &Expect,
    format: BodyFormat,
    follow: bool,
    timeout: Duration,
) -> HealthObservation {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut current = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return unreachable(None, format!("{url:?} is not a URL: {e}")),
    };
    let mut hops = 0usize;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return unreachable(None, format!("timeout after {}", format_duration(timeout)));
        }
        let resp = match client.get(current.clone()).timeout(left).send().await {
            Ok(resp) => resp,
            Err(e) => return unreachable(None, describe_error(&e, timeout)),
        };
        let code = resp.status().as_u16();
        let header = |name| resp.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let location = header(reqwest::header::LOCATION);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        if resp.status().is_redirection() && !expect.lists(code) {
            let next = location.as_deref().and_then(|l| current.join(l).ok());
            match (follow, next) {
                (true, Some(next)) if hops < MAX_REDIRECTS => {
                    hops += 1;
                    current = next;
                    continue;
                }
                (true, Some(_)) => {
                    let to = location.unwrap_or_default();
                    let detail = format!("HTTP {code}: more than {MAX_REDIRECTS} redirects (the last to {to})");
                    return HealthObservation {
                        state: HealthState::Down,
                        latency_ms: elapsed_ms(started),
                        code: Some(code),
                        detail,
                    };
                }
                (_, next) => {
                    let to = match (&location, next) {
                        (None, _) => "nowhere (no Location header)".to_string(),
                        (Some(l), None) => format!("{l:?} (not a URL)"),
                        (Some(l), Some(_)) => l.clone(),
                    };
                    let how = if follow { "" } else { " (not followed)" };
                    return HealthObservation {
                        state: HealthState::Down,
                        latency_ms: elapsed_ms(started),
                        code: Some(code),
                        detail: format!("HTTP {code} redirect to {to}{how}"),
                    };
                }
            }
        }
        let (body, cut) = match read_body(resp, MAX_BODY_BYTES).await {
            Ok(read) => read,
            Err(e) => return unreachable(Some(code), format!("HTTP {code}, then {}", describe_error(&e, timeout))),
        };
        let latency_ms = elapsed_ms(started);
        let cut_at = cut.then_some(MAX_BODY_BYTES);
        let (state, mut detail) = read_cut_answer(code, content_type.as_deref(), &body, cut_at, expect, format);
        if hops > 0 {
            let s = if hops == 1 { "" } else { "s" };
            detail = format!("{detail} (at {current} after {hops} redirect{s})");
        }
        return HealthObservation { state, latency_ms, code: Some(code), detail };
    }
}

/// One TCP check: Up with the connect latency, or Unreachable with the reason.
async fn probe_tcp(addr: &str, timeout: Duration) -> HealthObservation {
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => unreachable(None, format!("timeout after {}", format_duration(timeout))),
        Ok(Err(e)) => {
            use std::io::ErrorKind::*;
            let why = match e.kind() {
                ConnectionRefused => "connection refused".to_string(),
                ConnectionReset => "connection reset".to_string(),
                TimedOut => format!("timeout after {}", format_duration(timeout)),
                _ => e.to_string(),
            };
            unreachable(None, format!("tcp {addr}: {why}"))
        }
        Ok(Ok(stream)) => {
            let latency_ms = elapsed_ms(started);
            let peer = stream.peer_addr().map_or_else(|_| addr.to_string(), |p| p.to_string());
            drop(stream);
            HealthObservation { state: HealthState::Up, latency_ms, code: None, detail: format!("connected to {peer}") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_from_urls() {
        assert_eq!(
            HealthCheck::from_url("tcp://db.internal:5432"),
            Ok(HealthCheck::Tcp { addr: "db.internal:5432".into() })
        );
        assert_eq!(HealthCheck::from_url("tcp://[::1]:6379/"), Ok(HealthCheck::Tcp { addr: "[::1]:6379".into() }));
        assert_eq!(HealthCheck::from_url("http://h/health"), Ok(HealthCheck::http("http://h/health")));
        for bad in ["tcp://host", "tcp://:80", "tcp://h:0", "tcp://h:99999", "tcp://h:1/x", "ftp://h/", "nope"] {
            assert!(HealthCheck::from_url(bad).is_err(), "{bad}");
        }
        let HealthCheck::Http { expect, format, follow_redirects, .. } = HealthCheck::http("http://h") else {
            unreachable!()
        };
        assert_eq!((expect, format, follow_redirects), (Expect::Success, BodyFormat::Auto, false));
        assert_eq!(HealthTarget::new(HealthCheck::http("http://h")).failure_threshold, 1);
    }
}

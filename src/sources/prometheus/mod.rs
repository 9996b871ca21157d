//! Signals from Prometheus's HTTP API: instant queries for the SLO gauges, range queries to
//! backfill their history, and the active alerts.
//!
//! - [`spawn`] polls one query per SLO and environment and sends `Event::Sample`s:
//!   `Value` for a number, `NoData` for an empty result or `NaN` (PromQL's 0/0: nothing
//!   happened in the window, the same as the direct-scrape source's "no data"), `Error` with
//!   Prometheus's own `errorType: error` text or the transport failure. Never zero for nothing.
//! - [`query_once`] and [`query_range`] / [`backfill`] for one-shot use.
//! - [`spawn_alerts`] / [`alerts_once`] read `/api/v1/alerts`, filtered by label.
//! - [`template::resolve`] substitutes per-environment variables such as `{env}` into queries.
//! - [`GO_LIVE_QUERIES`]: the five go-live SLIs in PromQL over the fleet's metric names.
//!
//! Secrets (a bearer token, a basic-auth password) are read from an environment variable or
//! a file at each request, so a rotated token file is picked up; they never come from config
//! text, are never logged, and [`Secret`]'s `Debug` is redacted.

mod alerts;
mod api;
pub mod template;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

pub use alerts::{alerts_once, spawn_alerts};
pub use api::{
    Answer, InstantResult, LONG_QUERY_BYTES, MAX_BODY_BYTES, PromError, Sample, Series, decode_alerts, decode_envelope,
    decode_instant, decode_matrix, format_labels, reduce_instant, reduce_range,
};
pub use template::resolve;

use super::{CONNECT_TIMEOUT, Sink, now};
use crate::domain::cockpit::Event;
use crate::domain::env::Env;
use crate::domain::sli::SliKind;
use crate::domain::slo::Outcome;
use crate::domain::time::Ts;

/// The request itself may take this much longer than the `timeout` sent to Prometheus, so
/// Prometheus's own timeout answer (which says where the time went) arrives first.
pub const CLIENT_GRACE: Duration = Duration::from_millis(500);

/// Where a secret comes from. Never the config text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The value of this environment variable.
    Env(String),
    /// The contents of this file (surrounding whitespace and the final newline trimmed).
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "environment variable {name}"),
            SecretRef::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A secret's value. `Debug` never shows it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl SecretRef {
    /// Reads the secret now. Errors say where it was looked for, never what was found.
    pub fn load(&self) -> Result<Secret, String> {
        let raw = match self {
            SecretRef::Env(name) => std::env::var(name).map_err(|e| match e {
                std::env::VarError::NotPresent => format!("environment variable {name} is not set"),
                std::env::VarError::NotUnicode(_) => format!("environment variable {name} is not valid UTF-8"),
            })?,
            SecretRef::File(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
            }
        };
        let value = raw.trim();
        if value.is_empty() {
            return Err(format!("{self} is empty"));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(format!("{self} holds characters that cannot go in an HTTP header"));
        }
        Ok(Secret(value.to_string()))
    }
}

/// How cutover proves who it is to Prometheus (or the proxy in front of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer { token: SecretRef },
    /// `Authorization: Basic …`.
    Basic { username: String, password: SecretRef },
}

/// Which setting of a [`PromConfig`] a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigPart {
    Url,
    Headers,
    /// The bearer token (`token_env` / `token_file`).
    Token,
    /// The basic auth password (`password_env` / `password_file`).
    Password,
    Timeout,
    CaFile,
}

/// Where Prometheus is and how to talk to it.
#[derive(Clone, PartialEq, Eq)]
pub struct PromConfig {
    /// The base URL, e.g. `http://prometheus:9090` or `https://host/prometheus` behind a path
    /// prefix; `/api/v1/…` is appended.
    pub url: String,
    /// The evaluation timeout sent with every query (`timeout=`); the request as a whole gets
    /// [`CLIENT_GRACE`] more.
    pub timeout: Duration,
    pub auth: Auth,
    /// Extra headers sent with every request, e.g. `X-Scope-OrgID` for a multi-tenant proxy.
    /// Not for secrets: they come from config text. Their values are left out of `Debug`.
    pub headers: Vec<(String, String)>,
    /// A PEM file with the CA certificate(s) to trust for `https://` besides the usual roots;
    /// see [`client_for`].
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for PromConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("PromConfig")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth)
            .field("headers", &header_names)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl PromConfig {
    /// A config for `url` with a 1 s timeout and nothing else.
    pub fn new(url: impl Into<String>) -> Self {
        PromConfig {
            url: url.into(),
            timeout: Duration::from_secs(1),
            auth: Auth::None,
            headers: Vec::new(),
            ca_file: None,
        }
    }

    /// Checks what can be checked without a request: the URL, the headers, the secrets (they
    /// must be readable now) and the CA file. For `cutover check` and start-up.
    pub fn check(&self) -> Result<(), String> {
        match self.problems().into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Every problem [`PromConfig::check`] looks for, each with the part of the config it is in,
    /// so `cutover check` can point at the key.
    pub fn problems(&self) -> Vec<(ConfigPart, String)> {
        let mut out = Vec::new();
        if let Err(e) = self.endpoint("/api/v1/query") {
            out.push((ConfigPart::Url, e.to_string()));
        }
        if let Err(e) = self.header_map() {
            out.push((ConfigPart::Headers, e.to_string()));
        }
        match &self.auth {
            Auth::None => {}
            Auth::Bearer { token } => {
                if let Err(e) = token.load() {
                    out.push((ConfigPart::Token, format!("bearer token: {e}")));
                }
            }
            Auth::Basic { password, .. } => {
                if let Err(e) = password.load() {
                    out.push((ConfigPart::Password, format!("basic auth password: {e}")));
                }
            }
        }
        if self.timeout.is_zero() {
            out.push((ConfigPart::Timeout, "timeout must be longer than zero".into()));
        }
        if let Err(e) = client_for(self, &reqwest::Client::new()) {
            out.push((ConfigPart::CaFile, e.to_string()));
        }
        out
    }

    pub(crate) fn endpoint(&self, path: &str) -> Result<reqwest::Url, PromError> {
        let base = self.url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}{path}"))
            .map_err(|e| PromError::Config(format!("Prometheus URL {:?} is not a URL: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PromError::Config(format!(
                "Prometheus URL {:?}: expected http:// or https://, got {}://",
                self.url,
                url.scheme()
            )));
        }
        Ok(url)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.timeout + CLIENT_GRACE
    }

    /// `timeout=` as Prometheus reads it.
    fn timeout_param(&self) -> String {
        format!("{}ms", self.timeout.as_millis().max(1))
    }

    pub(crate) fn header_map(&self) -> Result<HeaderMap, PromError> {
        let mut map = HeaderMap::new();
        map.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| PromError::Config(format!("header name {name:?} is not valid")))?;
            if n == AUTHORIZATION && self.auth != Auth::None {
                return Err(PromError::Config(
                    "an Authorization header and auth are both configured; keep one (auth keeps the secret out of \
                     the config)"
                        .into(),
                ));
            }
            let v = HeaderValue::from_str(value)
                .map_err(|_| PromError::Config(format!("the value of header {name} is not valid in HTTP")))?;
            map.append(n, v);
        }
        Ok(map)
    }

    /// Adds the configured credentials (marked sensitive, so they never show in `Debug`).
    pub(crate) fn authorize(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, PromError> {
        Ok(match &self.auth {
            Auth::None => req,
            Auth::Bearer { token } => {
                let t = token.load().map_err(|e| PromError::Config(format!("bearer token: {e}")))?;
                req.bearer_auth(t.expose())
            }
            Auth::Basic { username, password } => {
                let p = password.load().map_err(|e| PromError::Config(format!("basic auth password: {e}")))?;
                req.basic_auth(username, Some(p.expose()))
            }
        })
    }
}

/// The HTTP client for `cfg`: `shared` (cheap to clone) unless a CA file is configured; then a
/// client like [`crate::sources::client`] that also trusts the file's certificates.
pub fn client_for(cfg: &PromConfig, shared: &reqwest::Client) -> Result<reqwest::Client, PromError> {
    let Some(path) = &cfg.ca_file else { return Ok(shared.clone()) };
    let pem = std::fs::read(path).map_err(|e| PromError::Config(format!("CA file {}: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| PromError::Config(format!("CA file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(PromError::Config(format!("CA file {}: no PEM certificate in it", path.display())));
    }
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")));
    for c in certs {
        builder = builder.add_root_certificate(c);
    }
    builder.build().map_err(|e| PromError::Config(format!("CA file {}: {e}", path.display())))
}

/// How several series of one query become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Sum,
    Max,
    Min,
}

impl Reduce {
    /// Combines two values. `max`/`min` skip a NaN the way PromQL's aggregations do.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Reduce::Sum => a + b,
            Reduce::Max => a.max(b),
            Reduce::Min => a.min(b),
        }
    }
}

impl FromStr for Reduce {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sum" => Ok(Reduce::Sum),
            "max" => Ok(Reduce::Max),
            "min" => Ok(Reduce::Min),
            other => Err(format!("unknown reduce {other:?}; expected \"sum\", \"max\" or \"min\"")),
        }
    }
}

/// One query to poll: the SLO row and environment its samples are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromSlo {
    pub slo: usize,
    pub env: Env,
    /// The query text with its variables already substituted (see [`template::resolve`]).
    pub query: String,
    pub reduce: Option<Reduce>,
    /// A minimum the window must hold before the query's value is judged.
    pub count: Option<CountCheck>,
}

/// A companion query for the number an SLO is judged on (requests in its window), and the
/// least it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountCheck {
    /// Resolved PromQL answering one number (series are summed).
    pub query: String,
    pub min: u64,
    /// What it counts, for the reason: `requests`, `successful requests`, `events`.
    pub counted: &'static str,
}

/// The outcome of a value query judged with its count: below the minimum (or no count at all)
/// it is no data with the reason; a count that cannot be read is an error, not a pass.
pub fn counted_outcome(
    value: &Result<Reading, PromError>,
    count: &Result<Reading, PromError>,
    check: &CountCheck,
) -> Outcome {
    if let Err(e) = value {
        return Outcome::Error(e.to_string());
    }
    match count {
        Err(e) => Outcome::Error(format!("count query: {e}")),
        Ok(Reading { value: Some(n), .. }) if n.is_finite() && *n >= check.min as f64 => outcome(value),
        Ok(Reading { value: Some(n), .. }) if n.is_finite() => {
            Outcome::TooFew(format!("{} {} in the window < {}", n.round(), check.counted, check.min))
        }
        Ok(Reading { value: Some(n), .. }) if n.is_infinite() => {
            Outcome::Error(format!("count query: not a finite number: {n}"))
        }
        Ok(_) => Outcome::TooFew(format!("no {} in the window (count query empty) < {}", check.counted, check.min)),
    }
}

/// One instant query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// `None`: the result was empty (no data).
    pub value: Option<f64>,
    /// Prometheus's warnings, for the log.
    pub warnings: Vec<String>,
}

impl Reading {
    /// The outcome for the cockpit: no value is no data; `NaN` is no data that says so, in the
    /// words the SLO cell uses for it.
    pub fn outcome(&self) -> Outcome {
        match self.value {
            Some(v) if v.is_nan() => Outcome::TooFew("not a number (NaN)".into()),
            Some(v) => Outcome::Value(v),
            None => Outcome::NoData,
        }
    }
}

/// The cockpit's outcome for a query's result.
pub fn outcome(result: &Result<Reading, PromError>) -> Outcome {
    match result {
        Ok(r) => r.outcome(),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// Runs one instant query at the server's current time. Long queries are POSTed
/// (see [`LONG_QUERY_BYTES`]).
pub async fn query_once(
    cfg: &PromConfig,
    client: &reqwest::Client,
    query: &str,
    reduce: Option<Reduce>,
) -> Result<Reading, PromError> {
    let params = [("query", query.to_string()), ("timeout", cfg.timeout_param())];
    let answer = api::call(cfg, client, "/api/v1/query", &params, query.len() > LONG_QUERY_BYTES).await?;
    let result = decode_instant(&answer.data)?;
    Ok(Reading { value: reduce_instant(&result, reduce)?, warnings: answer.warnings })
}

/// A range query's points (series combined with `reduce`) and warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeReading {
    pub points: Vec<(Ts, f64)>,
    pub warnings: Vec<String>,
}

/// Runs a range query from `start` to `end` every `step`. Prometheus answers at most 11 000
/// points per series.
pub async fn query_range(
    cfg: &PromConfig,
    client: &reqwest::Client,
    query: &str,
    start: Ts,
    end: Ts,
    step: Duration,
    reduce: Option<Reduce>,
) -> Result<RangeReading, PromError> {
    let params = [
        ("query", query.to_string()),
        ("start", format!("{:.3}", start.as_secs_f64())),
        ("end", format!("{:.3}", end.as_secs_f64())),
        ("step", format!("{}", step.max(Duration::from_millis(1)).as_secs_f64())),
        ("timeout", cfg.timeout_param()),
    ];
    let answer = api::call(cfg, client, "/api/v1/query_range", &params, query.len() > LONG_QUERY_BYTES).await?;
    let series = decode_matrix(&answer.data)?;
    Ok(RangeReading { points: reduce_range(&series, reduce)?, warnings: answer.warnings })
}

/// History for every query over the last `span`, one point per `step`, to fill the cockpit's
/// sparklines at start. `NaN` points (no data then) are left out. Queries run concurrently.
pub async fn backfill(
    cfg: &PromConfig,
    client: &reqwest::Client,
    slos: &[PromSlo],
    span: Duration,
    step: Duration,
) -> Vec<(usize, Env, Result<Vec<(Ts, f64)>, String>)> {
    let end = now();
    let start = Ts(end.0 - span.as_millis().min(i64::MAX as u128) as i64);
    let runs = slos.iter().map(|s| async move {
        let r = query_range(cfg, client, &s.query, start, end, step, s.reduce).await;
        let points = r.map(|r| r.points.into_iter().filter(|(_, v)| !v.is_nan()).collect()).map_err(|e| e.to_string());
        (s.slo, s.env, points)
    });
    join_all(runs).await
}

/// Starts polling. Every `interval` each query runs (all concurrently, one request in flight
/// per query: a slow query delays only its own next round) and its outcome goes to the sink as
/// `Event::Sample`. Warnings are logged (target `prometheus`) when they change. Aborting the
/// handle stops everything: the queries run inside this one task.
pub fn spawn(
    cfg: PromConfig,
    slos: Vec<PromSlo>,
    interval: Duration,
    client: reqwest::Client,
    sink: Sink,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let loops = slos.iter().map(|s| poll_one(&cfg, &client, s, interval, &sink));
        join_all(loops).await;
    })
}

async fn poll_one(cfg: &PromConfig, client: &reqwest::Client, s: &PromSlo, interval: Duration, sink: &Sink) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_warnings: Vec<String> = Vec::new();
    let mut streak = crate::domain::streak::Streak::default();
    loop {
        tick.tick().await;
        let (result, count) = match &s.count {
            None => (query_once(cfg, client, &s.query, s.reduce).await, None),
            Some(c) => {
                let (v, n) = tokio::join!(
                    query_once(cfg, client, &s.query, s.reduce),
                    query_once(cfg, client, &c.query, Some(Reduce::Sum))
                );
                (v, Some((n, c)))
            }
        };
        match &result {
            Ok(r) if r.warnings != last_warnings => {
                for w in &r.warnings {
                    tracing::warn!(target: "prometheus", "SLO #{} {}: Prometheus warns: {}", s.slo, s.env, crate::text::scrub(w));
                }
                last_warnings.clone_from(&r.warnings);
            }
            Ok(_) => {}
            Err(_) => {}
        }
        // A source that starts failing (Prometheus timing out) is logged once, then on change
        // and on recovery: never once per poll.
        let line = match &result {
            Ok(_) => streak.succeeded().map(|l| (false, l)),
            Err(e) => streak.failed(&e.to_string()).map(|l| (true, l)),
        };
        match line {
            Some((true, l)) => {
                tracing::warn!(target: "prometheus", "SLO #{} {}: {}", s.slo, s.env, crate::text::scrub(&l))
            }
            Some((false, l)) => {
                tracing::info!(target: "prometheus", "SLO #{} {}: {}", s.slo, s.env, crate::text::scrub(&l))
            }
            None => {}
        }
        let judged = match &count {
            None => outcome(&result),
            Some((n, check)) => counted_outcome(&result, n, check),
        };
        sink(Event::Sample { slo: s.slo, env: s.env, outcome: judged });
    }
}

/// A go-live SLI written in PromQL over the metric names of the simulated fleet (and of most
/// services instrumented the usual way). `{env}` is the environment's label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoLiveQuery {
    pub sli: SliKind,
    pub query: &'static str,
}

/// The five go-live SLIs over 1-minute rates, in [`SliKind::ALL`] order.
///
/// The 5xx numerator falls back to `vector(0)`: a service that has not failed since it started
/// may not export a `code="5xx"` series at all, and its error ratio is 0, not "no data". With no
/// requests at all the denominator is empty and the result is no data.
pub const GO_LIVE_QUERIES: [GoLiveQuery; 5] = [
    GoLiveQuery {
        sli: SliKind::ErrorRatio,
        query: r#"(sum(rate(http_requests_total{env="{env}",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{env="{env}"}[1m]))"#,
    },
    GoLiveQuery {
        sli: SliKind::P95Latency,
        query: r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{env="{env}"}[1m])))"#,
    },
    GoLiveQuery {
        sli: SliKind::Availability,
        query: r#"1 - ((sum(rate(http_requests_total{env="{env}",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{env="{env}"}[1m])))"#,
    },
    GoLiveQuery {
        sli: SliKind::EventLatencyP95,
        query: r#"histogram_quantile(0.95, sum by (le) (rate(event_delivery_latency_seconds_bucket{env="{env}"}[1m])))"#,
    },
    GoLiveQuery { sli: SliKind::Throughput, query: r#"sum(rate(http_requests_total{env="{env}"}[1m]))"# },
];

/// What the go-live query of `sli` is judged on, over the same window: requests (those that
/// did not fail, for latency) or events delivered. `None` for throughput, which is the count.
pub fn go_live_count_query(sli: SliKind) -> Option<&'static str> {
    match sli {
        SliKind::ErrorRatio | SliKind::Availability => Some(r#"sum(increase(http_requests_total{env="{env}"}[1m]))"#),
        SliKind::P95Latency => Some(r#"sum(increase(http_requests_total{env="{env}",code!~"5.."}[1m]))"#),
        SliKind::EventLatencyP95 => Some(r#"sum(increase(event_delivery_latency_seconds_count{env="{env}"}[1m]))"#),
        SliKind::Throughput => None,
    }
}

/// The go-live query for `sli`.
pub fn go_live_query(sli: SliKind) -> &'static str {
    GO_LIVE_QUERIES.iter().find(|q| q.sli == sli).map(|q| q.query).unwrap_or_default()
}

/// The variables of one environment: `env` (its label value) and whatever else is configured.
pub fn env_vars(env_label: &str, extra: &HashMap<String, String>) -> HashMap<String, String> {
    let mut vars = extra.clone();
    vars.entry("env".into()).or_insert_with(|| env_label.to_string());
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret("hunter2-token".into());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        let cfg = PromConfig {
            auth: Auth::Bearer { token: SecretRef::Env("PROM_TOKEN".into()) },
            headers: vec![("X-Api-Key".into(), "k3y-in-config".into())],
            ..PromConfig::new("http://p:9090")
        };
        let d = format!("{cfg:?}");
        assert!(d.contains("PROM_TOKEN") && d.contains("X-Api-Key") && !d.contains("k3y-in-config"), "{d}");
    }

    #[test]
    fn secrets_load_trimmed_and_errors_say_where() {
        let dir = std::env::temp_dir().join(format!("cutover-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "abc.def\n").unwrap();
        assert_eq!(SecretRef::File(f.clone()).load().unwrap().expose(), "abc.def");
        std::fs::write(&f, "\n").unwrap();
        assert_eq!(SecretRef::File(f.clone()).load().unwrap_err(), format!("file {} is empty", f.display()));
        std::fs::write(&f, "a\nb").unwrap();
        assert!(SecretRef::File(f.clone()).load().unwrap_err().contains("cannot go in an HTTP header"));
        let missing = dir.join("missing");
        assert!(SecretRef::File(missing).load().unwrap_err().starts_with("cannot read "));
        let e = SecretRef::Env("CUTOVER_TEST_SURELY_UNSET_VAR".into()).load().unwrap_err();
        assert_eq!(e, "environment variable CUTOVER_TEST_SURELY_UNSET_VAR is not set");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn config_checks() {
        let cfg = PromConfig::new("http://p:9090/");
        assert_eq!(cfg.endpoint("/api/v1/query").unwrap().as_str(), "http://p:9090/api/v1/query");
        let prefixed = PromConfig::new("https://h/prometheus");
        assert_eq!(prefixed.endpoint("/api/v1/alerts").unwrap().as_str(), "https://h/prometheus/api/v1/alerts");
        assert!(cfg.check().is_ok());
        assert!(PromConfig::new("prom:9090").check().unwrap_err().contains("expected http:// or https://"));
        assert!(PromConfig::new("not a url").check().unwrap_err().contains("is not a URL"));
        let bad_header = PromConfig { headers: vec![("X Bad".into(), "v".into())], ..cfg.clone() };
        assert!(bad_header.check().unwrap_err().contains("header name \"X Bad\""));
        let both = PromConfig {
            headers: vec![("Authorization".into(), "Bearer x".into())],
            auth: Auth::Bearer { token: SecretRef::Env("X".into()) },
            ..cfg.clone()
        };
        assert!(both.check().unwrap_err().contains("Authorization header and auth"));
        let no_token = PromConfig { auth: Auth::Bearer { token: SecretRef::Env("CUTOVER_TEST_UNSET".into()) }, ..cfg };
        assert_eq!(no_token.check().unwrap_err(), "bearer token: environment variable CUTOVER_TEST_UNSET is not set");
        let two = PromConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..no_token };
        let parts: Vec<ConfigPart> = two.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(parts, vec![ConfigPart::Token, ConfigPart::CaFile], "every problem, not the first");
        assert_eq!(PromConfig::new("http://p").timeout_param(), "1000ms");
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let missing = PromConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..PromConfig::new("https://p") };
        assert!(missing.check().unwrap_err().starts_with("CA file /nonexistent/ca.pem: "));
        let dir = std::env::temp_dir().join(format!("cutover-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let garbage = PromConfig { ca_file: Some(f.clone()), ..PromConfig::new("https://p") };
        let e = garbage.check().unwrap_err();
        assert!(e.starts_with(&format!("CA file {}", f.display())), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reduce_parses() {
        assert_eq!("sum".parse(), Ok(Reduce::Sum));
        assert_eq!("min".parse(), Ok(Reduce::Min));
        assert!("first".parse::<Reduce>().unwrap_err().contains("\"first\""));
    }

    #[test]
    fn nan_and_empty_are_no_data_infinity_is_a_value() {
        let r = |value| Reading { value, warnings: vec![] };
        assert_eq!(r(None).outcome(), Outcome::NoData);
        assert_eq!(r(Some(f64::NAN)).outcome(), Outcome::TooFew("not a number (NaN)".into()));
        assert_eq!(r(Some(f64::INFINITY)).outcome(), Outcome::Value(f64::INFINITY));
        assert_eq!(r(Some(0.0)).outcome(), Outcome::Value(0.0));
        let e: Result<Reading, PromError> = Err(PromError::Result("boom".into()));
        assert_eq!(outcome(&e), Outcome::Error("boom".into()));
    }

    #[test]
    fn go_live_queries_cover_every_sli_and_resolve() {
        let vars = env_vars("blue", &HashMap::new());
        for (q, kind) in GO_LIVE_QUERIES.iter().zip(SliKind::ALL) {
            assert_eq!(q.sli, kind);
            assert_eq!(template::variables(q.query), ["env"]);
            let text = resolve(q.query, &vars).unwrap();
            assert!(text.contains(r#"env="blue""#) && !text.contains("{env}"), "{text}");
        }
        assert!(go_live_query(SliKind::Throughput).starts_with("sum(rate(http_requests_total"));
        let extra: HashMap<String, String> = [("env".to_string(), "prod-blue".to_string())].into();
        assert_eq!(env_vars("blue", &extra)["env"], "prod-blue", "a configured env wins");
    }
}

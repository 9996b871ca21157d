//! Direct scrape: read `/metrics` of every target, keep a short window per target and
//! derive SLIs per environment from it (see [`crate::domain::sli`]).
//!
//! Metric families read (summed over all label sets of a target):
//! `http_requests_total{code}` (5xx = code starting with `5`), `http_request_duration_seconds`
//! (histogram), `events_published_total`, `event_delivery_latency_seconds` (histogram).

use std::time::Duration;

use futures_util::future::join_all;
use prometheus_parse::{Sample, Scrape, Value};
use tokio::time::MissedTickBehavior;

use super::{Sink, describe_error, now, read_body};
use crate::domain::cockpit::Event;
use crate::domain::env::Env;
use crate::domain::sli::{self, Family, Histogram, Requests, SliKind, SliWindow, TargetSnapshot};
use crate::domain::slo::Outcome;
use crate::domain::time::Ts;

/// The largest `/metrics` body read; a larger one is an error rather than a silent cut.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The default window SLIs are derived over.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(sli::DEFAULT_WINDOW_MS as u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub env: Env,
    /// The full URL of the metrics endpoint (usually ending in `/metrics`), used as is.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeConfig {
    pub targets: Vec<ScrapeTarget>,
    /// `(slo index, what to derive)`: one `Event::Sample` per entry and environment each round.
    pub slos: Vec<(usize, SliKind)>,
    pub interval: Duration,
    /// How far back SLIs look ([`DEFAULT_WINDOW`] is 60 s).
    pub window: Duration,
    /// Per request, connect to end of body.
    pub timeout: Duration,
}

/// Starts scraping. Every `interval` all targets are fetched concurrently (one request in
/// flight per target: a round waits for every answer or timeout before the next starts),
/// then for each configured SLO and each environment that has targets, an
/// `Event::Sample` goes to the sink:
///
/// - `Value(v)` when the window gives a number, `NoData` when it does not (yet);
/// - `Error(..)` when any target of the environment failed this round, naming the failing
///   URLs (a value from part of the fleet would be a quiet lie), or when no target of the
///   environment exposes the metric family the SLI needs.
///
/// Aborting the returned handle stops everything (no sub-tasks are spawned).
pub fn spawn(cfg: ScrapeConfig, client: reqwest::Client, sink: Sink) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(cfg, client, sink))
}

async fn run(cfg: ScrapeConfig, client: reqwest::Client, sink: Sink) {
    let window_ms = cfg.window.as_millis().min(i64::MAX as u128) as i64;
    let mut window = SliWindow::new(window_ms);
    let mut tick = tokio::time::interval(cfg.interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let results = join_all(cfg.targets.iter().map(|t| fetch(&client, &t.url, cfg.timeout))).await;
        let mut failures: Vec<Option<String>> = Vec::with_capacity(results.len());
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(snap) => {
                    window.push(i, snap);
                    failures.push(None);
                }
                Err(e) => {
                    tracing::debug!(target: "scrape", "{e}");
                    failures.push(Some(e));
                }
            }
        }
        let now = now();
        for env in Env::ALL {
            let idx: Vec<usize> = (0..cfg.targets.len()).filter(|&i| cfg.targets[i].env == env).collect();
            if idx.is_empty() {
                continue;
            }
            for &(slo, kind) in &cfg.slos {
                let outcome = env_outcome(&window, &cfg.targets, &idx, &failures, kind, now, window_ms);
                sink(Event::Sample { slo, env, outcome });
            }
        }
    }
}

/// GET one target and read its snapshot; errors name the URL.
async fn fetch(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<TargetSnapshot, String> {
    let resp = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", describe_error(&e, timeout)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {} from {url}", status.as_u16()));
    }
    let (body, truncated) =
        read_body(resp, MAX_BODY_BYTES).await.map_err(|e| format!("GET {url}: {}", describe_error(&e, timeout)))?;
    if truncated {
        return Err(format!("{url}: body larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)));
    }
    parse_snapshot(&body, now()).map_err(|e| format!("{url}: {e}"))
}

/// What one environment's SLI is this round.
fn env_outcome(
    window: &SliWindow,
    targets: &[ScrapeTarget],
    idx: &[usize],
    failures: &[Option<String>],
    kind: SliKind,
    now: Ts,
    window_ms: i64,
) -> Outcome {
    let failing: Vec<&str> = idx.iter().filter_map(|&i| failures.get(i).and_then(|f| f.as_deref())).collect();
    if !failing.is_empty() {
        let msg = failing.join("; ");
        if failing.len() == idx.len() {
            return Outcome::Error(msg);
        }
        let env = targets[idx[0]].env;
        return Outcome::Error(format!("{} of {} {env} targets failed: {msg}", failing.len(), idx.len()));
    }
    let family = kind.family();
    if !idx.iter().any(|&i| window.latest(i).is_some_and(|s| s.has(family))) {
        let urls: Vec<&str> = idx.iter().map(|&i| targets[i].url.as_str()).collect();
        return Outcome::Error(format!("no {} in the metrics of {}", family.metric(), urls.join(", ")));
    }
    match sli::derive(window, idx, kind, now, window_ms) {
        Some(v) => Outcome::Value(v),
        None => Outcome::NoData,
    }
}

/// A histogram family being put together from samples.
#[derive(Default)]
struct HistAcc {
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: Option<f64>,
}

impl HistAcc {
    fn add_bucket(&mut self, le: f64, count: f64) {
        match self.buckets.iter_mut().find(|(l, _)| *l == le) {
            Some((_, c)) => *c += count,
            None => self.buckets.push((le, count)),
        }
    }

    fn finish(mut self, name: &str) -> Result<Option<Histogram>, String> {
        if self.buckets.is_empty() {
            // `_count`/`_sum` alone give no quantiles: the family counts as absent.
            return Ok(None);
        }
        // prometheus-parse hands buckets over in hash order.
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let Some(&(_, total)) = self.buckets.last().filter(|b| b.0 == f64::INFINITY) else {
            return Err(format!("{name} has no le=\"+Inf\" bucket"));
        };
        Ok(Some(Histogram {
            buckets: self.buckets,
            count: self.count.unwrap_or(total),
            sum: self.sum.unwrap_or(f64::NAN),
        }))
    }
}

fn scalar(v: &Value) -> Option<f64> {
    match *v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => Some(x),
        Value::Histogram(_) | Value::Summary(_) => None,
    }
}

fn finite(s: &Sample, x: f64) -> Result<f64, String> {
    if x.is_finite() { Ok(x) } else { Err(format!("{}{{{}}} is {x}, not a count", s.metric, s.labels)) }
}

fn parse_le(s: &Sample) -> Result<Option<f64>, String> {
    let Some(le) = s.labels.get("le") else { return Ok(None) };
    let v = if le.eq_ignore_ascii_case("nan") { f64::NAN } else { le.parse::<f64>().unwrap_or(f64::NAN) };
    if v.is_nan() {
        return Err(format!("{}{{{}}} has an unreadable le={le:?}", s.metric, s.labels));
    }
    Ok(Some(v))
}

/// Reads one `/metrics` body (Prometheus text exposition) into a snapshot taken at `at`.
///
/// Families are summed over all their label sets. A family the body does not have is
/// `None` in the snapshot; a body with none of the four families is an error, as are a
/// non-finite counter or bucket, a histogram without a `+Inf` bucket, and a summary where
/// a histogram is expected. Histograms are read both with and without `# TYPE` lines
/// (prometheus-parse types `_bucket` only when declared, and `_sum`/`_count` never).
pub fn parse_snapshot(body: &str, at: Ts) -> Result<TargetSnapshot, String> {
    if body.trim().is_empty() {
        return Err("empty body, expected Prometheus text exposition".into());
    }
    let time = chrono::DateTime::from_timestamp_millis(at.0).unwrap_or_default();
    let scrape =
        Scrape::parse_at(body.lines().map(|l| Ok(l.to_owned())), time).map_err(|e| format!("unreadable body: {e}"))?;

    let mut requests: Option<Requests> = None;
    let mut events: Option<f64> = None;
    let mut hists = [HistAcc::default(), HistAcc::default()];
    let hist_names = [Family::Duration.metric(), Family::EventLatency.metric()];
    let mut other = 0usize;

    for s in &scrape.samples {
        let name = s.metric.as_str();
        if name == Family::Requests.metric() {
            let Some(x) = scalar(&s.value) else { continue };
            let x = finite(s, x)?;
            let r = requests.get_or_insert_with(Requests::default);
            r.all += x;
            if s.labels.get("code").is_some_and(|c| c.starts_with('5')) {
                r.server_errors += x;
            }
            continue;
        }
        if name == Family::Events.metric() {
            let Some(x) = scalar(&s.value) else { continue };
            *events.get_or_insert(0.0) += finite(s, x)?;
            continue;
        }
        let Some((h, base)) = hist_names.iter().enumerate().find_map(|(h, base)| {
            let family = name == *base
                || name.strip_prefix(*base).is_some_and(|suffix| matches!(suffix, "_bucket" | "_count" | "_sum"));
            family.then_some((h, *base))
        }) else {
            other += 1;
            continue;
        };
        let acc = &mut hists[h];
        match &s.value {
            Value::Histogram(counts) => {
                for c in counts {
                    if c.less_than.is_nan() {
                        return Err(format!("{base}{{{}}} has a NaN le", s.labels));
                    }
                    acc.add_bucket(c.less_than, finite(s, c.count)?);
                }
            }
            Value::Summary(_) => {
                return Err(format!("{base} is a summary, expected a histogram (quantiles cannot be summed)"));
            }
            v => {
                let Some(x) = scalar(v) else { continue };
                match &name[base.len()..] {
                    "_bucket" => {
                        if let Some(le) = parse_le(s)? {
                            acc.add_bucket(le, finite(s, x)?);
                        }
                    }
                    "_count" => *acc.count.get_or_insert(0.0) += x,
                    // Sums may be NaN (nothing observed yet in some clients): kept as is.
                    "_sum" => *acc.sum.get_or_insert(0.0) += x,
                    _ => {}
                }
            }
        }
    }

    let [duration, event_latency] = hists;
    let snap = TargetSnapshot {
        at,
        requests,
        duration: duration.finish(hist_names[0])?,
        events,
        event_latency: event_latency.finish(hist_names[1])?,
    };
    if Family::ALL.iter().all(|f| !snap.has(*f)) {
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.metric()).collect();
        let trimmed = body.trim_start();
        let hint = if trimmed.starts_with('<') {
            " (the body looks like HTML: a wrong URL or a login page?)".to_string()
        } else if other > 0 {
            format!(" ({other} samples of other metrics)")
        } else {
            " (no samples at all: is this a Prometheus /metrics endpoint?)".to_string()
        };
        return Err(format!("none of {} found{hint}", names.join(", ")));
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/", $name))
        };
    }

    #[test]
    fn reads_a_typed_exposition_summed_over_label_sets() {
        let s = parse_snapshot(fixture!("api-gateway.txt"), Ts(42)).unwrap();
        assert_eq!(s.at, Ts(42));
        // 1234 + 16 + 7 + 3 requests, of which 500 and 503: 10.
        assert_eq!(s.requests, Some(Requests { all: 1260.0, server_errors: 10.0 }));
        // /search + /ingest per bucket, sorted by le.
        let d = s.duration.unwrap();
        assert_eq!(
            d.buckets,
            [(0.05, 500.0), (0.1, 850.0), (0.25, 1100.0), (0.5, 1220.0), (1.0, 1255.0), (2.5, 1260.0), (INF, 1260.0)]
        );
        assert_eq!((d.count, d.sum), (1260.0, 163.75));
        // 420 + 80 events; nothing delivered yet: zero buckets and a NaN sum.
        assert_eq!(s.events, Some(500.0));
        let e = s.event_latency.unwrap();
        assert_eq!(e.buckets, [(0.01, 0.0), (0.05, 0.0), (0.1, 0.0), (0.5, 0.0), (INF, 0.0)]);
        assert_eq!(e.count, 0.0);
        assert!(e.sum.is_nan());
    }

    #[test]
    fn reads_an_exposition_without_type_lines_and_sorts_buckets() {
        let s = parse_snapshot(fixture!("untyped.txt"), Ts(0)).unwrap();
        assert_eq!(s.requests, Some(Requests { all: 100.0, server_errors: 2.0 }));
        assert_eq!(s.duration, None, "the family is not there: absent, not zero");
        assert_eq!(s.events, Some(51.0));
        let e = s.event_latency.unwrap();
        assert_eq!(e.buckets, [(0.05, 10.0), (0.1, 30.0), (0.5, 48.0), (INF, 50.0)]);
        assert_eq!((e.count, e.sum), (50.0, 7.5));
    }

    #[test]
    fn missing_families_are_absent_not_zero() {
        let s = parse_snapshot(fixture!("requests-only.txt"), Ts(0)).unwrap();
        assert_eq!(s.requests, Some(Requests { all: 11.0, server_errors: 1.0 }));
        assert!(s.duration.is_none() && s.events.is_none() && s.event_latency.is_none());
    }

    #[test]
    fn bodies_without_any_expected_family_are_errors() {
        let e = parse_snapshot("", Ts(0)).unwrap_err();
        assert!(e.contains("empty body"), "{e}");
        let e = parse_snapshot("  \n\n", Ts(0)).unwrap_err();
        assert!(e.contains("empty body"), "{e}");
        let e = parse_snapshot(fixture!("login-page.html"), Ts(0)).unwrap_err();
        assert!(e.contains("http_requests_total") && e.contains("HTML"), "{e}");
        let e = parse_snapshot(fixture!("other-metrics.txt"), Ts(0)).unwrap_err();
        assert!(e.contains("none of http_requests_total") && e.contains("event_delivery_latency_seconds"), "{e}");
        assert!(e.contains("2 samples of other metrics"), "{e}");
        let e = parse_snapshot(r#"{"status":"UP"}"#, Ts(0)).unwrap_err();
        assert!(e.contains("none of"), "{e}");
    }

    #[test]
    fn malformed_families_are_errors() {
        let e = parse_snapshot(fixture!("no-inf-bucket.txt"), Ts(0)).unwrap_err();
        assert!(e.contains("http_request_duration_seconds") && e.contains("+Inf"), "{e}");
        let e = parse_snapshot(fixture!("summary.txt"), Ts(0)).unwrap_err();
        assert!(e.contains("event_delivery_latency_seconds is a summary"), "{e}");
        let e = parse_snapshot(fixture!("nan-counter.txt"), Ts(0)).unwrap_err();
        assert!(e.contains("http_requests_total") && e.contains("NaN"), "{e}");
    }

    fn targets() -> Vec<ScrapeTarget> {
        vec![
            ScrapeTarget { env: Env::Blue, url: "http://b1/metrics".into() },
            ScrapeTarget { env: Env::Blue, url: "http://b2/metrics".into() },
            ScrapeTarget { env: Env::Green, url: "http://g1/metrics".into() },
        ]
    }

    fn snap(secs: i64, all: f64, errors: f64) -> TargetSnapshot {
        TargetSnapshot {
            requests: Some(Requests { all, server_errors: errors }),
            ..TargetSnapshot::empty(Ts::from_secs(secs))
        }
    }

    #[test]
    fn environment_outcomes() {
        let t = targets();
        let mut w = SliWindow::new(60_000);
        for i in 0..3 {
            w.push(i, snap(0, 0.0, 0.0));
        }
        let ok = [None, None, None];
        let out = |w: &SliWindow, idx: &[usize], f: &[Option<String>], kind| {
            env_outcome(w, &t, idx, f, kind, Ts::from_secs(10), 60_000)
        };
        assert_eq!(out(&w, &[0, 1], &ok, SliKind::ErrorRatio), Outcome::NoData, "one snapshot each");
        w.push(0, snap(10, 100.0, 1.0));
        w.push(1, snap(10, 100.0, 3.0));
        w.push(2, snap(10, 0.0, 0.0));
        // (1 + 3) / 200.
        assert_eq!(out(&w, &[0, 1], &ok, SliKind::ErrorRatio), Outcome::Value(0.02));
        assert_eq!(out(&w, &[2], &ok, SliKind::ErrorRatio), Outcome::NoData, "no requests: 0/0");
        assert_eq!(out(&w, &[2], &ok, SliKind::Throughput), Outcome::Value(0.0));

        let e = out(&w, &[0, 1], &[None, Some("HTTP 503 from http://b2/metrics".into()), None], SliKind::ErrorRatio);
        assert_eq!(e, Outcome::Error("1 of 2 blue targets failed: HTTP 503 from http://b2/metrics".into()));
        let both =
            [Some("GET http://b1/metrics: connection refused".into()), Some("HTTP 503 from http://b2/metrics".into())];
        let e = out(&w, &[0, 1], &[both[0].clone(), both[1].clone(), None], SliKind::Throughput);
        assert_eq!(
            e,
            Outcome::Error("GET http://b1/metrics: connection refused; HTTP 503 from http://b2/metrics".into())
        );

        let e = out(&w, &[0, 1], &ok, SliKind::P95Latency);
        assert_eq!(
            e,
            Outcome::Error(
                "no http_request_duration_seconds in the metrics of http://b1/metrics, http://b2/metrics".into()
            )
        );
    }
}

//! Direct scrape: read `/metrics` of every target, keep a short window per target and
//! derive SLIs per environment from it (see [`crate::domain::sli`]).
//!
//! Metric families read (summed over all label sets of a target):
//! `http_requests_total{code}` (5xx = code starting with `5`), `http_request_duration_seconds`
//! (histogram), `events_published_total`, `event_delivery_latency_seconds` (histogram).
//!
//! Bodies are read by [`crate::domain::exposition`]. A line that cannot be read and is (or
//! may be) a sample of one of these families makes the target's round an error naming the
//! line: an SLO never silently loses requests. Other unreadable lines leave the snapshot
//! whole and are logged (as a warning, again only when they change).

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::MissedTickBehavior;

use super::{Sink, describe_error, now};
use crate::domain::cockpit::Event;
use crate::domain::env::Env;
use crate::domain::exposition::{self, LineKind, MetricKind, Sample, Unreadable};
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
    /// `(slo index, minimum)`: below this many requests (events for event latency) in the
    /// window an environment's SLI is no data with the reason. An SLO not listed has none.
    pub min_counts: Vec<(usize, u64)>,
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
    // Per target, the unreadable lines last logged: logged again only when they change.
    let mut warned: Vec<String> = vec![String::new(); cfg.targets.len()];
    loop {
        tick.tick().await;
        let results = join_all(cfg.targets.iter().map(|t| fetch(&client, &t.url, cfg.timeout))).await;
        let mut failures: Vec<Option<String>> = Vec::with_capacity(results.len());
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(parsed) => {
                    let url = &cfg.targets[i].url;
                    let refs: Vec<&Unreadable> = parsed.warnings.iter().collect();
                    let now_warned = describe_unreadable(&refs);
                    if now_warned != warned[i] {
                        if refs.is_empty() {
                            tracing::info!(target: "scrape", "{url}: every line reads again");
                        } else {
                            tracing::warn!(
                                target: "scrape",
                                "{url}: {} unreadable lines (none of them used by an SLO): {now_warned}",
                                refs.len()
                            );
                        }
                        warned[i] = now_warned;
                    }
                    window.push(i, parsed.snapshot);
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
                let min = cfg.min_counts.iter().find(|(i, _)| *i == slo).map_or(0, |(_, m)| *m);
                let judged = Judged { kind, min };
                let outcome = env_outcome(&window, &cfg.targets, &idx, &failures, judged, now, window_ms);
                sink(Event::Sample { slo, env, outcome });
            }
        }
    }
}

/// GET one target and read its snapshot; errors name the URL.
async fn fetch(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<Parsed, String> {
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
        read_bytes(resp, MAX_BODY_BYTES).await.map_err(|e| format!("GET {url}: {}", describe_error(&e, timeout)))?;
    if truncated {
        return Err(format!("{url}: body larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)));
    }
    parse_snapshot(&body, now()).map_err(|e| format!("{url}: {e}"))
}

/// Reads at most `limit` bytes of a body, as bytes: invalid UTF-8 is the parser's to report,
/// not to be replaced on the way. Returns whether more was there.
async fn read_bytes(mut resp: reqwest::Response, limit: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf, true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf, false))
}

/// What to derive, and the least the window must hold to judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Judged {
    kind: SliKind,
    /// Requests (events for event latency) in the window; 0: any.
    min: u64,
}

impl From<SliKind> for Judged {
    fn from(kind: SliKind) -> Self {
        Judged { kind, min: 0 }
    }
}

/// What one environment's SLI is this round.
fn env_outcome(
    window: &SliWindow,
    targets: &[ScrapeTarget],
    idx: &[usize],
    failures: &[Option<String>],
    judged: impl Into<Judged>,
    now: Ts,
    window_ms: i64,
) -> Outcome {
    let Judged { kind, min } = judged.into();
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
    if min > 0
        && let Some((n, secs)) = sli::window_count(window, idx, kind, now, window_ms)
        && n < min as f64
    {
        // A handful of requests says nothing about a service: 3 of 5 failing is not a 60 % error
        // rate, and the p95 of nothing but fast 503s is not a fast service.
        return Outcome::TooFew(format!("{} {} in {}s < {min}", n.round(), sli::counted(kind), secs.round()));
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
        // Bodies may list buckets in any order.
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

/// `name{a="1",b="2"}` for messages, label values escaped as in the exposition.
fn series(s: &Sample) -> String {
    let labels: Vec<String> = s
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{}{{{}}} (line {})", s.name, labels.join(","), s.line)
}

fn finite(s: &Sample) -> Result<f64, String> {
    // The same words as an infinite SLI from Prometheus: a counter or bucket cannot be NaN or
    // infinite, so the exporter is broken and nothing can be judged (never "ok", never no data).
    if s.value.is_finite() {
        Ok(s.value)
    } else {
        Err(format!("{}: not a finite number: {}", series(s), exposition_number(s.value)))
    }
}

/// `NaN`, `+Inf`, `-Inf` as the exposition format writes them.
fn exposition_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        v.to_string()
    }
}

fn parse_le(s: &Sample) -> Result<Option<f64>, String> {
    let Some(le) = s.label("le") else { return Ok(None) };
    match exposition::parse_float(le) {
        Some(v) if !v.is_nan() => Ok(Some(v)),
        _ => Err(format!("{} has an unreadable le={le:?}", series(s))),
    }
}

/// The histogram families the SLIs read.
const HISTOGRAMS: [Family; 2] = [Family::Duration, Family::EventLatency];

/// Whether a sample name belongs to a family the SLIs read.
fn of_family(name: &str, family: Family) -> bool {
    let base = family.metric();
    match family {
        Family::Requests | Family::Events => name == base,
        Family::Duration | Family::EventLatency => {
            name == base || name.strip_prefix(base).is_some_and(|s| matches!(s, "_bucket" | "_count" | "_sum"))
        }
    }
}

/// The family an unreadable line may have held a sample of. A line whose metric name
/// could not even be read counts as one when its text mentions the family's name.
fn touches(u: &Unreadable, body: &[u8]) -> Option<Family> {
    match (u.what, &u.name) {
        (LineKind::Help | LineKind::Type, _) => None,
        (LineKind::Sample | LineKind::Unknown, Some(name)) => Family::ALL.into_iter().find(|f| of_family(name, *f)),
        (LineKind::Sample | LineKind::Unknown, None) => {
            let line = body.split(|&b| b == b'\n').nth(u.line.saturating_sub(1)).unwrap_or_default();
            Family::ALL.into_iter().find(|f| line.windows(f.metric().len()).any(|w| w == f.metric().as_bytes()))
        }
    }
}

/// A list of unreadable lines for a message: the first three, and how many more.
pub fn describe_unreadable(lines: &[&Unreadable]) -> String {
    let mut parts: Vec<String> = lines.iter().take(3).map(|u| u.to_string()).collect();
    if lines.len() > 3 {
        parts.push(format!("and {} more", lines.len() - 3));
    }
    parts.join("; ")
}

/// What one `/metrics` body gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub snapshot: TargetSnapshot,
    /// Lines that could not be read and hold nothing the SLIs use (other metrics, `HELP` and
    /// `TYPE` lines): the snapshot is whole, but the operator should hear of them.
    pub warnings: Vec<Unreadable>,
}

/// Reads one `/metrics` body (Prometheus text exposition, see [`exposition`]) into a
/// snapshot taken at `at`.
///
/// Families are summed over all their label sets (by sample name, so bodies without
/// `# TYPE` lines read the same; sample timestamps are ignored). A family the body does
/// not have is `None` in the snapshot. Errors:
/// - any unreadable line that is, or may be, a sample of one of the four families (a
///   sum with a series missing would quietly undercount): the error lists the lines;
/// - a body with none of the four families, a non-finite counter or bucket, a histogram
///   without a `+Inf` bucket, a summary where a histogram is expected.
///
/// Other unreadable lines come back as [`Parsed::warnings`].
pub fn parse_snapshot(body: impl AsRef<[u8]>, at: Ts) -> Result<Parsed, String> {
    let body = body.as_ref();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("empty body, expected Prometheus text exposition".into());
    }
    let expo = exposition::parse(body);
    let (lost, warnings): (Vec<&Unreadable>, Vec<&Unreadable>) =
        expo.unreadable.iter().partition(|u| touches(u, body).is_some());
    if !lost.is_empty() {
        let mut families: Vec<&str> = Vec::new();
        for f in lost.iter().filter_map(|u| touches(u, body)) {
            if !families.contains(&f.metric()) {
                families.push(f.metric());
            }
        }
        let n = lost.len();
        let lines = if n == 1 { "1 unreadable line".to_string() } else { format!("{n} unreadable lines") };
        return Err(format!(
            "{lines} of {} (sums would be short): {}",
            families.join(", "),
            describe_unreadable(&lost)
        ));
    }

    let mut requests: Option<Requests> = None;
    let mut events: Option<f64> = None;
    let mut hists = [HistAcc::default(), HistAcc::default()];
    let mut other = 0usize;

    for s in &expo.samples {
        let name = s.name.as_str();
        if of_family(name, Family::Requests) {
            let x = finite(s)?;
            let r = requests.get_or_insert_with(Requests::default);
            r.all += x;
            if s.label("code").is_some_and(|c| c.starts_with('5')) {
                r.server_errors += x;
            }
            continue;
        }
        if of_family(name, Family::Events) {
            *events.get_or_insert(0.0) += finite(s)?;
            continue;
        }
        let Some(h) = HISTOGRAMS.iter().position(|f| of_family(name, *f)) else {
            other += 1;
            continue;
        };
        let base = HISTOGRAMS[h].metric();
        if s.kind == MetricKind::Summary {
            return Err(format!("{base} is a summary, expected a histogram (quantiles cannot be summed)"));
        }
        let acc = &mut hists[h];
        match &name[base.len()..] {
            "_bucket" => {
                if let Some(le) = parse_le(s)? {
                    acc.add_bucket(le, finite(s)?);
                }
            }
            "_count" => *acc.count.get_or_insert(0.0) += s.value,
            // Sums may be NaN (nothing observed yet in some clients): kept as is.
            "_sum" => *acc.sum.get_or_insert(0.0) += s.value,
            _ => {}
        }
    }

    let [duration, event_latency] = hists;
    let snap = TargetSnapshot {
        at,
        requests,
        duration: duration.finish(HISTOGRAMS[0].metric())?,
        events,
        event_latency: event_latency.finish(HISTOGRAMS[1].metric())?,
    };
    if Family::ALL.iter().all(|f| !snap.has(*f)) {
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.metric()).collect();
        let trimmed = body.trim_ascii_start();
        let hint = if trimmed.starts_with(b"<") {
            " (the body looks like HTML: a wrong URL or a login page?)".to_string()
        } else if other > 0 {
            format!(" ({other} samples of other metrics)")
        } else if !warnings.is_empty() {
            format!(" (no samples, {} unreadable lines: {})", warnings.len(), describe_unreadable(&warnings))
        } else {
            " (no samples at all: is this a Prometheus /metrics endpoint?)".to_string()
        };
        return Err(format!("none of {} found{hint}", names.join(", ")));
    }
    Ok(Parsed { snapshot: snap, warnings: warnings.into_iter().cloned().collect() })
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
        let s = parse_snapshot(fixture!("api-gateway.txt"), Ts(42)).unwrap().snapshot;
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
        let s = parse_snapshot(fixture!("untyped.txt"), Ts(0)).unwrap().snapshot;
        assert_eq!(s.requests, Some(Requests { all: 100.0, server_errors: 2.0 }));
        assert_eq!(s.duration, None, "the family is not there: absent, not zero");
        assert_eq!(s.events, Some(51.0));
        let e = s.event_latency.unwrap();
        assert_eq!(e.buckets, [(0.05, 10.0), (0.1, 30.0), (0.5, 48.0), (INF, 50.0)]);
        assert_eq!((e.count, e.sum), (50.0, 7.5));
    }

    #[test]
    fn missing_families_are_absent_not_zero() {
        let s = parse_snapshot(fixture!("requests-only.txt"), Ts(0)).unwrap().snapshot;
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

    #[test]
    fn unreadable_lines_of_the_slo_families_are_errors() {
        let ok = "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 10\n";
        // A sample of the family we sum: the error names the line.
        let body = format!("{ok}http_requests_total{{code=\"500\" 3\n");
        let e = parse_snapshot(&body, Ts(0)).unwrap_err();
        assert!(e.starts_with("1 unreadable line of http_requests_total (sums would be short): line 3: "), "{e}");
        // A bucket with a bad value.
        let body = format!("{ok}http_request_duration_seconds_bucket{{le=\"1\"}} one\n");
        let e = parse_snapshot(&body, Ts(0)).unwrap_err();
        assert!(e.contains("of http_request_duration_seconds") && e.contains("line 3: value \"one\""), "{e}");
        // A line whose name cannot be read but that mentions the family.
        let body = format!("{ok}-events_published_total 4\n");
        let e = parse_snapshot(&body, Ts(0)).unwrap_err();
        assert!(e.contains("of events_published_total"), "{e}");
        // Invalid UTF-8 in a label value, a duplicate series, a cut-off last line.
        let mut body = ok.as_bytes().to_vec();
        body.extend_from_slice(b"http_requests_total{path=\"/\xff\"} 1\n");
        let e = parse_snapshot(&body, Ts(0)).unwrap_err();
        assert!(e.contains("line 3: not UTF-8"), "{e}");
        let e = parse_snapshot(format!("{ok}http_requests_total{{code=\"200\"}} 10\n"), Ts(0)).unwrap_err();
        assert!(e.contains("line 3: the same series as line 2"), "{e}");
        let e = parse_snapshot(format!("{ok}http_requests_total{{code=\"503\"}} 1"), Ts(0)).unwrap_err();
        assert!(e.contains("line 3: the last line has no line feed"), "{e}");
    }

    #[test]
    fn other_unreadable_lines_are_warnings() {
        let body = "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 10\n\
                    go_goroutines{ 7\n# TYPE go_info stateset\nnot a metric\n";
        let p = parse_snapshot(body, Ts(0)).unwrap();
        assert_eq!(p.snapshot.requests, Some(Requests { all: 10.0, server_errors: 0.0 }));
        let lines: Vec<usize> = p.warnings.iter().map(|u| u.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        // Nothing of ours and only unreadable lines: the reason says so.
        let e = parse_snapshot("foo{ 1\n", Ts(0)).unwrap_err();
        assert!(e.contains("no samples, 1 unreadable lines: line 1: "), "{e}");
    }

    #[test]
    fn buckets_in_any_order_are_sorted() {
        let body = "# TYPE http_request_duration_seconds histogram\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} 9\n\
                    http_request_duration_seconds_bucket{le=\"0.5\"} 7\n\
                    http_request_duration_seconds_bucket{le=\"0.1\"} 2\n\
                    http_request_duration_seconds_count 9\n";
        let d = parse_snapshot(body, Ts(0)).unwrap().snapshot.duration.unwrap();
        assert_eq!(d.buckets, [(0.1, 2.0), (0.5, 7.0), (INF, 9.0)]);
        assert_eq!(d.count, 9.0);
        assert!(d.sum.is_nan(), "no _sum line");
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

    #[test]
    fn too_few_requests_in_the_window_is_no_data_with_the_reason() {
        let t = targets();
        let mut w = SliWindow::new(60_000);
        w.push(0, snap(0, 0.0, 0.0));
        w.push(0, snap(60, 37.0, 20.0));
        let ok = [None, None, None];
        let judged = |kind, min| Judged { kind, min };
        let out = |kind, min| env_outcome(&w, &t, &[0], &ok, judged(kind, min), Ts::from_secs(60), 60_000);
        assert_eq!(out(SliKind::ErrorRatio, 100), Outcome::TooFew("37 requests in 60s < 100".into()));
        assert_eq!(out(SliKind::Availability, 100), Outcome::TooFew("37 requests in 60s < 100".into()));
        assert_eq!(out(SliKind::ErrorRatio, 37), Outcome::Value(20.0 / 37.0), "at the minimum it is judged");
        assert_eq!(out(SliKind::ErrorRatio, 0), Outcome::Value(20.0 / 37.0));
        // A failing round is an error whatever the count.
        let failed = [Some("HTTP 503 from http://b1/metrics".into()), None, None];
        let e = env_outcome(&w, &t, &[0], &failed, judged(SliKind::ErrorRatio, 100), Ts::from_secs(60), 60_000);
        assert_eq!(e, Outcome::Error("HTTP 503 from http://b1/metrics".into()));
    }
}

//! The text exposition parser against an edge-case corpus (`tests/fixtures/exposition/`),
//! property tests, the simulated fleet's real `/metrics`, and promtool as a second opinion.
//!
//! The rule under test: every sample is read exactly (name, labels, value, timestamp,
//! family, type, line), or its line is reported with the reason; nothing disappears.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cutover::domain::env::Weights;
use cutover::domain::exposition::{Exposition, LineKind, MetricKind, Sample, parse};
use cutover::domain::time::Ts;
use cutover::fleet::{Fleet, FleetOptions};
use cutover::sources::scrape::parse_snapshot;
use proptest::prelude::*;

use MetricKind::{Counter, Gauge, Histogram, Summary, Untyped};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exposition")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A sample as the tests spell it: `(line, name, labels, value, timestamp, family, type)`;
/// values compare by their `{:?}` text, so `NaN` equals `NaN` and `-0.0` is not `0.0`.
type Want<'a> = (usize, &'a str, &'a [(&'a str, &'a str)], f64, Option<i64>, &'a str, MetricKind);

/// A sample in comparable form (the value as its `{:?}` text).
type Key = (usize, String, Vec<(String, String)>, String, Option<i64>, String, MetricKind);

fn key(s: &Sample) -> Key {
    (s.line, s.name.clone(), s.labels.clone(), format!("{:?}", s.value), s.timestamp_ms, s.family.clone(), s.kind)
}

fn want_key(w: &Want) -> Key {
    let labels = w.2.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (w.0, w.1.to_string(), labels, format!("{:?}", w.3), w.4, w.5.to_string(), w.6)
}

fn assert_samples(e: &Exposition, want: &[Want]) {
    let got: Vec<_> = e.samples.iter().map(key).collect();
    let want: Vec<_> = want.iter().map(want_key).collect();
    assert_eq!(got.len(), want.len(), "sample count: {got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

/// `(line, what, name, a part of the reason)`.
type WantBad<'a> = (usize, LineKind, Option<&'a str>, &'a str);

fn assert_unreadable(e: &Exposition, want: &[WantBad]) {
    let got: Vec<_> = e.unreadable.iter().map(|u| (u.line, u.what, u.name.as_deref())).collect();
    let expected: Vec<_> = want.iter().map(|w| (w.0, w.1, w.2)).collect();
    assert_eq!(got, expected, "{:#?}", e.unreadable);
    for (u, w) in e.unreadable.iter().zip(want) {
        assert!(u.reason.contains(w.3), "line {}: reason {:?} lacks {:?}", u.line, u.reason, w.3);
    }
}

fn clean(name: &str) -> Exposition {
    let e = parse(&fixture(name));
    assert!(e.unreadable.is_empty(), "{name}: {:#?}", e.unreadable);
    e
}

#[test]
fn metric_names_with_colons() {
    let e = clean("colons.txt");
    assert_samples(
        &e,
        &[
            (3, "job:http_requests:rate5m", &[("job", "api")], 12.5, None, "job:http_requests:rate5m", Gauge),
            (4, "job:http_requests:rate5m", &[("job", "search")], 0.25, None, "job:http_requests:rate5m", Gauge),
            (6, ":leading_colon", &[], 1.0, None, ":leading_colon", Untyped),
            (
                7,
                "instance:node_cpu:ratio",
                &[("instance", "10.0.0.1:9100")],
                0.42,
                None,
                "instance:node_cpu:ratio",
                Untyped,
            ),
        ],
    );
    assert_eq!(e.families[0].help.as_deref(), Some("Requests per second by job, from a recording rule."));
}

#[test]
fn label_values_with_separators_escapes_and_unicode() {
    let e = clean("label-values.txt");
    let t = "tricky_labels";
    assert_samples(
        &e,
        &[
            (3, t, &[("path", "/a,b"), ("next", "after the comma")], 1.0, None, t, Gauge),
            (4, t, &[("path", "/x}y"), ("next", "after the brace")], 2.0, None, t, Gauge),
            (5, t, &[("path", "k=v&{q}"), ("next", "equals and braces")], 3.0, None, t, Gauge),
            (6, t, &[("path", "say \"hi\""), ("next", "escaped quotes")], 4.0, None, t, Gauge),
            (7, t, &[("path", "C:\\dir\\"), ("next", "escaped backslashes")], 5.0, None, t, Gauge),
            (8, t, &[("path", "line one\nline two"), ("next", "escaped newline")], 6.0, None, t, Gauge),
            (9, t, &[("path", "\\n is not a newline"), ("next", "escaped backslash then n")], 7.0, None, t, Gauge),
            (10, t, &[("path", ""), ("next", "empty value")], 8.0, None, t, Gauge),
            (11, t, &[("path", "grüße 東京 🚀"), ("next", "unicode")], 9.0, None, t, Gauge),
            (12, t, &[("path", "trailing comma"), ("next", "allowed")], 10.0, None, t, Gauge),
            (13, t, &[("path", "spaces"), ("next", "around tokens")], 11.0, None, t, Gauge),
            (14, t, &[("path", "tab\tinside"), ("next", "a raw tab")], 12.0, None, t, Gauge),
        ],
    );
}

#[test]
fn nan_infinities_exponents_and_timestamps() {
    let e = clean("special-values.txt");
    let s = "special_values";
    assert_samples(
        &e,
        &[
            (3, s, &[("case", "nan")], f64::NAN, None, s, Gauge),
            (4, s, &[("case", "plus_inf")], f64::INFINITY, None, s, Gauge),
            (5, s, &[("case", "minus_inf")], f64::NEG_INFINITY, None, s, Gauge),
            (6, s, &[("case", "small")], 1e-7, None, s, Gauge),
            (7, s, &[("case", "exponent")], 1500.0, None, s, Gauge),
            (8, s, &[("case", "negative")], -0.25, None, s, Gauge),
            (9, s, &[("case", "integer")], 42.0, None, s, Gauge),
            (10, s, &[("case", "big")], f64::MAX, None, s, Gauge),
            (11, s, &[("case", "timestamp")], 3.0, Some(1_700_000_000_123), s, Gauge),
            (12, s, &[("case", "negative_timestamp")], 4.0, Some(-1000), s, Gauge),
            (13, s, &[("case", "tabs")], 5.0, Some(1_700_000_000_000), s, Gauge),
        ],
    );
}

#[test]
fn without_type_lines_every_name_is_its_own_untyped_family() {
    let e = clean("missing-type.txt");
    let (r, l) = ("http_requests_total", "latency_seconds");
    assert_samples(
        &e,
        &[
            (2, r, &[("code", "200")], 98.0, None, r, Untyped),
            (3, r, &[("code", "502")], 2.0, None, r, Untyped),
            (4, "latency_seconds_bucket", &[("le", "0.1")], 3.0, None, "latency_seconds_bucket", Untyped),
            (5, "latency_seconds_bucket", &[("le", "+Inf")], 4.0, None, "latency_seconds_bucket", Untyped),
            (6, "latency_seconds_sum", &[], 0.9, None, "latency_seconds_sum", Untyped),
            (7, "latency_seconds_count", &[], 4.0, None, "latency_seconds_count", Untyped),
            (9, "only_help", &[], 7.0, None, "only_help", Untyped),
        ],
    );
    assert!(!e.samples.iter().any(|s| s.family == l));
    assert_eq!(e.families.len(), 1);
    assert_eq!((e.families[0].name.as_str(), e.families[0].kind), ("only_help", Untyped));
}

#[test]
fn created_series_belong_to_their_family() {
    let e = clean("created.txt");
    let (q, j, h) = ("requests", "jobs_total", "rpc_seconds");
    assert_samples(
        &e,
        &[
            (3, "requests_total", &[("path", "/")], 10.0, None, q, Counter),
            (4, "requests_created", &[("path", "/")], 1_700_000_000.5, None, q, Counter),
            (7, "jobs_total", &[], 3.0, None, j, Counter),
            (8, "jobs_created", &[], 1_700_000_001.0, None, j, Counter),
            (11, "rpc_seconds_bucket", &[("le", "1")], 1.0, None, h, Histogram),
            (12, "rpc_seconds_bucket", &[("le", "+Inf")], 1.0, None, h, Histogram),
            (13, "rpc_seconds_sum", &[], 0.5, None, h, Histogram),
            (14, "rpc_seconds_count", &[], 1.0, None, h, Histogram),
            (15, "rpc_seconds_created", &[], 1_700_000_002.0, None, h, Histogram),
            (18, "queue_created", &[], 1_700_000_003.0, None, "queue_created", Gauge),
        ],
    );
    let suffixes: Vec<&str> = e.samples.iter().map(Sample::suffix).collect();
    assert_eq!(
        suffixes,
        ["_total", "_created", "", "_created", "_bucket", "_bucket", "_sum", "_count", "_created", ""]
    );
}

#[test]
fn histograms_in_order_in_random_order_and_with_crlf() {
    let h = "http_request_duration_seconds";
    let want: [Want; 5] = [
        (3, "http_request_duration_seconds_bucket", &[("route", "/search"), ("le", "0.1")], 5.0, None, h, Histogram),
        (4, "http_request_duration_seconds_bucket", &[("route", "/search"), ("le", "0.5")], 8.0, None, h, Histogram),
        (5, "http_request_duration_seconds_bucket", &[("route", "/search"), ("le", "+Inf")], 9.0, None, h, Histogram),
        (6, "http_request_duration_seconds_sum", &[("route", "/search")], 2.75, None, h, Histogram),
        (7, "http_request_duration_seconds_count", &[("route", "/search")], 9.0, None, h, Histogram),
    ];
    assert_samples(&clean("histogram.txt"), &want);
    // CRLF line ends read the same (promtool would refuse them: see `promtool_agrees`).
    assert_samples(&clean("crlf.txt"), &want);

    let e = clean("histogram-random-order.txt");
    let ev = "event_delivery_latency_seconds";
    let b = "event_delivery_latency_seconds_bucket";
    assert_samples(
        &e,
        &[
            (3, b, &[("le", "+Inf")], 50.0, None, ev, Histogram),
            (4, b, &[("le", "0.1")], 30.0, None, ev, Histogram),
            (5, "event_delivery_latency_seconds_count", &[], 50.0, None, ev, Histogram),
            (6, b, &[("le", "0.05")], 10.0, None, ev, Histogram),
            (7, "event_delivery_latency_seconds_sum", &[], 7.5, None, ev, Histogram),
            (8, b, &[("le", "1e-3")], 1.0, None, ev, Histogram),
            (9, b, &[("le", "0.5")], 48.0, None, ev, Histogram),
        ],
    );
    // The scrape source sorts them by bound.
    let snap = parse_snapshot(fixture("histogram-random-order.txt"), Ts(0)).unwrap();
    let hist = snap.snapshot.event_latency.unwrap();
    assert_eq!(hist.buckets, [(0.001, 1.0), (0.05, 10.0), (0.1, 30.0), (0.5, 48.0), (f64::INFINITY, 50.0)]);
    assert!(snap.warnings.is_empty());
}

#[test]
fn summaries() {
    let e = clean("summary.txt");
    let s = "rpc_duration_seconds";
    assert_samples(
        &e,
        &[
            (3, s, &[("service", "a"), ("quantile", "0.5")], 0.012, None, s, Summary),
            (4, s, &[("service", "a"), ("quantile", "0.99")], 0.25, None, s, Summary),
            (5, s, &[("service", "a"), ("quantile", "1")], f64::NAN, None, s, Summary),
            (6, "rpc_duration_seconds_sum", &[("service", "a")], 17.5, None, s, Summary),
            (7, "rpc_duration_seconds_count", &[("service", "a")], 1000.0, None, s, Summary),
        ],
    );
}

#[test]
fn blank_lines_comments_and_whitespace() {
    let e = clean("blank-and-comments.txt");
    assert_samples(
        &e,
        &[(8, "spaced_total", &[], 1.0, None, "spaced", Counter), (11, "tight", &[], 2.0, None, "tight", Untyped)],
    );
    assert_eq!(e.families[0].help.as_deref(), Some("Help with   inner   spaces and an escaped \\ backslash."));
}

#[test]
fn an_empty_body_has_nothing_and_nothing_wrong() {
    assert_eq!(parse(&fixture("empty.txt")), Exposition::default());
    assert_eq!(parse(b"\n\n  \n"), Exposition::default());
}

#[test]
fn very_long_lines() {
    let e = clean("long-line.txt");
    assert_eq!(e.samples.len(), 1);
    let v = e.samples[0].label("v").unwrap();
    assert_eq!(v, "abc,}=\"".repeat(8000));
    assert_eq!(e.families[0].help.as_ref().unwrap().len(), 68 + 5 * 2000 - 1);
    // An unreadable long line is reported with a short excerpt.
    let long = format!("x{{v=\"{}\"}} oops\n", "y".repeat(100_000));
    let e = parse(long.as_bytes());
    assert_eq!(e.unreadable.len(), 1);
    let text = &e.unreadable[0].text;
    assert!(
        text.starts_with("x{v=\"yyy") && text.ends_with(&format!("… ({} bytes more)", long.len() - 1 - 120)),
        "{text}"
    );
    assert!(text.chars().count() < 150, "{text}");
    assert!(e.unreadable[0].reason.contains("value \"oops\" is not a number"));
}

#[test]
fn garbage_lines_are_reported_and_the_good_ones_read() {
    let e = parse(&fixture("garbage.txt"));
    let g = "good";
    assert_samples(
        &e,
        &[
            (2, "good_total", &[], 1.0, None, g, Counter),
            (4, "good_total", &[("x", "1")], 2.0, None, g, Counter),
            (13, "good_total", &[("x", "7")], 7.0, None, g, Counter),
        ],
    );
    assert_unreadable(
        &e,
        &[
            (3, LineKind::Sample, Some("this"), "value \"is\" is not a number"),
            (5, LineKind::Unknown, None, "expected a metric name or '#' at column 1"),
            (6, LineKind::Sample, Some("good_total"), "value \"twelve\" is not a number"),
            (7, LineKind::Sample, Some("good_total"), "expected ',' or '}' after the value of label x"),
            (8, LineKind::Sample, Some("good_total"), "unexpected '7' at column 23 after the timestamp"),
            (9, LineKind::Sample, Some("good_total"), "timestamp \"1.5\" is not an integer"),
            (10, LineKind::Sample, Some("good_total"), "label x: invalid escape \\t at column 16"),
            (11, LineKind::Unknown, None, "expected a metric name or '#'"),
            (12, LineKind::Type, Some("broken"), "unknown metric type \"stateset\""),
        ],
    );
    assert_eq!(e.unreadable[0].to_string(), "line 3: value \"is\" is not a number: \"this is not a metric\"");
}

#[test]
fn duplicate_series_and_metadata() {
    let e = parse(&fixture("duplicates.txt"));
    assert_samples(
        &e,
        &[
            (2, "dup_total", &[("a", "1"), ("b", "2")], 1.0, None, "dup", Counter),
            (5, "dup_total", &[("a", "1")], 4.0, None, "dup", Counter),
        ],
    );
    assert_unreadable(
        &e,
        &[
            (3, LineKind::Sample, Some("dup_total"), "the same series as line 2"),
            // An empty label value is no label at all.
            (4, LineKind::Sample, Some("dup_total"), "the same series as line 2"),
            (6, LineKind::Sample, Some("dup_total"), "label a appears twice"),
            (7, LineKind::Type, Some("dup"), "a second TYPE line for dup (the first is on line 1)"),
            (9, LineKind::Help, Some("dup"), "a second HELP line for dup (the first is on line 8)"),
        ],
    );
    assert_eq!(e.families[0].help.as_deref(), Some("First."));
}

#[test]
fn histogram_and_summary_rules() {
    let e = parse(&fixture("bad-histogram.txt"));
    assert_samples(
        &e,
        &[
            (2, "h_bucket", &[("le", "0.5")], 1.0, None, "h", Histogram),
            (6, "h_bucket", &[("le", "+Inf")], 5.0, None, "h", Histogram),
            (8, "s", &[("quantile", "0.5")], 1.0, None, "s", Summary),
            (10, "s_sum", &[], 3.0, None, "s", Summary),
            (11, "late", &[], 1.0, None, "late", Untyped),
        ],
    );
    assert_unreadable(
        &e,
        &[
            (3, LineKind::Sample, Some("h_bucket"), "histogram h sample without a le label"),
            (4, LineKind::Sample, Some("h_bucket"), "le=\"fast\" is not a number"),
            (5, LineKind::Sample, Some("h"), "histogram h has no plain series"),
            (9, LineKind::Sample, Some("s"), "summary s sample without a quantile label"),
            (12, LineKind::Type, Some("late"), "TYPE for late after its samples (line 11)"),
        ],
    );
}

#[test]
fn a_last_line_without_line_feed_may_be_cut_off() {
    let e = parse(&fixture("no-final-newline.txt"));
    assert_samples(&e, &[(1, "cut_total", &[], 1.0, None, "cut_total", Untyped)]);
    assert_unreadable(&e, &[(2, LineKind::Sample, Some("cut_total"), "no line feed (the body may be cut off)")]);
}

#[test]
fn invalid_utf8_is_reported_per_line() {
    let e = parse(&fixture("non-utf8.txt"));
    assert_samples(
        &e,
        &[(3, "enc", &[("v", "ok")], 1.0, None, "enc", Gauge), (5, "enc", &[("v", "ok2")], 3.0, None, "enc", Gauge)],
    );
    assert_unreadable(
        &e,
        &[
            (4, LineKind::Sample, Some("enc"), "not UTF-8 (byte 0xE9 at column 15)"),
            (7, LineKind::Help, Some("enc2"), "not UTF-8 (byte 0xE9 at column 16)"),
            (8, LineKind::Unknown, None, "not UTF-8 (byte 0xFE at column 1)"),
        ],
    );
    assert_eq!(e.unreadable[0].text, "enc{v=\"latin1 \u{fffd}t\u{fffd}\"} 2");
}

/// The valid files, which promtool must accept too.
const VALID: [&str; 11] = [
    "colons.txt",
    "label-values.txt",
    "special-values.txt",
    "missing-type.txt",
    "created.txt",
    "histogram.txt",
    "histogram-random-order.txt",
    "summary.txt",
    "blank-and-comments.txt",
    "empty.txt",
    "long-line.txt",
];

/// Files with lines we report; promtool refuses each of them as well.
const INVALID: [&str; 5] =
    ["garbage.txt", "duplicates.txt", "bad-histogram.txt", "no-final-newline.txt", "non-utf8.txt"];

#[test]
fn every_fixture_is_classified() {
    let mut listed: Vec<&str> = VALID.iter().chain(&INVALID).copied().chain(["crlf.txt"]).collect();
    listed.sort_unstable();
    let mut files: Vec<String> =
        std::fs::read_dir(dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort_unstable();
    assert_eq!(files, listed);
    for f in VALID {
        assert!(parse(&fixture(f)).unreadable.is_empty(), "{f}");
    }
    for f in INVALID {
        assert!(!parse(&fixture(f)).unreadable.is_empty(), "{f}");
    }
}

const PROMTOOL: &str = "/usr/bin/promtool";

/// promtool's verdict on a body: `Ok` when it parses (exit 0, or 3 for lint advice such as
/// "no help text"), `Err(output)` on a parse error (exit 1).
fn promtool(body: &[u8]) -> Result<(), String> {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: install it with `apt-get install -y --no-install-recommends prometheus`"
    );
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {PROMTOOL}: {e}"));
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match out.status.code() {
        Some(0 | 3) => Ok(()),
        Some(1) => Err(text),
        other => panic!("promtool exited with {other:?}: {text}"),
    }
}

#[test]
fn promtool_agrees() {
    for f in VALID {
        if let Err(e) = promtool(&fixture(f)) {
            panic!("promtool refuses {f}, which we read cleanly:\n{e}");
        }
    }
    for f in INVALID {
        assert!(promtool(&fixture(f)).is_err(), "promtool accepts {f}, in which we report lines");
    }
    // Where we are more lenient than promtool, on purpose: CRLF line ends.
    assert!(promtool(&fixture("crlf.txt")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleets_metrics_read_without_a_single_unreadable_line() {
    let fleet = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 0,
        target: None,
        smoke_rps: 0,
        initial_weights: Weights { blue: 50, green: 50 },
    })
    .await
    .expect("start the fleet");
    let c = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap();
    // Some traffic first, so histograms and 5xx counters have non-zero samples.
    for _ in 0..20 {
        let r = c.get(format!("{}/api/v1/search?q=x", fleet.info.router)).send().await.unwrap();
        let _ = r.bytes().await;
    }
    for s in &fleet.info.services {
        let body = c.get(&s.metrics).send().await.unwrap().bytes().await.unwrap();
        let e = parse(&body);
        assert!(e.unreadable.is_empty(), "{}: {:#?}", s.metrics, e.unreadable);
        assert!(e.samples.len() > 20, "{}: {} samples", s.metrics, e.samples.len());
        for (family, kind) in [("http_requests_total", Counter), ("http_request_duration_seconds", Histogram)] {
            assert!(e.samples.iter().any(|x| x.family == family && x.kind == kind), "{}: no {family}", s.metrics);
        }
        let parsed = parse_snapshot(&body, Ts(0)).unwrap_or_else(|e| panic!("{}: {e}", s.metrics));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert!(parsed.snapshot.requests.is_some() && parsed.snapshot.duration.is_some());
        promtool(&body).unwrap_or_else(|e| panic!("{}: {e}", s.metrics));
    }
    fleet.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Property tests: render random samples with correct escaping, read them back exactly.

#[derive(Debug, Clone)]
struct Gen {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
    /// Blanks between tokens, a trailing comma, and the line end.
    blank: &'static str,
    trailing_comma: bool,
    crlf: bool,
}

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn render_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

fn render(g: &Gen) -> String {
    let b = g.blank;
    let mut line = g.name.clone();
    if !g.labels.is_empty() || g.trailing_comma {
        let pairs: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}{b}={b}\"{}\"", escape(v))).collect();
        let comma = if g.trailing_comma && !g.labels.is_empty() { "," } else { "" };
        line += &format!("{{{}{comma}}}", pairs.join(&format!("{b},{b}")));
    }
    line += &format!("{b}{}", render_value(g.value));
    if let Some(t) = g.timestamp_ms {
        line += &format!("{b}{t}");
    }
    line += if g.crlf { "\r\n" } else { "\n" };
    line
}

fn metric_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,24}"
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        // The characters that matter, densely.
        "[\\\\\"\n,{}= #a\t]{0,16}",
        any::<String>(),
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (-1e6f64..1e6),
        (0u32..1000).prop_map(f64::from),
    ]
}

fn sample(index: usize) -> impl Strategy<Value = Gen> {
    (
        metric_name(),
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,12}", label_value(), 0..5),
        value(),
        proptest::option::of(any::<i64>()),
        prop_oneof![Just(" "), Just("\t"), Just("  \t ")],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(name, labels, value, timestamp_ms, blank, trailing_comma, crlf)| {
            // A label unique to each sample keeps series apart (a repeated one is reported).
            let mut labels: Vec<(String, String)> = labels.into_iter().filter(|(k, _)| k != "series").collect();
            labels.insert(0, ("series".into(), index.to_string()));
            Gen { name, labels, value, timestamp_ms, blank, trailing_comma, crlf }
        })
}

fn samples() -> impl Strategy<Value = Vec<Gen>> {
    (0usize..30).prop_flat_map(|n| (0..n).map(sample).collect::<Vec<_>>())
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Lines no exposition may hold, each with the metric name it should be reported under.
const GARBAGE: [(&str, Option<&str>); 8] = [
    ("this is not a metric", Some("this")),
    ("x{a=\"1\" 2", Some("x")),
    ("{a=\"1\"} 2", None),
    ("x{a=\"\\q\"} 1", Some("x")),
    ("x 1 2 3", Some("x")),
    ("x{a=\"1\",,b=\"2\"} 1", Some("x")),
    ("9lives 1", None),
    ("# TYPE x sometimes", Some("x")),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rendered_samples_read_back_exactly(gens in samples()) {
        let body: String = gens.iter().map(render).collect();
        let e = parse(body.as_bytes());
        prop_assert!(e.unreadable.is_empty(), "{:#?}\n{body}", e.unreadable);
        prop_assert_eq!(e.samples.len(), gens.len());
        for (i, (s, g)) in e.samples.iter().zip(&gens).enumerate() {
            prop_assert_eq!(&s.name, &g.name);
            prop_assert_eq!(&s.labels, &g.labels);
            prop_assert!(same_value(s.value, g.value), "{} vs {}", s.value, g.value);
            prop_assert_eq!(s.timestamp_ms, g.timestamp_ms);
            prop_assert_eq!(s.line, i + 1);
            prop_assert_eq!((s.family.as_str(), s.kind), (g.name.as_str(), Untyped));
        }
    }

    #[test]
    fn garbage_between_good_lines_is_reported_by_line_and_the_rest_read(
        gens in samples(),
        inserts in proptest::collection::vec((any::<prop::sample::Index>(), 0..GARBAGE.len()), 0..6),
    ) {
        // Good lines, then garbage put in at random places; remember where each ended up.
        let mut lines: Vec<(String, Option<usize>)> = gens.iter().map(|g| (render(g), None)).collect();
        for (at, which) in inserts {
            let at = at.index(lines.len() + 1);
            lines.insert(at, (format!("{}\n", GARBAGE[which].0), Some(which)));
        }
        let body: String = lines.iter().map(|(l, _)| l.as_str()).collect();
        let e = parse(body.as_bytes());
        let want_bad: Vec<(usize, Option<&str>)> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, (_, g))| g.map(|g| (i + 1, GARBAGE[g].1)))
            .collect();
        let got_bad: Vec<(usize, Option<&str>)> = e.unreadable.iter().map(|u| (u.line, u.name.as_deref())).collect();
        prop_assert_eq!(got_bad, want_bad);
        prop_assert_eq!(e.samples.len(), gens.len());
        for (s, g) in e.samples.iter().zip(&gens) {
            prop_assert_eq!(&s.name, &g.name);
            prop_assert_eq!(&s.labels, &g.labels);
            prop_assert!(same_value(s.value, g.value));
        }
    }

    #[test]
    fn parse_never_panics_and_accounts_for_lines(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let e = parse(&body);
        let lines = body.split(|&b| b == b'\n').count();
        let mut seen: Vec<usize> = e.samples.iter().map(|s| s.line).chain(e.unreadable.iter().map(|u| u.line)).collect();
        let n = seen.len();
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), n, "a line both read and unreadable, or twice");
        prop_assert!(seen.iter().all(|&l| l >= 1 && l <= lines));
    }

    #[test]
    fn parse_never_panics_on_exposition_like_text(body in "[a-z_:{}=\",# \\\\\n\t\r0-9.+-]{0,300}") {
        let _ = parse(body.as_bytes());
    }
}

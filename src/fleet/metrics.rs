//! Counters and histograms of one simulated service, rendered in the Prometheus text format 0.0.4.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard};

use crate::domain::env::Env;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds in seconds, 5 ms to 10 s, shared by both histograms.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The same bounds as written in `le` labels (written out so they never depend on float formatting).
const BUCKET_LABELS: [&str; 11] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"];

/// Status codes the simulation can answer, exported from the start at 0 so `rate()` sees a
/// series before its first increment (the Prometheus advice on missing series).
const KNOWN_CODES: [u16; 3] = [200, 500, 503];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket, not cumulative; the last slot is above the largest bound (+Inf).
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let i = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
        self.counts[i] += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, le) in BUCKET_LABELS.iter().chain(["+Inf"].iter()).enumerate() {
            cumulative += self.counts[i];
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

#[derive(Debug, Default, Clone)]
struct Counts {
    requests: BTreeMap<u16, u64>,
    duration: Histogram,
    events: u64,
    event_latency: Histogram,
}

/// Everything one service counts. A Mutex rather than atomics: a histogram's buckets, sum and
/// count must move together, and a few hundred updates a second never contend.
#[derive(Debug)]
pub struct ServiceMetrics {
    /// `service="…",env="…"`. The values are our own constants, so they need no escaping.
    labels: String,
    counts: Mutex<Counts>,
}

impl ServiceMetrics {
    pub fn new(service: &str, env: Env) -> Self {
        let mut counts = Counts::default();
        for code in KNOWN_CODES {
            counts.requests.insert(code, 0);
        }
        ServiceMetrics { labels: format!("service=\"{service}\",env=\"{env}\""), counts: Mutex::new(counts) }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: still usable.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn record_request(&self, code: u16, seconds: f64) {
        let mut c = self.lock();
        *c.requests.entry(code).or_default() += 1;
        c.duration.observe(seconds);
    }

    pub fn record_event(&self, delivery_seconds: f64) {
        let mut c = self.lock();
        c.events += 1;
        c.event_latency.observe(delivery_seconds);
    }

    /// The exposition, copied out of the lock first so a slow scrape never blocks requests.
    pub fn render(&self) -> String {
        let c = self.lock().clone();
        let labels = &self.labels;
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP http_requests_total Application requests answered, by HTTP status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (code, n) in &c.requests {
            let _ = writeln!(out, "http_requests_total{{{labels},code=\"{code}\"}} {n}");
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time from receiving an application request to answering it.\n",
        );
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        c.duration.render(&mut out, "http_request_duration_seconds", labels);
        out.push_str("# HELP events_published_total Events published by successful application requests.\n");
        out.push_str("# TYPE events_published_total counter\n");
        let _ = writeln!(out, "events_published_total{{{labels}}} {}", c.events);
        out.push_str("# HELP event_delivery_latency_seconds Time from publishing an event to its delivery.\n");
        out.push_str("# TYPE event_delivery_latency_seconds histogram\n");
        c.event_latency.render(&mut out, "event_delivery_latency_seconds", labels);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_bounds_inclusive() {
        let m = ServiceMetrics::new("api-gateway", Env::Blue);
        for s in [0.005, 0.07, 0.3, 42.0] {
            m.record_request(200, s);
        }
        m.record_request(500, 0.2);
        let text = m.render();
        let l = r#"service="api-gateway",env="blue""#;
        for line in [
            format!(r#"http_request_duration_seconds_bucket{{{l},le="0.005"}} 1"#),
            format!(r#"http_request_duration_seconds_bucket{{{l},le="0.1"}} 2"#),
            format!(r#"http_request_duration_seconds_bucket{{{l},le="0.25"}} 3"#),
            format!(r#"http_request_duration_seconds_bucket{{{l},le="10"}} 4"#),
            format!(r#"http_request_duration_seconds_bucket{{{l},le="+Inf"}} 5"#),
            format!(r#"http_request_duration_seconds_count{{{l}}} 5"#),
            format!(r#"http_requests_total{{{l},code="200"}} 4"#),
            format!(r#"http_requests_total{{{l},code="500"}} 1"#),
            format!(r#"http_requests_total{{{l},code="503"}} 0"#),
            format!(r#"events_published_total{{{l}}} 0"#),
        ] {
            assert!(text.lines().any(|x| x == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn events_have_their_own_histogram() {
        let m = ServiceMetrics::new("event-bus", Env::Green);
        m.record_event(0.2);
        let text = m.render();
        assert!(text.contains(r#"events_published_total{service="event-bus",env="green"} 1"#));
        assert!(text.contains(r#"event_delivery_latency_seconds_bucket{service="event-bus",env="green",le="0.1"} 0"#));
        assert!(text.contains(r#"event_delivery_latency_seconds_sum{service="event-bus",env="green"} 0.2"#));
    }
}

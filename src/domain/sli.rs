//! Service level indicators derived from scraped `/metrics` samples.

use std::str::FromStr;

/// What the direct-scrape source can derive per environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SliKind {
    /// 5xx / all requests, from counter increases over the window.
    ErrorRatio,
    /// 95th percentile request duration, from histogram bucket increases.
    P95Latency,
    /// Share of requests that were not 5xx.
    Availability,
    /// 95th percentile event delivery latency.
    EventLatencyP95,
    /// Requests per second.
    Throughput,
}

impl SliKind {
    pub const ALL: [SliKind; 5] = [
        SliKind::ErrorRatio,
        SliKind::P95Latency,
        SliKind::Availability,
        SliKind::EventLatencyP95,
        SliKind::Throughput,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SliKind::ErrorRatio => "error_ratio",
            SliKind::P95Latency => "p95_latency",
            SliKind::Availability => "availability",
            SliKind::EventLatencyP95 => "event_latency_p95",
            SliKind::Throughput => "throughput",
        }
    }
}

impl FromStr for SliKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SliKind::ALL.into_iter().find(|k| k.key() == s).ok_or_else(|| {
            let known: Vec<_> = SliKind::ALL.iter().map(|k| k.key()).collect();
            format!("unknown sli {s:?}; known: {}", known.join(", "))
        })
    }
}

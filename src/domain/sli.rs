//! Service level indicators derived from scraped `/metrics` samples.
//!
//! One scrape of one target yields a [`TargetSnapshot`]; a [`SliWindow`] keeps a
//! short history per target; [`derive`] turns the window into a number per
//! environment the way PromQL's `increase()` and `histogram_quantile()` would,
//! without extrapolation. An empty window is no data, never zero.

use std::str::FromStr;

use super::time::Ts;

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

/// The default window SLIs are derived over.
pub const DEFAULT_WINDOW_MS: i64 = 60_000;

/// The quantile the latency SLIs report.
pub const LATENCY_QUANTILE: f64 = 0.95;

/// A metric family the direct-scrape source reads from `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `http_requests_total{code}` counter.
    Requests,
    /// `http_request_duration_seconds` histogram.
    Duration,
    /// `events_published_total` counter.
    Events,
    /// `event_delivery_latency_seconds` histogram.
    EventLatency,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Requests, Family::Duration, Family::Events, Family::EventLatency];

    /// The metric (family) name as exposed.
    pub fn metric(self) -> &'static str {
        match self {
            Family::Requests => "http_requests_total",
            Family::Duration => "http_request_duration_seconds",
            Family::Events => "events_published_total",
            Family::EventLatency => "event_delivery_latency_seconds",
        }
    }
}

impl SliKind {
    /// The metric family this SLI is computed from.
    pub fn family(self) -> Family {
        match self {
            SliKind::ErrorRatio | SliKind::Availability | SliKind::Throughput => Family::Requests,
            SliKind::P95Latency => Family::Duration,
            SliKind::EventLatencyP95 => Family::EventLatency,
        }
    }
}

/// A classic histogram as exposed: cumulative bucket counts by upper bound.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// `(le, cumulative count)`, sorted by `le`; the last one is `+Inf` when well formed.
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    /// May be NaN (clients expose `NaN` sums); never used for quantiles.
    pub sum: f64,
}

/// Request counters of one target, summed over all label sets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Requests {
    /// All requests, every status code.
    pub all: f64,
    /// Requests answered with a 5xx code.
    pub server_errors: f64,
}

/// What one scrape of one target yielded. A family the target does not expose is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSnapshot {
    pub at: Ts,
    pub requests: Option<Requests>,
    pub duration: Option<Histogram>,
    pub events: Option<f64>,
    pub event_latency: Option<Histogram>,
}

impl TargetSnapshot {
    /// A snapshot with no families (fill in what was found).
    pub fn empty(at: Ts) -> Self {
        TargetSnapshot { at, requests: None, duration: None, events: None, event_latency: None }
    }

    pub fn has(&self, family: Family) -> bool {
        match family {
            Family::Requests => self.requests.is_some(),
            Family::Duration => self.duration.is_some(),
            Family::Events => self.events.is_some(),
            Family::EventLatency => self.event_latency.is_some(),
        }
    }

    fn histogram(&self, family: Family) -> Option<&Histogram> {
        match family {
            Family::Duration => self.duration.as_ref(),
            Family::EventLatency => self.event_latency.as_ref(),
            Family::Requests | Family::Events => None,
        }
    }
}

/// A sliding window of snapshots per target (targets are indices into the source's list).
///
/// Snapshots older than `keep_ms` before a target's newest are dropped, except the
/// newest one at or before that start, so a full window's increase can always be computed.
#[derive(Debug, Clone, PartialEq)]
pub struct SliWindow {
    keep_ms: i64,
    targets: Vec<Vec<TargetSnapshot>>,
}

impl SliWindow {
    pub fn new(keep_ms: i64) -> Self {
        SliWindow { keep_ms, targets: Vec::new() }
    }

    pub fn keep_ms(&self) -> i64 {
        self.keep_ms
    }

    /// Adds a snapshot for `target` and prunes that target's history.
    ///
    /// Snapshots must arrive in time order. One with the same time as the newest
    /// replaces it; one older than the newest (the wall clock went back) starts the
    /// target's history afresh rather than computing increases over a negative span.
    pub fn push(&mut self, target: usize, snap: TargetSnapshot) {
        if self.targets.len() <= target {
            self.targets.resize_with(target + 1, Vec::new);
        }
        let hist = &mut self.targets[target];
        match hist.last() {
            Some(last) if snap.at == last.at => {
                hist.pop();
            }
            Some(last) if snap.at < last.at => hist.clear(),
            _ => {}
        }
        let start = snap.at.0 - self.keep_ms;
        hist.push(snap);
        let at_or_before_start = hist.iter().take_while(|s| s.at.0 <= start).count();
        if at_or_before_start > 1 {
            hist.drain(..at_or_before_start - 1);
        }
    }

    /// The snapshots held for `target`, oldest first.
    pub fn snapshots(&self, target: usize) -> &[TargetSnapshot] {
        self.targets.get(target).map_or(&[], Vec::as_slice)
    }

    pub fn latest(&self, target: usize) -> Option<&TargetSnapshot> {
        self.snapshots(target).last()
    }
}

/// The increase of a counter from `prev` to `cur`, like one step of PromQL's `increase()`:
/// a counter that went down was reset, and everything it counts now is new.
fn step(prev: f64, cur: f64) -> f64 {
    if cur < prev { cur } else { cur - prev }
}

/// The snapshots of one target that cover the window `(now - window_ms, now]` for `family`:
/// the newest one at or before the window start (or the oldest in the window), and every
/// later one up to `now`. Snapshots without the family are skipped.
fn span(snaps: &[TargetSnapshot], family: Family, now: Ts, window_ms: i64) -> Vec<&TargetSnapshot> {
    let usable: Vec<&TargetSnapshot> = snaps.iter().filter(|s| s.at <= now && s.has(family)).collect();
    let start = now.0 - window_ms;
    let base = usable.iter().rposition(|s| s.at.0 <= start).unwrap_or(0);
    usable[base..].to_vec()
}

/// Spans of the targets that take part for `family`, or `None` when the window is not
/// ready: a target has no snapshot yet, a target that exposes the family has fewer than
/// two snapshots of it, or no target exposes it at all.
///
/// A target takes part when its newest snapshot has the family; a target that does not
/// expose it (an event bus without HTTP traffic) is left out rather than counted as zero.
fn spans<'a>(
    window: &'a SliWindow,
    targets: &[usize],
    family: Family,
    now: Ts,
    window_ms: i64,
) -> Option<Vec<Vec<&'a TargetSnapshot>>> {
    let mut out = Vec::new();
    for &t in targets {
        let snaps = window.snapshots(t);
        let latest = snaps.iter().rev().find(|s| s.at <= now)?;
        if !latest.has(family) {
            continue;
        }
        let sp = span(snaps, family, now, window_ms);
        if sp.len() < 2 {
            return None;
        }
        out.push(sp);
    }
    (!out.is_empty()).then_some(out)
}

/// Adds `inc` to the bucket with upper bound `le` (exact match) or appends it.
fn add_bucket(acc: &mut Vec<(f64, f64)>, le: f64, inc: f64) {
    match acc.iter_mut().find(|(l, _)| *l == le) {
        Some((_, c)) => *c += inc,
        None => acc.push((le, inc)),
    }
}

/// Per-bucket increases of one target's histogram over its span. A bucket that went
/// down, or did not exist in the previous snapshot, counts from zero (a reset).
fn bucket_increases(span: &[&TargetSnapshot], family: Family, acc: &mut Vec<(f64, f64)>) {
    for pair in span.windows(2) {
        let (Some(prev), Some(cur)) = (pair[0].histogram(family), pair[1].histogram(family)) else {
            continue;
        };
        for &(le, c) in &cur.buckets {
            let p = prev.buckets.iter().find(|(l, _)| *l == le).map(|&(_, p)| p);
            add_bucket(acc, le, p.map_or(c, |p| step(p, c)));
        }
    }
}

/// Derives one SLI for the `targets` of one environment over `(now - window_ms, now]`.
///
/// Increases are summed over all targets before ratios and quantiles are taken.
/// `None` is no data: fewer than two snapshots, no requests (0/0), no observations.
/// Throughput is the sum of each target's increase divided by the seconds its
/// snapshots actually cover; with snapshots but no requests it is a real `0`.
pub fn derive(window: &SliWindow, targets: &[usize], kind: SliKind, now: Ts, window_ms: i64) -> Option<f64> {
    let family = kind.family();
    let spans = spans(window, targets, family, now, window_ms)?;
    match kind {
        SliKind::ErrorRatio | SliKind::Availability | SliKind::Throughput => {
            let (mut all, mut errors, mut rate) = (0.0, 0.0, 0.0);
            for sp in &spans {
                let (mut a, mut e) = (0.0, 0.0);
                for pair in sp.windows(2) {
                    let (Some(p), Some(c)) = (pair[0].requests, pair[1].requests) else { continue };
                    a += step(p.all, c.all);
                    e += step(p.server_errors, c.server_errors);
                }
                let secs = sp[sp.len() - 1].at.secs_since(sp[0].at);
                if secs <= 0.0 {
                    return None;
                }
                all += a;
                errors += e;
                rate += a / secs;
            }
            match kind {
                SliKind::Throughput => Some(rate),
                _ if all <= 0.0 => None,
                SliKind::ErrorRatio => Some(errors / all),
                _ => Some((all - errors) / all),
            }
        }
        SliKind::P95Latency | SliKind::EventLatencyP95 => {
            let mut acc = Vec::new();
            for sp in &spans {
                bucket_increases(sp, family, &mut acc);
            }
            histogram_quantile(LATENCY_QUANTILE, &acc)
        }
    }
}

/// What a minimum-count rule counts for `kind`, for messages: `requests`, `events`.
pub fn counted(kind: SliKind) -> &'static str {
    match kind {
        SliKind::EventLatencyP95 => "events",
        SliKind::P95Latency => "successful requests",
        SliKind::ErrorRatio | SliKind::Availability | SliKind::Throughput => "requests",
    }
}

/// How much happened in the window an SLI is judged on, over the same targets and snapshots
/// [`derive`] uses: `(count, seconds covered)`. `None` when the window is not ready (then
/// [`derive`] is no data too).
///
/// - error ratio, availability, throughput: requests (every status code);
/// - p95 latency: requests that did not fail (all minus 5xx) on the targets that expose the
///   duration histogram, so a full outage of fast 503s is not judged as a fast service; a
///   target without request counters counts its histogram's observations instead;
/// - event latency: events delivered (the histogram's observations).
pub fn window_count(
    window: &SliWindow,
    targets: &[usize],
    kind: SliKind,
    now: Ts,
    window_ms: i64,
) -> Option<(f64, f64)> {
    let family = kind.family();
    let spans = spans(window, targets, family, now, window_ms)?;
    let mut total = 0.0;
    let mut secs: f64 = 0.0;
    for sp in &spans {
        secs = secs.max(sp[sp.len() - 1].at.secs_since(sp[0].at));
        for pair in sp.windows(2) {
            let (p, c) = (pair[0], pair[1]);
            let observed = |s: &TargetSnapshot| s.histogram(family).map(|h| h.buckets.last().map_or(0.0, |b| b.1));
            total += match (kind, p.requests, c.requests) {
                (SliKind::ErrorRatio | SliKind::Availability | SliKind::Throughput, Some(p), Some(c)) => {
                    step(p.all, c.all)
                }
                (SliKind::P95Latency, Some(p), Some(c)) => {
                    (step(p.all, c.all) - step(p.server_errors, c.server_errors)).max(0.0)
                }
                (SliKind::P95Latency | SliKind::EventLatencyP95, _, _) => match (observed(p), observed(c)) {
                    (Some(a), Some(b)) => step(a, b),
                    _ => 0.0,
                },
                _ => 0.0,
            };
        }
    }
    Some((total, secs))
}

/// The `q` quantile of a classic histogram given as `(le, cumulative count)` pairs, the
/// way PromQL's `histogram_quantile` computes it:
///
/// - buckets are sorted by `le`; equal bounds are added together; counts are made
///   monotonic (a bucket below a larger one is raised to it);
/// - linear interpolation within the bucket the rank falls into; the lowest bucket
///   starts at 0 when its `le` is above 0, otherwise its `le` is returned;
/// - a rank in the `+Inf` bucket returns the highest finite bound;
/// - `q < 0` is `-Inf`, `q > 1` is `+Inf`.
///
/// `None` where PromQL answers NaN: `q` is NaN, fewer than two buckets, no `+Inf`
/// bucket, or no observations. For `q = 0` the lower bound of the first bucket that
/// has observations is returned (PromQL may divide 0 by 0 there).
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let mut sorted: Vec<(f64, f64)> = buckets.iter().copied().filter(|(le, c)| !le.is_nan() && !c.is_nan()).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut b: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
    for (le, c) in sorted {
        match b.last_mut() {
            Some(last) if last.0 == le => last.1 += c,
            _ => b.push((le, c)),
        }
    }
    if b.len() < 2 || b[b.len() - 1].0 != f64::INFINITY {
        return None;
    }
    let mut max = f64::NEG_INFINITY;
    for bucket in &mut b {
        max = max.max(bucket.1);
        bucket.1 = max;
    }
    let total = b[b.len() - 1].1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    // The last bucket always qualifies: its count is `total` >= rank and > 0.
    let i = b.iter().position(|&(_, c)| c >= rank && c > 0.0)?;
    if i == b.len() - 1 {
        return Some(b[b.len() - 2].0);
    }
    let (upper, count) = b[i];
    if i == 0 && upper <= 0.0 {
        return Some(upper);
    }
    let (lower, below) = if i == 0 { (0.0, 0.0) } else { b[i - 1] };
    Some(lower + (upper - lower) * (rank - below) / (count - below))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    fn req(secs: i64, all: f64, errors: f64) -> TargetSnapshot {
        TargetSnapshot {
            requests: Some(Requests { all, server_errors: errors }),
            ..TargetSnapshot::empty(Ts::from_secs(secs))
        }
    }

    fn dur(secs: i64, buckets: &[(f64, f64)]) -> TargetSnapshot {
        let count = buckets.last().map_or(0.0, |b| b.1);
        let h = Histogram { buckets: buckets.to_vec(), count, sum: f64::NAN };
        TargetSnapshot { duration: Some(h), ..req(secs, count, 0.0) }
    }

    fn window(targets: &[&[TargetSnapshot]]) -> SliWindow {
        let mut w = SliWindow::new(DEFAULT_WINDOW_MS);
        for (i, snaps) in targets.iter().enumerate() {
            for s in snaps.iter() {
                w.push(i, s.clone());
            }
        }
        w
    }

    fn at(secs: i64) -> Ts {
        Ts::from_secs(secs)
    }

    #[test]
    fn kinds_read_their_family() {
        assert_eq!(SliKind::ErrorRatio.family().metric(), "http_requests_total");
        assert_eq!(SliKind::P95Latency.family().metric(), "http_request_duration_seconds");
        assert_eq!(SliKind::EventLatencyP95.family().metric(), "event_delivery_latency_seconds");
        assert_eq!(SliKind::Throughput.family(), Family::Requests);
        assert_eq!("throughput".parse::<SliKind>(), Ok(SliKind::Throughput));
    }

    #[test]
    fn pruning_keeps_one_snapshot_at_or_before_the_window_start() {
        let mut w = SliWindow::new(60_000);
        for s in (0..=100).step_by(10) {
            w.push(0, req(s, s as f64, 0.0));
        }
        // Newest at 100 s, start 40 s: 40 is at the start and stays; 0..30 go.
        let times: Vec<i64> = w.snapshots(0).iter().map(|s| s.at.0 / 1000).collect();
        assert_eq!(times, [40, 50, 60, 70, 80, 90, 100]);
        w.push(0, req(105, 105.0, 0.0));
        // Start 45 s: 40 is the newest at or before it, so it stays as the base.
        assert_eq!(w.snapshots(0)[0].at, at(40));
        assert_eq!(w.snapshots(0).len(), 8);
        assert!(w.snapshots(7).is_empty(), "an unknown target has nothing");
    }

    #[test]
    fn same_time_replaces_and_going_back_starts_afresh() {
        let mut w = SliWindow::new(60_000);
        w.push(0, req(10, 1.0, 0.0));
        w.push(0, req(20, 2.0, 0.0));
        w.push(0, req(20, 3.0, 0.0));
        assert_eq!(w.snapshots(0).len(), 2);
        assert_eq!(w.latest(0).unwrap().requests.unwrap().all, 3.0);
        w.push(0, req(5, 9.0, 0.0));
        assert_eq!(w.snapshots(0).len(), 1, "the wall clock went back: history restarts");
    }

    #[test]
    fn ratios_and_rate_over_a_full_window() {
        // t=0: 1000 requests, 10 of them 5xx; t=30: 1100/15; t=60: 1300/30.
        let w = window(&[&[req(0, 1000.0, 10.0), req(30, 1100.0, 15.0), req(60, 1300.0, 30.0)]]);
        // Window (0, 60]: base is t=0 (at the start). all +300, 5xx +20.
        assert!(close(derive(&w, &[0], SliKind::ErrorRatio, at(60), 60_000), 20.0 / 300.0));
        // Availability: (300 - 20) / 300.
        assert!(close(derive(&w, &[0], SliKind::Availability, at(60), 60_000), 280.0 / 300.0));
        // Throughput: 300 requests over the 60 s covered = 5/s.
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(60), 60_000), 5.0));
        // A 30 s window: base t=30. all +200, 5xx +15; 200 / 30 s.
        assert!(close(derive(&w, &[0], SliKind::ErrorRatio, at(60), 30_000), 15.0 / 200.0));
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(60), 30_000), 200.0 / 30.0));
        // now = 70: start 10, base is still t=0 (newest at or before 10); covered 60 s.
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(70), 60_000), 5.0));
        // now = 45: the t=60 snapshot is in the future and ignored; 0 -> 30: +100 / 30 s.
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(45), 60_000), 100.0 / 30.0));
    }

    #[test]
    fn a_partly_filled_window_uses_the_time_it_covers() {
        // Only 10 s of a 60 s window: 0 -> 10 s, +50 requests = 5/s, not 50/60.
        let w = window(&[&[req(0, 0.0, 0.0), req(10, 50.0, 1.0)]]);
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(10), 60_000), 5.0));
        assert!(close(derive(&w, &[0], SliKind::ErrorRatio, at(10), 60_000), 1.0 / 50.0));
    }

    #[test]
    fn counter_resets_count_the_new_value() {
        // 1000/10 -> 1100/12 (+100/+2) -> 50/1 (reset: +50/+1) -> 150/3 (+100/+2).
        let w = window(&[&[req(0, 1000.0, 10.0), req(10, 1100.0, 12.0), req(20, 50.0, 1.0), req(30, 150.0, 3.0)]]);
        // all +250, 5xx +5: 5 / 250 = 2 %; throughput 250 / 30 s.
        assert!(close(derive(&w, &[0], SliKind::ErrorRatio, at(30), 60_000), 0.02));
        assert!(close(derive(&w, &[0], SliKind::Throughput, at(30), 60_000), 250.0 / 30.0));
        // Only the 5xx counter went down (a series vanished): +0 then 4 counted as new.
        let w = window(&[&[req(0, 100.0, 10.0), req(10, 200.0, 4.0)]]);
        assert!(close(derive(&w, &[0], SliKind::ErrorRatio, at(10), 60_000), 4.0 / 100.0));
    }

    #[test]
    fn empty_and_single_snapshot_windows_are_no_data() {
        let w = SliWindow::new(60_000);
        for kind in SliKind::ALL {
            assert_eq!(derive(&w, &[0], kind, at(60), 60_000), None, "{kind:?} on nothing");
            assert_eq!(derive(&w, &[], kind, at(60), 60_000), None, "{kind:?} without targets");
        }
        let w = window(&[&[dur(0, &[(0.1, 5.0), (INF, 5.0)])]]);
        for kind in SliKind::ALL {
            assert_eq!(derive(&w, &[0], kind, at(60), 60_000), None, "{kind:?} on one snapshot");
        }
    }

    #[test]
    fn zero_requests_is_no_data_for_ratios_but_a_real_zero_rate() {
        let h = [(0.1, 7.0), (0.5, 9.0), (INF, 9.0)];
        let w = window(&[&[dur(0, &h), dur(60, &h)]]);
        assert_eq!(derive(&w, &[0], SliKind::ErrorRatio, at(60), 60_000), None, "0/0");
        assert_eq!(derive(&w, &[0], SliKind::Availability, at(60), 60_000), None, "0/0");
        assert_eq!(derive(&w, &[0], SliKind::P95Latency, at(60), 60_000), None, "no observations");
        assert_eq!(derive(&w, &[0], SliKind::Throughput, at(60), 60_000), Some(0.0));
    }

    #[test]
    fn increases_are_summed_over_targets_before_dividing() {
        // A: 1000/10 -> 1100/20 (+100/+10); B: 0/0 -> 300/0 (+300/+0).
        let a = [req(0, 1000.0, 10.0), req(60, 1100.0, 20.0)];
        let b = [req(0, 0.0, 0.0), req(60, 300.0, 0.0)];
        let w = window(&[&a, &b]);
        // 10 / 400 = 2.5 % (the mean of the ratios, 5 %, would be wrong).
        assert!(close(derive(&w, &[0, 1], SliKind::ErrorRatio, at(60), 60_000), 0.025));
        assert!(close(derive(&w, &[0, 1], SliKind::Availability, at(60), 60_000), 0.975));
        // 100/60 + 300/60 = 6.67/s.
        assert!(close(derive(&w, &[0, 1], SliKind::Throughput, at(60), 60_000), 400.0 / 60.0));
        // Only B's targets: 0 errors out of 300.
        assert_eq!(derive(&w, &[1], SliKind::ErrorRatio, at(60), 60_000), Some(0.0));
    }

    #[test]
    fn rates_of_targets_with_different_coverage_add_up() {
        // A covers 60 s (+120 = 2/s), B only its last 30 s (+90 = 3/s): 5/s in all.
        let a = [req(0, 0.0, 0.0), req(60, 120.0, 0.0)];
        let b = [req(30, 10.0, 0.0), req(60, 100.0, 0.0)];
        let w = window(&[&a, &b]);
        assert!(close(derive(&w, &[0, 1], SliKind::Throughput, at(60), 60_000), 5.0));
    }

    #[test]
    fn a_target_still_warming_up_makes_the_environment_no_data() {
        // A has a full window, B was first scraped just now: a partial fleet is not reported.
        let a = [req(0, 0.0, 0.0), req(60, 100.0, 1.0)];
        let b = [req(60, 5.0, 0.0)];
        let w = window(&[&a, &b]);
        assert!(derive(&w, &[0], SliKind::ErrorRatio, at(60), 60_000).is_some());
        assert_eq!(derive(&w, &[0, 1], SliKind::ErrorRatio, at(60), 60_000), None);
    }

    #[test]
    fn targets_without_the_family_are_left_out() {
        // A exposes request durations; B (say an event bus) has counters only.
        let a = [
            dur(0, &[(0.1, 0.0), (0.25, 0.0), (0.5, 0.0), (INF, 0.0)]),
            dur(60, &[(0.1, 10.0), (0.25, 20.0), (0.5, 20.0), (INF, 20.0)]),
        ];
        let b = [req(0, 0.0, 0.0), req(60, 1000.0, 0.0)];
        let w = window(&[&a, &b]);
        // A alone: rank 0.95 * 20 = 19 in (0.1, 0.25]: 0.1 + 0.15 * (19 - 10) / (20 - 10) = 0.235.
        assert!(close(derive(&w, &[0, 1], SliKind::P95Latency, at(60), 60_000), 0.235));
        // Nobody exposes event latency: no data here (the source reports the missing family).
        assert_eq!(derive(&w, &[0, 1], SliKind::EventLatencyP95, at(60), 60_000), None);
    }

    #[test]
    fn p95_latency_from_bucket_increases() {
        // Cumulative buckets le 0.1, 0.25, 0.5, 1, +Inf:
        //   t=0  100 150 190 200 200
        //   t=60 160 240 288 300 300
        // increase  60  90  98 100 100
        // rank = 0.95 * 100 = 95, first bucket with >= 95 is le 0.5 (98):
        // 0.25 + (0.5 - 0.25) * (95 - 90) / (98 - 90) = 0.25 + 0.25 * 5/8 = 0.40625.
        let t0 = [(0.1, 100.0), (0.25, 150.0), (0.5, 190.0), (1.0, 200.0), (INF, 200.0)];
        let t60 = [(0.1, 160.0), (0.25, 240.0), (0.5, 288.0), (1.0, 300.0), (INF, 300.0)];
        let w = window(&[&[dur(0, &t0), dur(60, &t60)]]);
        assert!(close(derive(&w, &[0], SliKind::P95Latency, at(60), 60_000), 0.40625));
    }

    #[test]
    fn bucket_resets_count_the_new_values() {
        // t=0   100 150 190 200 200
        // t=30   10  20  20  20  20   every bucket went down: +10 +20 +20 +20 +20
        // t=60   70 110 118 120 120   +60 +90 +98 +100 +100
        // total  70 110 118 120 120
        // rank = 0.95 * 120 = 114 -> le 0.5: 0.25 + 0.25 * (114 - 110) / (118 - 110) = 0.375.
        let t0 = [(0.1, 100.0), (0.25, 150.0), (0.5, 190.0), (1.0, 200.0), (INF, 200.0)];
        let t30 = [(0.1, 10.0), (0.25, 20.0), (0.5, 20.0), (1.0, 20.0), (INF, 20.0)];
        let t60 = [(0.1, 70.0), (0.25, 110.0), (0.5, 118.0), (1.0, 120.0), (INF, 120.0)];
        let w = window(&[&[dur(0, &t0), dur(30, &t30), dur(60, &t60)]]);
        assert!(close(derive(&w, &[0], SliKind::P95Latency, at(60), 60_000), 0.375));
    }

    #[test]
    fn latency_is_summed_over_targets_and_event_latency_reads_its_own_histogram() {
        // A: +60 +90 +98 +100 (+Inf +100); B: +240 +280 +300 +300 (+Inf +300).
        // Sum: 300 370 398 400 400; rank 0.95 * 400 = 380 -> le 0.5:
        // 0.25 + 0.25 * (380 - 370) / (398 - 370) = 0.25 + 0.25 * 10/28.
        let zero = [(0.1, 0.0), (0.25, 0.0), (0.5, 0.0), (1.0, 0.0), (INF, 0.0)];
        let a = [(0.1, 60.0), (0.25, 90.0), (0.5, 98.0), (1.0, 100.0), (INF, 100.0)];
        let b = [(0.1, 240.0), (0.25, 280.0), (0.5, 300.0), (1.0, 300.0), (INF, 300.0)];
        let ev = |secs, buckets: &[(f64, f64)]| {
            let h = Histogram { buckets: buckets.to_vec(), count: 0.0, sum: 0.0 };
            TargetSnapshot { event_latency: Some(h), ..dur(secs, &zero) }
        };
        let w = window(&[&[ev(0, &zero), ev(60, &a)], &[dur(0, &zero), dur(60, &b)]]);
        // Durations: A's are all zero, so B alone: 240 280 300 300; rank 285 -> le 0.5:
        // 0.25 + 0.25 * (285 - 280) / (300 - 280) = 0.3125.
        assert!(close(derive(&w, &[0, 1], SliKind::P95Latency, at(60), 60_000), 0.3125));
        // Event latency: A only (B has no event histogram): rank 95 -> 0.40625.
        assert!(close(derive(&w, &[0, 1], SliKind::EventLatencyP95, at(60), 60_000), 0.40625));
        // Both as request durations.
        let w = window(&[&[dur(0, &zero), dur(60, &a)], &[dur(0, &zero), dur(60, &b)]]);
        assert!(close(derive(&w, &[0, 1], SliKind::P95Latency, at(60), 60_000), 0.25 + 0.25 * 10.0 / 28.0));
    }

    #[test]
    fn window_counts_what_each_sli_is_judged_on() {
        // Two targets; A: +100 requests of which 40 failed, B: +20 requests, none failed.
        let h0 = [(0.1, 0.0), (INF, 0.0)];
        let a = [
            TargetSnapshot { requests: Some(Requests { all: 0.0, server_errors: 0.0 }), ..dur(0, &h0) },
            TargetSnapshot {
                requests: Some(Requests { all: 100.0, server_errors: 40.0 }),
                ..dur(30, &[(0.1, 90.0), (INF, 100.0)])
            },
        ];
        let b = [req(0, 0.0, 0.0), req(30, 20.0, 0.0)];
        let w = window(&[&a, &b]);
        let n = |kind| window_count(&w, &[0, 1], kind, at(30), 60_000);
        assert_eq!(n(SliKind::ErrorRatio), Some((120.0, 30.0)));
        assert_eq!(n(SliKind::Availability), Some((120.0, 30.0)));
        // Latency: only A exposes durations, and 40 of its 100 failed.
        assert_eq!(n(SliKind::P95Latency), Some((60.0, 30.0)));
        // Nobody exposes event latency: not ready, like derive.
        assert_eq!(n(SliKind::EventLatencyP95), None);
        assert_eq!(window_count(&SliWindow::new(60_000), &[0], SliKind::ErrorRatio, at(30), 60_000), None);
        // Events are the event histogram's observations.
        let ev = |secs, c: f64| {
            let h = Histogram { buckets: vec![(0.1, c), (INF, c)], count: c, sum: 0.0 };
            TargetSnapshot { event_latency: Some(h), ..TargetSnapshot::empty(at(secs)) }
        };
        let w = window(&[&[ev(0, 5.0), ev(10, 42.0)]]);
        assert_eq!(window_count(&w, &[0], SliKind::EventLatencyP95, at(10), 60_000), Some((37.0, 10.0)));
    }

    #[test]
    fn a_full_outage_of_fast_failures_counts_no_successful_requests() {
        // Every request a fast 503: the histogram is full of them, the p95 near zero.
        let a = [dur(0, &[(0.005, 0.0), (INF, 0.0)]), dur(60, &[(0.005, 500.0), (INF, 500.0)])];
        let a = a.map(|mut s| {
            let all = s.requests.unwrap().all;
            s.requests = Some(Requests { all, server_errors: all });
            s
        });
        let w = window(&[&a]);
        assert!(derive(&w, &[0], SliKind::P95Latency, at(60), 60_000).is_some_and(|v| v < 0.01));
        assert_eq!(window_count(&w, &[0], SliKind::P95Latency, at(60), 60_000), Some((0.0, 60.0)));
    }

    #[test]
    fn quantile_interpolates_linearly_within_the_bucket() {
        // rank 0.5 * 19 = 9.5 -> le 0.5 (11): 0 + 0.5 * (9.5 - 6) / (11 - 6) = 0.35.
        assert!(close(histogram_quantile(0.5, &[(0.0, 6.0), (0.5, 11.0), (1.0, 14.0), (INF, 19.0)]), 0.35));
        // q = 1 lands on the top of the highest bucket holding the last observation.
        assert!(close(histogram_quantile(1.0, &[(0.1, 5.0), (0.5, 10.0), (INF, 10.0)]), 0.5));
    }

    #[test]
    fn quantile_in_the_first_bucket_starts_at_zero() {
        // All 10 in le 0.1: rank 9.5 -> 0.1 * 9.5 / 10 = 0.095; the median 0.05.
        let b = [(0.1, 10.0), (0.5, 10.0), (INF, 10.0)];
        assert!(close(histogram_quantile(0.95, &b), 0.095));
        assert!(close(histogram_quantile(0.5, &b), 0.05));
        // A lowest bound at or below 0 is returned as is.
        assert_eq!(histogram_quantile(0.5, &[(0.0, 10.0), (1.0, 10.0), (INF, 10.0)]), Some(0.0));
        assert_eq!(histogram_quantile(0.5, &[(-1.0, 10.0), (INF, 10.0)]), Some(-1.0));
    }

    #[test]
    fn quantile_in_the_inf_bucket_is_the_highest_finite_bound() {
        assert_eq!(histogram_quantile(0.95, &[(0.1, 0.0), (0.5, 0.0), (INF, 10.0)]), Some(0.5));
        // 90 of 100 below 1s: rank 95 is beyond the last finite bucket.
        assert_eq!(histogram_quantile(0.95, &[(0.5, 50.0), (1.0, 90.0), (INF, 100.0)]), Some(1.0));
    }

    #[test]
    fn quantile_no_data_and_out_of_range_rules() {
        let b = [(0.1, 1.0), (INF, 2.0)];
        assert_eq!(histogram_quantile(0.95, &[(0.1, 0.0), (INF, 0.0)]), None, "no observations");
        assert_eq!(histogram_quantile(0.95, &[(0.1, 5.0), (1.0, 5.0)]), None, "no +Inf bucket");
        assert_eq!(histogram_quantile(0.95, &[(INF, 5.0)]), None, "a single bucket");
        assert_eq!(histogram_quantile(0.95, &[]), None);
        assert_eq!(histogram_quantile(f64::NAN, &b), None);
        assert_eq!(histogram_quantile(-0.1, &b), Some(f64::NEG_INFINITY));
        assert_eq!(histogram_quantile(1.1, &b), Some(f64::INFINITY));
        // q = 0: the lower bound of the first bucket that holds anything.
        assert_eq!(histogram_quantile(0.0, &[(0.1, 0.0), (0.5, 4.0), (INF, 4.0)]), Some(0.1));
    }

    #[test]
    fn quantile_sorts_merges_and_mends_its_input() {
        // Unsorted and not monotonic: sorted (0.1, 9) (0.5, 8 -> 9) (+Inf, 10).
        // rank 0.5 * 10 = 5 -> le 0.1: 0.1 * 5 / 9.
        let b = [(INF, 10.0), (0.5, 8.0), (0.1, 9.0)];
        assert!(close(histogram_quantile(0.5, &b), 0.1 * 5.0 / 9.0));
        // rank 9.5 is beyond le 0.5 (9): the +Inf bucket -> 0.5.
        assert_eq!(histogram_quantile(0.95, &b), Some(0.5));
        // Equal bounds add up: (0.1, 5) (+Inf, 10); rank 2.5 -> 0.1 * 2.5 / 5 = 0.05.
        assert!(close(histogram_quantile(0.25, &[(0.1, 2.0), (0.1, 3.0), (INF, 5.0), (INF, 5.0)]), 0.05));
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            /// The count a minimum is checked against is the very denominator the ratio is made
            /// of: a judged ratio times its count gives back the failures in the window.
            #[test]
            fn the_count_is_the_ratios_denominator(
                steps in proptest::collection::vec((0u32..200, 0u32..50, any::<bool>()), 2..12),
            ) {
                let mut w = SliWindow::new(60_000);
                let (mut all, mut bad, mut total, mut failed) = (0.0, 0.0, 0.0, 0.0);
                for (i, (ok, err, reset)) in steps.iter().enumerate() {
                    let (inc, e) = (f64::from(*ok + *err), f64::from(*err));
                    // A reset shows only where the counters went down (as PromQL sees it too).
                    if *reset && i > 0 && inc < all && (e < bad || e == 0.0) {
                        (all, bad) = (inc, e);
                    } else {
                        (all, bad) = (all + inc, bad + e);
                    }
                    if i > 0 {
                        total += inc;
                        failed += e;
                    }
                    let snap = TargetSnapshot {
                        requests: Some(Requests { all, server_errors: bad }),
                        ..TargetSnapshot::empty(Ts::from_secs(i as i64))
                    };
                    w.push(0, snap);
                }
                let now = Ts::from_secs(steps.len() as i64 - 1);
                let (n, _) = window_count(&w, &[0], SliKind::ErrorRatio, now, 60_000).unwrap();
                prop_assert_eq!(n, total);
                match derive(&w, &[0], SliKind::ErrorRatio, now, 60_000) {
                    Some(r) => prop_assert!((r * n - failed).abs() < 1e-6, "{} × {} vs {}", r, n, failed),
                    None => prop_assert_eq!(n, 0.0),
                }
            }


            /// For any well-formed histogram: a higher q never gives a lower value, and the
            /// answer stays between 0 and the highest finite bound.
            #[test]
            fn quantiles_are_monotonic_and_bounded(
                incs in proptest::collection::vec(0u32..50, 1..8),
                over in 0u32..20,
                q1 in 0.0f64..=1.0,
                q2 in 0.0f64..=1.0,
            ) {
                let mut cum = 0.0;
                let mut b: Vec<(f64, f64)> = Vec::new();
                for (i, inc) in incs.iter().enumerate() {
                    cum += f64::from(*inc);
                    b.push(((i + 1) as f64 * 0.1, cum));
                }
                let top = b[b.len() - 1].0;
                b.push((f64::INFINITY, cum + f64::from(over)));
                let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
                match (histogram_quantile(lo, &b), histogram_quantile(hi, &b)) {
                    (Some(a), Some(c)) => {
                        prop_assert!(a <= c + 1e-12, "q {lo} -> {a}, q {hi} -> {c}");
                        prop_assert!(a >= 0.0 && c <= top + 1e-12, "{a} {c} over {b:?}");
                    }
                    (None, None) => prop_assert_eq!(b[b.len() - 1].1, 0.0),
                    other => prop_assert!(false, "{other:?}"),
                }
            }
        }
    }
}

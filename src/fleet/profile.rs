//! How a simulated service behaves when nothing is wrong: its latency, its event delivery
//! latency and its base error ratio.

use crate::domain::env::Env;

/// No simulated latency is longer than this, so a freak sample from the tail never holds a
/// request (and a load generator's slot) for minutes.
const MAX_SECONDS: f64 = 10.0;

/// A log-normal distribution given by its median and the spread of its logarithm: the shape real
/// latencies tend to have, a body near the median and a long right tail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    pub median_s: f64,
    pub sigma: f64,
}

impl LogNormal {
    /// One draw, in seconds, capped at [`MAX_SECONDS`].
    pub fn sample(self) -> f64 {
        (self.median_s * (self.sigma * standard_normal()).exp()).min(MAX_SECONDS)
    }
}

/// One draw of N(0, 1) by the Box–Muller transform.
fn standard_normal() -> f64 {
    // 1 - f64() lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - fastrand::f64();
    let u2 = fastrand::f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The healthy behaviour of one service in one environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub latency: LogNormal,
    pub event_latency: LogNormal,
    /// Share of application requests that fail with no fault injected.
    pub error_ratio: f64,
}

impl Profile {
    /// Blue and green differ a little so the cockpit's two columns show different numbers, and
    /// each service gets its own median (±12 %) so the six do not look cloned.
    /// Blue: median ≈ 105 ms, P95 ≈ 260 ms; green: median ≈ 120 ms, P95 ≈ 320 ms.
    /// Event delivery medians sit well below the 500 ms objective even as read through
    /// the coarse 0.1–0.25 s bucket. Base errors are far inside availability 99.9 %:
    /// none on blue, whose ~35 requests/s in the demo would make a single stray error
    /// in a 20 s window a 0.14 % breach, and 0.02 % on green, which takes the bulk.
    /// A breach on screen should mean a fault was injected, not bad luck.
    pub fn new(env: Env, service_index: usize) -> Profile {
        let spread = 1.0 + 0.05 * (service_index as f64 - 2.5);
        match env {
            Env::Blue => Profile {
                latency: LogNormal { median_s: 0.105 * spread, sigma: 0.55 },
                event_latency: LogNormal { median_s: 0.12, sigma: 0.35 },
                error_ratio: 0.0,
            },
            Env::Green => Profile {
                latency: LogNormal { median_s: 0.12 * spread, sigma: 0.6 },
                event_latency: LogNormal { median_s: 0.11, sigma: 0.32 },
                error_ratio: 0.0002,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    }

    #[test]
    fn defaults_look_like_a_healthy_service() {
        for env in Env::ALL {
            for i in 0..6 {
                let p = Profile::new(env, i);
                let lat: Vec<f64> = (0..20_000).map(|_| p.latency.sample()).collect();
                let (median, p95) = (quantile(lat.clone(), 0.5), quantile(lat, 0.95));
                assert!((0.08..=0.15).contains(&median), "{env} {i}: median {median}");
                assert!(p95 < 0.5, "{env} {i}: p95 {p95}");
                let ev: Vec<f64> = (0..20_000).map(|_| p.event_latency.sample()).collect();
                let ev_median = quantile(ev, 0.5);
                assert!((0.08..=0.16).contains(&ev_median), "{env} {i}: event median {ev_median}");
                assert!(p.error_ratio < 0.001);
            }
        }
    }

    #[test]
    fn samples_are_positive_and_capped() {
        let wild = LogNormal { median_s: 5.0, sigma: 3.0 };
        assert!((0..10_000).map(|_| wild.sample()).all(|s| s > 0.0 && s <= MAX_SECONDS));
    }
}

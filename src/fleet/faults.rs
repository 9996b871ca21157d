//! Faults an operator injects through `POST /admin/faults`, and what they do to one service.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::SERVICES;
use crate::domain::env::Env;
use crate::domain::fault::FaultSpec;

/// Longer extra latencies are refused: they would only park requests until clients time out.
const MAX_EXTRA_LATENCY_MS: u64 = 60_000;

/// What the active faults do to one service, on top of its healthy profile.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Effect {
    pub error_ratio: f64,
    pub extra_latency: Duration,
    pub down: bool,
}

/// The active faults, shared by the admin API (writes) and every service (reads per request).
#[derive(Debug, Default)]
pub struct FaultTable {
    active: Mutex<Vec<FaultSpec>>,
}

impl FaultTable {
    fn lock(&self) -> MutexGuard<'_, Vec<FaultSpec>> {
        self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Validates and activates a fault. A fault for the same environment and service replaces
    /// the previous one, so posting `{"env":"blue","service":"*"}` with nothing set removes
    /// blue's `*` fault; a fault with no effect is not listed.
    pub fn apply(&self, spec: FaultSpec) -> Result<(), String> {
        validate(&spec)?;
        let mut active = self.lock();
        active.retain(|f| !(f.env == spec.env && f.service == spec.service));
        if spec.down || spec.error_ratio > 0.0 || spec.extra_latency_ms > 0 {
            active.push(spec);
        }
        Ok(())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<FaultSpec> {
        self.lock().clone()
    }

    /// When several faults match (an environment-wide one and one for the service), the
    /// strongest of each kind applies rather than their sum, so overlapping faults stay predictable.
    pub fn effect(&self, env: Env, service: &str) -> Effect {
        let mut e = Effect::default();
        for f in self.lock().iter().filter(|f| f.env == env && (f.service == "*" || f.service == service)) {
            e.down |= f.down;
            e.error_ratio = e.error_ratio.max(f.error_ratio);
            e.extra_latency = e.extra_latency.max(Duration::from_millis(f.extra_latency_ms));
        }
        e
    }
}

fn validate(spec: &FaultSpec) -> Result<(), String> {
    if spec.service != "*" && !SERVICES.contains(&spec.service.as_str()) {
        return Err(format!("unknown service {:?}; known services: * (all), {}", spec.service, SERVICES.join(", ")));
    }
    if !(0.0..=1.0).contains(&spec.error_ratio) {
        return Err(format!("error_ratio must be between 0 and 1 (0.06 is 6 %), got {}", spec.error_ratio));
    }
    if spec.extra_latency_ms > MAX_EXTRA_LATENCY_MS {
        return Err(format!("extra_latency_ms must be at most {MAX_EXTRA_LATENCY_MS}, got {}", spec.extra_latency_ms));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env: Env, service: &str) -> FaultSpec {
        FaultSpec { env, service: service.into(), error_ratio: 0.0, extra_latency_ms: 0, down: false }
    }

    #[test]
    fn faults_hit_their_env_and_service_only() {
        let t = FaultTable::default();
        t.apply(FaultSpec { error_ratio: 0.06, ..spec(Env::Blue, "*") }).unwrap();
        t.apply(FaultSpec { down: true, ..spec(Env::Blue, "frontend") }).unwrap();
        assert_eq!(t.effect(Env::Blue, "api-gateway"), Effect { error_ratio: 0.06, ..Effect::default() });
        assert_eq!(t.effect(Env::Blue, "frontend"), Effect { error_ratio: 0.06, down: true, ..Effect::default() });
        assert_eq!(t.effect(Env::Green, "frontend"), Effect::default());
        assert_eq!(t.list().len(), 2);
        t.clear();
        assert_eq!(t.effect(Env::Blue, "frontend"), Effect::default());
    }

    #[test]
    fn same_target_replaces_and_empty_removes() {
        let t = FaultTable::default();
        t.apply(FaultSpec { error_ratio: 0.5, ..spec(Env::Green, "*") }).unwrap();
        t.apply(FaultSpec { extra_latency_ms: 2500, ..spec(Env::Green, "*") }).unwrap();
        let e = t.effect(Env::Green, "event-bus");
        assert_eq!((e.error_ratio, e.extra_latency), (0.0, Duration::from_millis(2500)));
        t.apply(spec(Env::Green, "*")).unwrap();
        assert!(t.list().is_empty());
    }

    #[test]
    fn bad_faults_are_refused_with_a_reason() {
        let t = FaultTable::default();
        let err = t.apply(spec(Env::Blue, "payments")).unwrap_err();
        assert!(err.contains("payments") && err.contains("api-gateway"), "{err}");
        assert!(t.apply(FaultSpec { error_ratio: 6.0, ..spec(Env::Blue, "*") }).is_err());
        assert!(t.apply(FaultSpec { error_ratio: f64::NAN, ..spec(Env::Blue, "*") }).is_err());
        assert!(t.apply(FaultSpec { extra_latency_ms: 600_000, ..spec(Env::Blue, "*") }).is_err());
        assert!(t.list().is_empty());
    }
}

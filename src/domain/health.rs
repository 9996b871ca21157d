//! Health of one service in one environment, and how a health answer is read.

use serde::Serialize;

use super::env::Env;
use super::time::Ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Up,
    Degraded,
    Down,
    /// No answer at all: refused, timed out, DNS, TLS.
    Unreachable,
}

impl HealthState {
    pub fn label(self) -> &'static str {
        match self {
            HealthState::Up => "up",
            HealthState::Degraded => "degraded",
            HealthState::Down => "down",
            HealthState::Unreachable => "unreachable",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthObservation {
    pub state: HealthState,
    pub latency_ms: Option<u64>,
    pub code: Option<u16>,
    /// A short reason: the body's status, the failing checks, or the transport error.
    pub detail: String,
}

/// Reads a health answer that arrived: `application/health+json` (pass/warn/fail),
/// Spring actuator (`{"status":"UP"}`), or plain text judged by the status code.
pub fn classify(code: u16, body: &str) -> (HealthState, String) {
    let by_code = if (200..300).contains(&code) { HealthState::Up } else { HealthState::Down };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        let text: String = body.trim().chars().take(60).collect();
        return (by_code, if text.is_empty() { format!("HTTP {code}") } else { format!("HTTP {code} {text}") });
    };
    let Some(status) = json.get("status").and_then(|s| s.as_str()) else {
        return (by_code, format!("HTTP {code}, JSON without \"status\""));
    };
    let state = match status.to_ascii_lowercase().as_str() {
        "pass" | "ok" | "up" => HealthState::Up,
        "warn" => HealthState::Degraded,
        "fail" | "down" | "out_of_service" => HealthState::Down,
        // Spring's UNKNOWN and anything unrecognised: trust the status code, but say so.
        _ => by_code,
    };
    // A 5xx with a "pass" body is still not healthy.
    let state = if by_code == HealthState::Down && state == HealthState::Up { HealthState::Down } else { state };
    let failing = failing_checks(&json);
    let detail = if failing.is_empty() { status.to_string() } else { format!("{status}: {}", failing.join(", ")) };
    (state, detail)
}

/// Names of checks that are not passing, from health+json `checks` or Spring `components`.
fn failing_checks(json: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(checks) = json.get("checks").and_then(|c| c.as_object()) {
        for (name, entries) in checks {
            let bad = entries.as_array().is_some_and(|a| {
                a.iter().any(|e| e.get("status").and_then(|s| s.as_str()).is_some_and(|s| s != "pass"))
            });
            if bad {
                out.push(name.clone());
            }
        }
    }
    if let Some(comps) = json.get("components").and_then(|c| c.as_object()) {
        for (name, c) in comps {
            if c.get("status").and_then(|s| s.as_str()).is_some_and(|s| s != "UP") {
                out.push(name.clone());
            }
        }
    }
    out
}

/// One service in one environment and what was last seen of it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCell {
    pub service: String,
    pub env: Env,
    pub last: Option<(Ts, HealthObservation)>,
}

impl HealthCell {
    pub fn new(service: impl Into<String>, env: Env) -> Self {
        HealthCell { service: service.into(), env, last: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_json_pass_warn_fail() {
        assert_eq!(classify(200, r#"{"status":"pass"}"#).0, HealthState::Up);
        let (s, d) =
            classify(200, r#"{"status":"warn","checks":{"db:latency":[{"status":"warn"}],"cpu":[{"status":"pass"}]}}"#);
        assert_eq!(s, HealthState::Degraded);
        assert_eq!(d, "warn: db:latency");
        assert_eq!(classify(503, r#"{"status":"fail"}"#).0, HealthState::Down);
    }

    #[test]
    fn spring_actuator() {
        assert_eq!(classify(200, r#"{"status":"UP"}"#).0, HealthState::Up);
        let (s, d) = classify(503, r#"{"status":"DOWN","components":{"db":{"status":"DOWN"},"ping":{"status":"UP"}}}"#);
        assert_eq!((s, d.as_str()), (HealthState::Down, "DOWN: db"));
        assert_eq!(classify(503, r#"{"status":"OUT_OF_SERVICE"}"#).0, HealthState::Down);
        assert_eq!(classify(200, r#"{"status":"UNKNOWN"}"#).0, HealthState::Up);
    }

    #[test]
    fn plain_text_goes_by_status_code() {
        assert_eq!(classify(200, "ok\n"), (HealthState::Up, "HTTP 200 ok".into()));
        assert_eq!(classify(500, "").0, HealthState::Down);
    }

    #[test]
    fn a_pass_body_on_a_5xx_is_down() {
        assert_eq!(classify(503, r#"{"status":"pass"}"#).0, HealthState::Down);
    }
}

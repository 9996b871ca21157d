//! Faults the simulated fleet can be told to show, and the demo's presets.

use serde::{Deserialize, Serialize};

use super::env::Env;

/// The body of the fleet's `POST /admin/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub env: Env,
    /// A service name, or `*` for every service of the environment.
    #[serde(default = "all_services")]
    pub service: String,
    #[serde(default)]
    pub error_ratio: f64,
    #[serde(default)]
    pub extra_latency_ms: u64,
    #[serde(default)]
    pub down: bool,
}

fn all_services() -> String {
    "*".into()
}

/// The choices of the demo's fault menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPreset {
    ErrorSpike,
    LatencySpike,
    Outage,
    Clear,
}

impl FaultPreset {
    pub const ALL: [FaultPreset; 4] =
        [FaultPreset::ErrorSpike, FaultPreset::LatencySpike, FaultPreset::Outage, FaultPreset::Clear];

    pub fn label(self) -> &'static str {
        match self {
            FaultPreset::ErrorSpike => "error spike: 8% of blue's requests fail",
            FaultPreset::LatencySpike => "latency spike: blue answers 2.5 s slower",
            FaultPreset::Outage => "outage: every blue service is down",
            FaultPreset::Clear => "clear all faults",
        }
    }

    /// The fault to post, or `None` for "clear".
    pub fn spec(self) -> Option<FaultSpec> {
        let base =
            FaultSpec { env: Env::Blue, service: all_services(), error_ratio: 0.0, extra_latency_ms: 0, down: false };
        match self {
            FaultPreset::ErrorSpike => Some(FaultSpec { error_ratio: 0.08, ..base }),
            FaultPreset::LatencySpike => Some(FaultSpec { extra_latency_ms: 2500, ..base }),
            FaultPreset::Outage => Some(FaultSpec { down: true, ..base }),
            FaultPreset::Clear => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_matches_the_admin_api() {
        let f: FaultSpec = serde_json::from_str(
            r#"{"env":"blue","service":"*","error_ratio":0.06,"extra_latency_ms":0,"down":false}"#,
        )
        .unwrap();
        assert_eq!(f.env, Env::Blue);
        assert_eq!(f.error_ratio, 0.06);
        let short: FaultSpec = serde_json::from_str(r#"{"env":"green","down":true}"#).unwrap();
        assert_eq!((short.service.as_str(), short.down), ("*", true));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"env":"blue","eror_ratio":1}"#).is_err());
    }

    #[test]
    fn presets_hit_blue_and_clear_is_none() {
        assert!(FaultPreset::ALL.iter().filter_map(|p| p.spec()).all(|s| s.env == Env::Blue));
        assert_eq!(FaultPreset::Clear.spec(), None);
    }
}

//! The two environments of a blue-green go-live.

use serde::{Deserialize, Serialize};

/// `Blue` is the new environment taking traffic, `Green` the old one serving
/// today. Display names are configurable (see [`EnvNames`]); the roles are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Blue,
    Green,
}

impl Env {
    pub const ALL: [Env; 2] = [Env::Blue, Env::Green];

    pub fn index(self) -> usize {
        match self {
            Env::Blue => 0,
            Env::Green => 1,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Env::Blue => "blue",
            Env::Green => "green",
        }
    }

    pub fn other(self) -> Env {
        match self {
            Env::Blue => Env::Green,
            Env::Green => Env::Blue,
        }
    }
}

impl std::fmt::Display for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// Names shown for the two environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvNames(pub [String; 2]);

impl Default for EnvNames {
    fn default() -> Self {
        EnvNames(["blue".into(), "green".into()])
    }
}

impl EnvNames {
    pub fn name(&self, env: Env) -> &str {
        &self.0[env.index()]
    }
}

/// The traffic split as weights reported by the router or load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub blue: u32,
    pub green: u32,
}

impl Weights {
    /// Blue's share in percent, or `None` when both weights are zero (no traffic at all).
    pub fn blue_percent(self) -> Option<f64> {
        let sum = self.blue as f64 + self.green as f64;
        (sum > 0.0).then(|| self.blue as f64 * 100.0 / sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blue_share_comes_from_weights() {
        assert_eq!(Weights { blue: 25, green: 75 }.blue_percent(), Some(25.0));
        assert_eq!(Weights { blue: 1, green: 3 }.blue_percent(), Some(25.0));
        assert_eq!(Weights { blue: 0, green: 0 }.blue_percent(), None);
    }
}

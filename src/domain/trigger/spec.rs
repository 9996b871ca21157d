//! What a trigger watches: tier, condition, duration and the policies for no data and errors.

use serde::{Deserialize, Serialize};

use super::num;
use crate::domain::env::Env;

/// How urgently a fired trigger calls for a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Roll back now (and automatically, when auto-rollback is enabled).
    Immediate,
    /// Roll back in a planned way: the lead decides when.
    Planned,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::Immediate => "immediate",
            Tier::Planned => "planned",
        }
    }
}

/// Which side of the limit is the bad one.
///
/// `Above` is degradation for things that should stay low (error rate, latency);
/// `Below` for things that should stay high (throughput, availability). A value equal to
/// the limit is not a breach, and NaN never is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Above,
    Below,
}

impl Direction {
    /// Whether `value` is on the bad side of `limit` (strictly).
    pub fn breaches(self, value: f64, limit: f64) -> bool {
        match self {
            Direction::Above => value > limit,
            Direction::Below => value < limit,
        }
    }

    /// The comparison that breaches: `>` or `<`.
    pub fn symbol(self) -> &'static str {
        match self {
            Direction::Above => ">",
            Direction::Below => "<",
        }
    }

    /// The comparison that holds when there is no breach: `≤` or `≥`.
    pub fn ok_symbol(self) -> &'static str {
        match self {
            Direction::Above => "≤",
            Direction::Below => "≥",
        }
    }
}

/// What a relative condition compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The same SLO in the other environment, read at the same evaluation.
    OtherEnv,
    /// The watched environment's own value, captured at the first valid reading at or after
    /// the start of the current stage (see `TriggerState::reset_stage`).
    Baseline,
}

impl Reference {
    pub fn label(self) -> &'static str {
        match self {
            Reference::OtherEnv => "other env",
            Reference::Baseline => "baseline",
        }
    }
}

/// The condition a trigger watches. Values are in base units, like `domain::slo`
/// (a ratio 0.05 for 5 %, seconds, events per second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// `slo` of `env` is beyond a fixed value: breach when `value cmp limit` (strictly).
    Threshold {
        slo: usize,
        env: Env,
        cmp: Direction,
        #[serde(with = "num")]
        value: f64,
    },
    /// `slo` of `env` is beyond `factor` × a reference: with `Above`, breach when
    /// `value > factor · reference` (P95 > 1.5 × green's P95: `factor` 1.5); with `Below`,
    /// breach when `value < factor · reference` (throughput fell by more than half: `factor` 0.5).
    Relative {
        slo: usize,
        env: Env,
        cmp: Direction,
        #[serde(with = "num")]
        factor: f64,
        reference: Reference,
    },
    /// Every health check of `env` is down or unreachable: a complete outage.
    Outage { env: Env },
    /// Raised and lowered by an operator, with a reason.
    Manual,
}

impl Condition {
    /// The SLO row this condition reads, if any.
    pub fn slo(&self) -> Option<usize> {
        match *self {
            Condition::Threshold { slo, .. } | Condition::Relative { slo, .. } => Some(slo),
            _ => None,
        }
    }

    /// The environment this condition watches, if any.
    pub fn env(&self) -> Option<Env> {
        match *self {
            Condition::Threshold { env, .. } | Condition::Relative { env, .. } | Condition::Outage { env } => Some(env),
            Condition::Manual => None,
        }
    }
}

/// What an evaluation without a usable reading does to the trigger.
///
/// * `Hold` (the default): the streak is kept as it is. Its start and the breach time counted so far
///   stay; the time from the last breaching evaluation to the next breaching one is not counted.
///   A pending trigger stays pending (its countdown paused), an inactive one stays inactive,
///   a firing one stays firing.
/// * `Reset`: counts as a good evaluation; the streak ends (a pending trigger goes back to
///   inactive, a firing one is marked cleared).
/// * `Breach`: counts as a breaching evaluation; the streak starts or goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    #[default]
    Hold,
    Reset,
    Breach,
}

impl Policy {
    pub fn label(self) -> &'static str {
        match self {
            Policy::Hold => "hold",
            Policy::Reset => "reset",
            Policy::Breach => "breach",
        }
    }
}

/// The default duration of an outage trigger: one minute.
pub const DEFAULT_OUTAGE_FOR_MS: i64 = 60_000;

/// One rollback trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerSpec {
    pub name: String,
    pub tier: Tier,
    pub condition: Condition,
    /// How long the condition must hold at every evaluation before the trigger fires.
    /// Zero fires at the first breaching evaluation. Ignored for manual triggers (they fire when raised).
    pub for_ms: i64,
    /// Applies when the reading is "no data" (an empty result, NaN, no baseline yet).
    #[serde(default)]
    pub no_data: Policy,
    /// Applies when the reading is an error or stale (no success for twice the SLO interval).
    #[serde(default)]
    pub on_error: Policy,
}

impl TriggerSpec {
    pub fn new(name: impl Into<String>, tier: Tier, condition: Condition, for_ms: i64) -> Self {
        TriggerSpec {
            name: name.into(),
            tier,
            condition,
            for_ms,
            no_data: Policy::default(),
            on_error: Policy::default(),
        }
    }

    pub fn manual(name: impl Into<String>, tier: Tier) -> Self {
        TriggerSpec::new(name, tier, Condition::Manual, 0)
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.condition, Condition::Manual)
    }

    /// The policies as shown next to the trigger: `no data: hold · error: hold`.
    pub fn policies_label(&self) -> String {
        format!("no data: {} · error: {}", self.no_data.label(), self.on_error.label())
    }

    /// Checks what a config file could get wrong; `slo_count` is the number of SLO rows.
    pub fn validate(&self, slo_count: usize) -> Result<(), String> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Err("a trigger needs a name".into());
        }
        if self.for_ms < 0 {
            return Err(format!("trigger {name:?}: the duration must not be negative"));
        }
        if let Some(slo) = self.condition.slo().filter(|&slo| slo >= slo_count) {
            return Err(format!("trigger {name:?} reads SLO #{slo}, but only {slo_count} SLOs are configured"));
        }
        match self.condition {
            Condition::Threshold { value, .. } if !value.is_finite() => {
                Err(format!("trigger {name:?}: the threshold must be a finite number"))
            }
            Condition::Relative { factor, .. } if !(factor.is_finite() && factor > 0.0) => {
                Err(format!("trigger {name:?}: the factor must be a positive number, like 1.5"))
            }
            _ => Ok(()),
        }
    }
}

/// The SLO names [`go_live_defaults`] looks up.
pub const ERROR_RATE_SLO: &str = "error rate";
pub const P95_SLO: &str = "p95 latency";

const MIN: i64 = 60_000;

/// The go-live plan's triggers, in order:
///
/// immediate: error rate > 5 % for 10m on blue, outage of blue for 1m, manual "critical security
/// vulnerability", manual "data corruption";
/// planned: error rate > 2 % for 30m on blue, blue P95 > 1.5 × green's P95 for 30m, manual
/// "critical functionality broken", manual "stakeholder decision".
///
/// `slo_index_of` maps an SLO name to its row. A trigger whose SLO is missing is left out
/// (see [`go_live_missing_slos`] to warn about it). All policies are `Hold`.
pub fn go_live_defaults(slo_index_of: impl Fn(&str) -> Option<usize>) -> Vec<TriggerSpec> {
    let err = slo_index_of(ERROR_RATE_SLO);
    let p95 = slo_index_of(P95_SLO);
    let error_rate =
        |slo: usize, pct: f64| Condition::Threshold { slo, env: Env::Blue, cmp: Direction::Above, value: pct / 100.0 };
    let mut out = Vec::new();
    if let Some(slo) = err {
        out.push(TriggerSpec::new("error rate > 5%", Tier::Immediate, error_rate(slo, 5.0), 10 * MIN));
    }
    out.push(TriggerSpec::new("outage", Tier::Immediate, Condition::Outage { env: Env::Blue }, DEFAULT_OUTAGE_FOR_MS));
    out.push(TriggerSpec::manual("critical security vulnerability", Tier::Immediate));
    out.push(TriggerSpec::manual("data corruption", Tier::Immediate));
    if let Some(slo) = err {
        out.push(TriggerSpec::new("error rate > 2%", Tier::Planned, error_rate(slo, 2.0), 30 * MIN));
    }
    if let Some(slo) = p95 {
        let cond = Condition::Relative {
            slo,
            env: Env::Blue,
            cmp: Direction::Above,
            factor: 1.5,
            reference: Reference::OtherEnv,
        };
        out.push(TriggerSpec::new("p95 > 1.5× green", Tier::Planned, cond, 30 * MIN));
    }
    out.push(TriggerSpec::manual("critical functionality broken", Tier::Planned));
    out.push(TriggerSpec::manual("stakeholder decision", Tier::Planned));
    out
}

/// The SLO names the go-live defaults need but `slo_index_of` does not know.
pub fn go_live_missing_slos(slo_index_of: impl Fn(&str) -> Option<usize>) -> Vec<&'static str> {
    [ERROR_RATE_SLO, P95_SLO].into_iter().filter(|n| slo_index_of(n).is_none()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str) -> Option<usize> {
        ["error rate", "p95 latency", "availability"].iter().position(|n| *n == name)
    }

    #[test]
    fn go_live_defaults_are_the_plan() {
        let d = go_live_defaults(index);
        let summary: Vec<_> = d.iter().map(|t| (t.name.as_str(), t.tier, t.for_ms)).collect();
        assert_eq!(
            summary,
            [
                ("error rate > 5%", Tier::Immediate, 600_000),
                ("outage", Tier::Immediate, 60_000),
                ("critical security vulnerability", Tier::Immediate, 0),
                ("data corruption", Tier::Immediate, 0),
                ("error rate > 2%", Tier::Planned, 1_800_000),
                ("p95 > 1.5× green", Tier::Planned, 1_800_000),
                ("critical functionality broken", Tier::Planned, 0),
                ("stakeholder decision", Tier::Planned, 0),
            ]
        );
        assert_eq!(d[0].condition, Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 });
        assert_eq!(d[1].condition, Condition::Outage { env: Env::Blue });
        assert!(d[2].is_manual() && d[3].is_manual() && d[6].is_manual() && d[7].is_manual());
        assert_eq!(d[4].condition, Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.02 });
        assert_eq!(
            d[5].condition,
            Condition::Relative {
                slo: 1,
                env: Env::Blue,
                cmp: Direction::Above,
                factor: 1.5,
                reference: Reference::OtherEnv
            }
        );
        assert!(d.iter().all(|t| t.no_data == Policy::Hold && t.on_error == Policy::Hold));
        assert!(d.iter().all(|t| t.validate(3).is_ok()));
        assert!(go_live_missing_slos(index).is_empty());
    }

    #[test]
    fn defaults_leave_out_what_has_no_slo() {
        let d = go_live_defaults(|n| (n == "p95 latency").then_some(0));
        assert_eq!(d.len(), 6);
        assert!(!d.iter().any(|t| t.name.starts_with("error rate")));
        assert_eq!(go_live_missing_slos(|n| (n == "p95 latency").then_some(0)), ["error rate"]);
    }

    #[test]
    fn validation_names_the_trigger() {
        let mut t = TriggerSpec::new(
            "lat",
            Tier::Planned,
            Condition::Relative {
                slo: 2,
                env: Env::Blue,
                cmp: Direction::Above,
                factor: 0.0,
                reference: Reference::Baseline,
            },
            1000,
        );
        assert!(t.validate(2).unwrap_err().contains("only 2 SLOs"));
        assert!(t.validate(3).unwrap_err().contains("factor"));
        t.for_ms = -1;
        assert!(t.validate(3).unwrap_err().contains("negative"));
    }

    #[test]
    fn directions_and_labels() {
        assert!(Direction::Above.breaches(0.06, 0.05) && !Direction::Above.breaches(0.05, 0.05));
        assert!(Direction::Below.breaches(100.0, 200.0) && !Direction::Below.breaches(f64::NAN, 200.0));
        assert_eq!(Policy::default().label(), "hold");
        assert_eq!(TriggerSpec::manual("x", Tier::Planned).policies_label(), "no data: hold · error: hold");
    }

    #[test]
    fn specs_round_trip_through_json() {
        for t in go_live_defaults(index) {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<TriggerSpec>(&json).unwrap(), t, "{json}");
        }
    }
}

//! The config file as written, before validation. Unknown keys are errors so a
//! typo never silently falls back to a default.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub deployment: RawDeployment,
    pub runbook: Option<RawRunbook>,
    #[serde(default)]
    pub signals: RawSignals,
    #[serde(default)]
    pub target: Vec<RawTarget>,
    #[serde(default)]
    pub slo: Vec<RawSlo>,
    #[serde(default)]
    pub router: RawRouter,
    pub prometheus: Option<RawPrometheus>,
    /// Per-environment variables for query templates: `[vars.blue]`, `[vars.green]`.
    #[serde(default)]
    pub vars: RawVars,
    #[serde(default)]
    pub triggers: RawTriggers,
    #[serde(default)]
    pub trigger: Vec<RawTrigger>,
    #[serde(default)]
    pub ui: RawUi,
    pub traffic: Option<Spanned<super::traffic::RawTraffic>>,
    #[serde(default)]
    pub actuator: Vec<Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    pub name: Option<Spanned<String>>,
    pub environment: Option<String>,
    pub blue: Option<String>,
    pub green: Option<String>,
    /// This cockpit only watches (as `--read-only`).
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunbook {
    pub path: Spanned<String>,
    #[serde(default)]
    pub link: Vec<RawLink>,
    #[serde(default)]
    pub gate: Vec<RawGate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub task: Spanned<String>,
    pub on: Spanned<String>,
    #[serde(rename = "for")]
    pub for_: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    pub stage: Spanned<i64>,
    pub tasks: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignals {
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub window: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub env: Spanned<String>,
    pub service: String,
    pub metrics: Option<Spanned<String>>,
    pub health: Option<Spanned<String>>,
    /// `"2xx"` (default), `200`, or `"200,204"`.
    pub health_expect: Option<Spanned<toml::Value>>,
    pub health_format: Option<Spanned<String>>,
    pub health_follow_redirects: Option<bool>,
    pub health_failure_threshold: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub name: String,
    pub sli: Spanned<String>,
    pub objective: Spanned<String>,
    pub judge: Option<Spanned<String>>,
    /// `"scrape"` or `"prometheus"`; by default Prometheus when `[prometheus]` is configured.
    pub source: Option<Spanned<String>>,
    /// PromQL with `{env}` and other variables; by default the go-live query for `sli`.
    pub query: Option<Spanned<String>>,
    /// `"sum"`, `"max"` or `"min"` when the query returns several series.
    pub reduce: Option<Spanned<String>>,
    /// Fewest requests in the window to judge a request-based SLI (default 100).
    pub min_requests: Option<Spanned<i64>>,
    /// PromQL for the number a minimum is checked against (requests, or events), with `{env}`.
    pub count_query: Option<Spanned<String>>,
    /// Fewest events in the window to judge event latency (default 100).
    pub min_events: Option<Spanned<i64>>,
    /// Whether it gates advances and the soak (default: every `per_env` SLO does).
    pub gate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    pub url: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub ca_file: Option<String>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Poll `/api/v1/alerts` (default true).
    pub alerts: Option<bool>,
    /// Only alerts whose labels match all of these.
    #[serde(default)]
    pub alert_labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVars {
    #[serde(default)]
    pub blue: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub green: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    pub weights_url: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub theme: Option<String>,
    pub keymap: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTriggers {
    /// The go-live plan's triggers (default true).
    pub defaults: Option<bool>,
    pub auto_rollback: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrigger {
    pub name: Spanned<String>,
    pub tier: Spanned<String>,
    pub condition: Spanned<String>,
    pub slo: Option<Spanned<String>>,
    pub env: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub for_: Option<Spanned<String>>,
    pub no_data: Option<Spanned<String>>,
    pub on_error: Option<Spanned<String>>,
}

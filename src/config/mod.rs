//! Typed configuration: discovery, parsing, and validation with file:line:column errors.

mod error;
mod prometheus;
mod raw;
mod secrets;
pub mod traffic;
mod triggers;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, line_col};
pub use prometheus::{PromQuery, PrometheusConfig};
use raw::RawConfig;
use toml::Spanned;

use crate::actuators::ActuatorSpec;
use crate::domain::automation::{Gate, Link, When};
use crate::domain::env::{Env, EnvNames};
use crate::domain::health::{BodyFormat, Expect};
use crate::domain::sli::SliKind;
use crate::domain::slo::{Judge, Objective, SloSpec};
use crate::domain::time::parse_duration_ms;
use crate::domain::traffic::{OverrideRule, SoakPolicy, TrafficSpec, TrafficState};
use crate::domain::trigger::TriggerSpec;

/// The demo's config, built in so `cutover demo` works from any directory.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
/// The go-live runbook, built in for the demo.
pub const GO_LIVE_RUNBOOK: &[u8] = include_bytes!("../../config/runbooks/go-live.md");

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the config was read from (`<built-in demo config>` for the demo).
    pub file: PathBuf,
    pub deployment: String,
    pub label: String,
    pub env_names: EnvNames,
    /// The runbook file, resolved against the config file's folder.
    pub runbook: Option<PathBuf>,
    /// Tasks that tick themselves, and tasks that gate traffic stages.
    pub links: Vec<Link>,
    pub gates: Vec<Gate>,
    pub interval: Duration,
    pub timeout: Duration,
    pub window: Duration,
    pub targets: Vec<Target>,
    pub slos: Vec<SloConfig>,
    /// Where PromQL SLOs and alerts come from.
    pub prometheus: Option<PrometheusConfig>,
    pub weights_url: Option<String>,
    pub triggers: Vec<TriggerSpec>,
    pub auto_rollback: bool,
    /// Things worth saying that do not stop the config from working.
    pub warnings: Vec<String>,
    pub theme: Option<String>,
    pub keymap: Option<PathBuf>,
    /// The traffic stages (see `traffic.rs`).
    pub traffic: TrafficSpec,
    /// How a stage's soak is counted (`[traffic] soak_on`, `soak_reset`).
    pub soak: SoakPolicy,
    /// What an override reason must be (`[traffic] override_min_chars`, `override_pattern`).
    pub override_rule: OverrideRule,
    /// What moves traffic, in order.
    pub actuators: Vec<ActuatorSpec>,
    /// `[deployment] read_only = true`: every command only watches, as with `--read-only`.
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub env: Env,
    pub service: String,
    pub metrics: Option<String>,
    pub health: Option<HealthSpec>,
}

/// How one service's health is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSpec {
    /// `http(s)://…` or `tcp://host:port`.
    pub url: String,
    pub expect: Expect,
    pub format: BodyFormat,
    pub follow_redirects: bool,
    /// Consecutive failures before the service counts as down.
    pub failure_threshold: u32,
}

impl HealthSpec {
    pub fn new(url: impl Into<String>) -> Self {
        HealthSpec {
            url: url.into(),
            expect: Expect::Success,
            format: BodyFormat::Auto,
            follow_redirects: false,
            failure_threshold: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloConfig {
    pub spec: SloSpec,
    pub sli: SliKind,
    /// `Some`: read from Prometheus with this query; `None`: derived from scraped `/metrics`.
    pub prom: Option<PromQuery>,
    /// Fewest requests (events, for event latency) in the window to judge the SLI; 0: any. For a
    /// PromQL SLO it is checked with `prom.count`.
    pub min_count: u64,
    /// `gate = true/false`: whether it gates advances and the soak (default: per-environment ones).
    pub gate: Option<bool>,
}

impl Config {
    /// The traffic state before the first stage, with the configured stages and soak policy.
    pub fn traffic_state(&self) -> TrafficState {
        let mut t = TrafficState::new(self.traffic.clone());
        t.soak_policy = self.soak;
        t
    }
}

/// The default `min_requests` / `min_events`.
pub const DEFAULT_MIN_COUNT: u64 = 100;

/// Finds the config file: `--config` / `$CUTOVER_CONFIG`, `./cutover.toml`, then the user config dir.
pub fn discover(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let mut tried = vec![PathBuf::from("cutover.toml")];
    if let Some(dirs) = directories::ProjectDirs::from("", "", "cutover") {
        tried.push(dirs.config_dir().join("cutover.toml"));
    }
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let list: Vec<_> = tried.iter().map(|p| p.display().to_string()).collect();
        format!(
            "no config found (tried --config, $CUTOVER_CONFIG, {}); see config/cutover.example.toml",
            list.join(", ")
        )
    })
}

/// Finds the config (see [`discover`]) and reads it. Errors are ready to print: every one
/// found, a line each.
pub fn find_and_load(explicit: Option<&Path>) -> Result<Config, String> {
    let path = discover(explicit)?;
    load_all(&path).map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
}

impl Config {
    /// Points the config at another Prometheus (`--prometheus`, `$CUTOVER_PROMETHEUS_URL`).
    /// Without a `[prometheus]` section this adds one for the alerts; SLOs keep their sources.
    pub fn override_prometheus(&mut self, url: &str) -> Result<(), String> {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(format!("--prometheus {url:?}: expected an http:// or https:// URL")),
        }
        let url = url.trim_end_matches('/');
        match &mut self.prometheus {
            Some(p) => p.prom.url = url.to_string(),
            None => {
                let mut prom = crate::sources::prometheus::PromConfig::new(url);
                prom.timeout = self.timeout;
                self.prometheus = Some(PrometheusConfig { prom, alert_labels: Some(Default::default()) });
            }
        }
        Ok(())
    }
}

/// Reads and validates a config file; the first error when there are several.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_all(path).map_err(|mut errors| errors.remove(0))
}

/// Reads and validates a config file, with every error found (never an empty list).
pub fn load_all(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![ConfigError::file(path, format!("cannot read the config: {e}"))])?;
    parse_all(&text, path, path.parent())
}

/// Parses config text. `base` is the folder relative paths are resolved against.
pub fn parse(text: &str, file: &Path, base: Option<&Path>) -> Result<Config, ConfigError> {
    parse_all(text, file, base).map_err(|mut errors| errors.remove(0))
}

/// Parses config text and reports every error, in the order of the file's sections.
pub fn parse_all(text: &str, file: &Path, base: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
    let (config, errors) = parse_partial(text, file, base);
    match config {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(errors),
    }
}

/// Parses as much as can be read: the config with the broken parts at their defaults (when
/// the file could be read as TOML at all), and every error found on the way.
pub fn parse_partial(text: &str, file: &Path, base: Option<&Path>) -> (Option<Config>, Vec<ConfigError>) {
    let (raw, mut errors) = read_raw(text, file);
    let Some(raw) = raw else { return (None, errors) };
    let v = Validator { text, file, errors: Default::default(), broken_slos: Default::default() };
    let config = v.validate(raw, base);
    errors.extend(v.errors.into_inner());
    // In the file's order, so a list of them reads top to bottom.
    errors.sort_by_key(|e| e.position);
    (Some(config), errors)
}

/// The `[[runbook.gate]]` and `[[runbook.link]]` tasks for which `known` says no, each at its
/// place in the config text (the runbook is read apart from the config, so this is its own step).
pub fn unknown_tasks(text: &str, file: &Path, known: impl Fn(&str) -> bool) -> Vec<ConfigError> {
    let (Some(raw), _) = read_raw(text, file) else { return Vec::new() };
    let Some(rb) = raw.runbook else { return Vec::new() };
    let missing = |t: &Spanned<String>, key: String| {
        (!known(t.get_ref())).then(|| {
            let msg = format!("no task {:?} in the runbook", t.get_ref());
            ConfigError::at(file, text, Some(t.span()), Some(key), msg)
        })
    };
    let gates = rb.gate.iter().enumerate().flat_map(|(i, g)| {
        g.tasks.iter().enumerate().filter_map(move |(j, t)| missing(t, format!("runbook.gate[{i}].tasks[{j}]")))
    });
    let gates: Vec<ConfigError> = gates.collect();
    let links = rb.link.iter().enumerate().filter_map(|(i, l)| missing(&l.task, format!("runbook.link[{i}].task")));
    let mut all: Vec<ConfigError> = gates.into_iter().chain(links).collect();
    all.sort_by_key(|e| e.position);
    all
}

/// Deserializes the raw config. A key of the wrong type or an unknown key stops serde at the
/// first one; to find the others, that line is blanked (same length, so positions hold) and the
/// text read again. A syntax error, or an error that is not on one key's line, ends the search.
fn read_raw(text: &str, file: &Path) -> (Option<RawConfig>, Vec<ConfigError>) {
    let mut work = text.to_string();
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut blanked: Vec<std::ops::Range<usize>> = Vec::new();
    loop {
        let e = match toml::from_str::<RawConfig>(&work) {
            Ok(raw) => return (Some(raw), errors),
            Err(e) => e,
        };
        // The text read as TOML before a line was blanked: a syntax error now is the blank's.
        if !blanked.is_empty() && toml::from_str::<toml::Table>(&work).is_err() {
            return (None, errors);
        }
        let message = e.message().trim().to_string();
        // A field missing from a table with a blanked line is this search's doing, not the file's.
        let ours = |span: &std::ops::Range<usize>| blanked.iter().any(|b| b.start >= span.start && b.end <= span.end);
        if message.starts_with("missing field") && e.span().is_some_and(|s| ours(&s)) {
            return (None, errors);
        }
        errors.push(ConfigError::at(file, text, e.span(), None, message));
        let syntax_ok = toml::from_str::<toml::Table>(&work).is_ok();
        let Some(span) = e.span().filter(|_| syntax_ok && errors.len() < 50) else { return (None, errors) };
        let start = work[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let end = work[span.end.min(work.len())..].find('\n').map_or(work.len(), |i| span.end + i);
        let line = &work[start..end];
        if line.contains('\n') || line.trim_start().starts_with('[') || line.trim().is_empty() {
            return (None, errors);
        }
        let blank = " ".repeat(end - start);
        work.replace_range(start..end, &blank);
        blanked.push(start..end);
    }
}

pub(crate) struct Validator<'a> {
    text: &'a str,
    file: &'a Path,
    /// Every error found so far; a broken part is left at its default and the rest checked.
    errors: std::cell::RefCell<Vec<ConfigError>>,
    /// SLOs that had an error, so a trigger naming one does not also say it is missing.
    broken_slos: std::cell::RefCell<Vec<String>>,
}

impl Validator<'_> {
    pub(crate) fn err<T>(&self, span: std::ops::Range<usize>, key: String, message: String) -> Result<T, ConfigError> {
        Err(ConfigError::at(self.file, self.text, Some(span), Some(key), message))
    }

    /// Records an error and goes on.
    pub(crate) fn note(&self, span: std::ops::Range<usize>, key: String, message: String) {
        self.errors.borrow_mut().push(ConfigError::at(self.file, self.text, Some(span), Some(key), message));
    }

    /// The value, or `None` with its error recorded.
    pub(crate) fn keep<T>(&self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.errors.borrow_mut().push(e)).ok()
    }

    fn duration(&self, value: &Option<Spanned<String>>, key: &str, default_ms: i64) -> Result<Duration, ConfigError> {
        let Some(v) = value else { return Ok(Duration::from_millis(default_ms as u64)) };
        match parse_duration_ms(v.get_ref()) {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms as u64)),
            Ok(_) => self.err(v.span(), key.into(), "must be longer than zero".into()),
            Err(e) => self.err(v.span(), key.into(), e),
        }
    }

    fn url(&self, value: &Spanned<String>, key: String) -> Result<String, ConfigError> {
        match reqwest::Url::parse(value.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(value.get_ref().clone()),
            Ok(u) => {
                self.err(value.span(), key, format!("expected an http:// or https:// URL, got scheme {:?}", u.scheme()))
            }
            Err(e) => self.err(value.span(), key, format!("{:?} is not a URL: {e}", value.get_ref())),
        }
    }

    fn health(&self, t: &raw::RawTarget, url: &Spanned<String>, i: usize) -> Result<HealthSpec, ConfigError> {
        let key = |k: &str| format!("target[{i}].{k}");
        let u = url.get_ref();
        let valid = match u.strip_prefix("tcp://") {
            Some(addr) => addr
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)),
            None => self.url(url, key("health")).is_ok(),
        };
        if !valid {
            let msg = format!("{u:?}: expected http://…, https://… or tcp://host:port");
            return self.err(url.span(), key("health"), msg);
        }
        let mut spec = HealthSpec::new(u.clone());
        if let Some(e) = &t.health_expect {
            let text = match e.get_ref() {
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(a) => a.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","),
                other => other.to_string(),
            };
            spec.expect = match text.parse() {
                Ok(x) => x,
                Err(msg) => return self.err(e.span(), key("health_expect"), msg),
            };
        }
        if let Some(f) = &t.health_format {
            spec.format = match f.get_ref().parse() {
                Ok(x) => x,
                Err(msg) => return self.err(f.span(), key("health_format"), msg),
            };
        }
        spec.follow_redirects = t.health_follow_redirects.unwrap_or(false);
        if let Some(n) = &t.health_failure_threshold {
            match u32::try_from(*n.get_ref()) {
                Ok(v) if v >= 1 => spec.failure_threshold = v,
                _ => return self.err(n.span(), key("health_failure_threshold"), "must be 1 or more".into()),
            }
        }
        Ok(spec)
    }

    /// `[[runbook.link]]` and `[[runbook.gate]]`; with the configured stages (`None` when
    /// `[traffic]` itself is broken) a link or gate on a stage that is not one is an error.
    fn automation(&self, rb: Option<&raw::RawRunbook>, stages: Option<&[u8]>) -> (Vec<Link>, Vec<Gate>) {
        let (mut links, mut gates) = (Vec::new(), Vec::new());
        let Some(rb) = rb else { return (links, gates) };
        let unknown_stage = |p: u8| stages.is_some_and(|s| !s.contains(&p));
        let configured = || {
            let list: Vec<String> = stages.unwrap_or_default().iter().map(|p| format!("{p}")).collect();
            format!("the configured stages are {}", list.join(", "))
        };
        for (i, l) in rb.link.iter().enumerate() {
            let for_ms = match &l.for_ {
                Some(f) => match parse_duration_ms(f.get_ref()) {
                    Ok(ms) => Some(ms),
                    Err(e) => {
                        self.note(f.span(), format!("runbook.link[{i}].for"), e);
                        continue;
                    }
                },
                None => None,
            };
            match When::parse(l.on.get_ref(), for_ms) {
                Ok(When::Stage(p) | When::SoakPassed(p)) if unknown_stage(p) => {
                    let msg = format!("{:?}: {p}% is not a traffic stage; {}", l.on.get_ref(), configured());
                    self.note(l.on.span(), format!("runbook.link[{i}].on"), msg);
                }
                Ok(when) => links.push(Link { task: l.task.get_ref().clone(), when }),
                Err(e) => self.note(l.on.span(), format!("runbook.link[{i}].on"), e),
            }
        }
        for (i, g) in rb.gate.iter().enumerate() {
            let stage = *g.stage.get_ref();
            let key = format!("runbook.gate[{i}].stage");
            if !(0..=100).contains(&stage) {
                self.note(g.stage.span(), key, format!("expected a percentage from 0 to 100, got {stage}"));
                continue;
            }
            if unknown_stage(stage as u8) {
                self.note(g.stage.span(), key, format!("{stage}% is not a traffic stage; {}", configured()));
                continue;
            }
            gates.push(Gate { stage: stage as u8, tasks: g.tasks.iter().map(|t| t.get_ref().clone()).collect() });
        }
        (links, gates)
    }

    /// `min_requests` / `min_events` of one SLO: the key that fits its SLI, only where cutover can
    /// count the window (scraped SLIs; PromQL SLOs with a count query, the go-live queries have
    /// one), never on throughput (the count is what it judges).
    fn min_count(&self, s: &raw::RawSlo, i: usize, sli: SliKind, prom: Option<&PromQuery>) -> Result<u64, ConfigError> {
        let (key, wrong) = match sli {
            SliKind::EventLatencyP95 => ("min_events", &s.min_requests),
            _ => ("min_requests", &s.min_events),
        };
        if let Some(w) = wrong {
            let other = if key == "min_events" { "min_requests" } else { "min_events" };
            let msg = format!("{other} does not apply to sli {:?}; use {key}", sli.key());
            return self.err(w.span(), format!("slo[{i}].{other}"), msg);
        }
        if let (Some(c), None) = (&s.count_query, prom) {
            let msg = "a count query needs source = \"prometheus\" (scraped SLIs are counted from /metrics)".into();
            return self.err(c.span(), format!("slo[{i}].count_query"), msg);
        }
        // A PromQL SLO without a count: cutover cannot count its window, and does not pretend to.
        let uncounted = prom.is_some_and(|q| q.count.is_none());
        let given = if key == "min_events" { &s.min_events } else { &s.min_requests };
        let full = format!("slo[{i}].{key}");
        match given {
            Some(n) if *n.get_ref() < 0 => self.err(n.span(), full, "must be 0 (judge any count) or more".into()),
            Some(n) if sli == SliKind::Throughput && *n.get_ref() > 0 => {
                let msg = "throughput judges the request count itself; a minimum would hide an outage".into();
                self.err(n.span(), full, msg)
            }
            Some(n) if uncounted && *n.get_ref() > 0 => {
                let msg = "a PromQL SLO with its own query needs count_query (PromQL for the number of \
                           requests in the same window) to be held to a minimum"
                    .into();
                self.err(n.span(), full, msg)
            }
            Some(n) => Ok(*n.get_ref() as u64),
            None if uncounted || sli == SliKind::Throughput => Ok(0),
            None => Ok(DEFAULT_MIN_COUNT),
        }
    }

    fn validate(&self, raw: RawConfig, base: Option<&Path>) -> Config {
        let deployment = match &raw.deployment.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                self.note(n.span(), "deployment.name".into(), "must not be empty".into());
                "cutover".into()
            }
            Some(n) => n.get_ref().clone(),
            None => "cutover".into(),
        };
        let env_names = EnvNames([
            raw.deployment.blue.clone().unwrap_or_else(|| "blue".into()),
            raw.deployment.green.clone().unwrap_or_else(|| "green".into()),
        ]);
        let interval = self.keep(self.duration(&raw.signals.interval, "signals.interval", 2000));
        let timeout = self.keep(self.duration(&raw.signals.timeout, "signals.timeout", 1000));
        let window = self.keep(self.duration(&raw.signals.window, "signals.window", 60_000));
        if let (Some(interval), Some(window)) = (interval, window)
            && window < interval * 2
        {
            let span = raw.signals.window.as_ref().map_or(0..0, |w| w.span());
            self.note(span, "signals.window".into(), "must be at least twice signals.interval".into());
        }
        let interval = interval.unwrap_or(Duration::from_millis(2000));
        let timeout = timeout.unwrap_or(Duration::from_millis(1000));
        let window = window.unwrap_or(Duration::from_millis(60_000));

        let mut targets = Vec::new();
        for (i, t) in raw.target.iter().enumerate() {
            let key = |k: &str| format!("target[{i}].{k}");
            let env = match t.env.get_ref().as_str() {
                "blue" => Env::Blue,
                "green" => Env::Green,
                other => {
                    self.note(t.env.span(), key("env"), format!("expected \"blue\" or \"green\", got {other:?}"));
                    continue;
                }
            };
            if t.metrics.is_none() && t.health.is_none() {
                self.note(t.env.span(), format!("target[{i}]"), "needs `metrics` or `health` (or both)".into());
                continue;
            }
            let Some(metrics) = self.keep(t.metrics.as_ref().map(|m| self.url(m, key("metrics"))).transpose()) else {
                continue;
            };
            let Some(health) = self.keep(t.health.as_ref().map(|h| self.health(t, h, i)).transpose()) else {
                continue;
            };
            targets.push(Target { env, service: t.service.clone(), metrics, health });
        }

        let prometheus = self.keep(raw.prometheus.as_ref().map(|p| self.prometheus(p, timeout, base)).transpose());
        let prometheus_ok = prometheus.is_some();
        let prometheus = prometheus.flatten();
        let mut slos: Vec<SloConfig> = Vec::new();
        for (i, s) in raw.slo.iter().enumerate() {
            match self.slo(s, i, interval, &slos, prometheus.is_some() || !prometheus_ok, &raw.vars) {
                Ok(slo) => slos.push(slo),
                Err(e) => {
                    self.errors.borrow_mut().push(e);
                    self.broken_slos.borrow_mut().push(s.name.clone());
                }
            }
        }

        let traffic_spec = self.keep(self.traffic(raw.traffic.as_ref()));
        let stages = traffic_spec.as_ref().map(|t| t.percents());
        let (links, gates) = self.automation(raw.runbook.as_ref(), stages.as_deref());
        let triggers = self.triggers(&raw.triggers, &raw.trigger, &slos);
        let traffic = traffic_spec.unwrap_or_default();
        // A reading judges one SLI window of the past: two further apart leave a gap unwatched.
        let max_gap_ms = (window.as_millis() as i64).max(2 * interval.as_millis() as i64);
        let (soak, override_rule) =
            self.keep(self.traffic_policy(raw.traffic.as_ref(), max_gap_ms)).unwrap_or_default();
        let actuators = self.keep(self.actuators(&raw.actuator)).unwrap_or_default();
        let weights_url =
            self.keep(raw.router.weights_url.as_ref().map(|u| self.url(u, "router.weights_url".into())).transpose());
        let resolve = |p: &str| match base {
            Some(b) if Path::new(p).is_relative() => b.join(p),
            _ => PathBuf::from(p),
        };
        let mut warnings = triggers.warnings;
        warnings.extend(prometheus.iter().flat_map(|p| secrets::loose_files(&p.prom)));
        Config {
            file: self.file.to_path_buf(),
            deployment,
            label: raw.deployment.environment.unwrap_or_else(|| "prod".into()),
            read_only: raw.deployment.read_only,
            env_names,
            runbook: raw.runbook.as_ref().map(|r| resolve(r.path.get_ref())),
            links,
            gates,
            interval,
            timeout,
            window,
            targets,
            slos,
            prometheus,
            weights_url: weights_url.flatten(),
            triggers: triggers.specs,
            auto_rollback: triggers.auto_rollback,
            warnings,
            theme: raw.ui.theme,
            keymap: raw.ui.keymap.as_deref().map(resolve),
            traffic,
            soak,
            override_rule,
            actuators,
        }
    }

    /// One `[[slo]]`.
    fn slo(
        &self,
        s: &raw::RawSlo,
        i: usize,
        interval: Duration,
        slos: &[SloConfig],
        has_prometheus: bool,
        vars: &raw::RawVars,
    ) -> Result<SloConfig, ConfigError> {
        let key = |k: &str| format!("slo[{i}].{k}");
        if slos.iter().any(|o| o.spec.name == s.name) {
            return self.err(s.sli.span(), key("name"), format!("another SLO is already named {:?}", s.name));
        }
        let sli: SliKind = match s.sli.get_ref().parse() {
            Ok(k) => k,
            Err(e) => return self.err(s.sli.span(), key("sli"), e),
        };
        let objective: Objective = match s.objective.get_ref().parse() {
            Ok(o) => o,
            Err(e) => return self.err(s.objective.span(), key("objective"), e.to_string()),
        };
        let judge = match s.judge.as_ref().map(|j| j.get_ref().as_str()) {
            None | Some("per_env") => Judge::PerEnv,
            Some("sum") => Judge::Sum,
            Some(other) => {
                let span = s.judge.as_ref().map_or(0..0, |j| j.span());
                return self.err(span, key("judge"), format!("expected \"per_env\" or \"sum\", got {other:?}"));
            }
        };
        let spec = SloSpec { name: s.name.clone(), objective, judge, interval_ms: interval.as_millis() as i64 };
        let prom = self.prom_query(s, i, sli, has_prometheus, vars)?;
        let min_count = self.min_count(s, i, sli, prom.as_ref())?;
        Ok(SloConfig { spec, sli, prom, min_count, gate: s.gate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trigger::{Condition, Direction, Policy, Reference};

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("t.toml"), Some(Path::new("/etc/cutover")))
    }

    #[test]
    fn the_demo_config_is_valid() {
        let c = parse(DEMO_CONFIG, Path::new("demo.toml"), None).unwrap();
        assert_eq!(c.slos.len(), 5);
        assert!(c.slos.iter().any(|s| s.spec.judge == Judge::Sum));
    }

    #[test]
    fn the_example_config_is_valid() {
        let text = include_str!("../../config/cutover.example.toml");
        let c = parse(text, Path::new("cutover.example.toml"), Some(Path::new("config"))).unwrap();
        assert_eq!(c.targets.len(), 12);
        assert_eq!(c.runbook, Some(PathBuf::from("config/runbooks/go-live.md")));
    }

    #[test]
    fn the_go_live_and_rehearsal_configs_are_valid_and_read_from_prometheus() {
        for (name, text) in [
            ("go-live.toml", include_str!("../../config/go-live.toml")),
            ("rehearsal.toml", include_str!("../../config/rehearsal.toml")),
        ] {
            let c = parse(text, Path::new(name), Some(Path::new("config"))).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.slos.len(), 5, "{name}");
            assert!(c.slos.iter().all(|s| s.prom.is_some()), "{name}: every SLO from Prometheus");
            assert!(c.prometheus.as_ref().unwrap().alert_labels.is_some());
            assert_eq!(c.triggers.len(), 8, "{name}: the plan's triggers");
            assert!(c.targets.iter().filter(|t| t.health.is_some()).count() >= 12, "{name}");
        }
        let c = parse(include_str!("../../config/go-live.toml"), Path::new("g"), None).unwrap();
        let q = c.slos[0].prom.as_ref().unwrap();
        assert!(q.resolved[0].contains("env=\"blue\"") && q.resolved[1].contains("env=\"green\""), "{q:?}");
    }

    #[test]
    fn prometheus_settings_are_checked() {
        let base = "[prometheus]\nurl = \"http://p:9090\"\n";
        let c = parse_str(&format!("{base}token_env = \"T\"\nheaders = {{ X-Scope-OrgID = \"a\" }}\n[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n")).unwrap();
        let p = c.prometheus.unwrap();
        assert_eq!(
            p.prom.auth,
            crate::sources::prometheus::Auth::Bearer { token: crate::sources::prometheus::SecretRef::Env("T".into()) }
        );
        assert_eq!(p.prom.headers, vec![("X-Scope-OrgID".to_string(), "a".to_string())]);
        let e = parse_str(&format!("{base}token_env = \"T\"\ntoken_file = \"f\"\n")).unwrap_err();
        assert!(e.message.contains("not both"), "{e}");
        let e = parse_str(&format!("{base}username = \"u\"\n")).unwrap_err();
        assert!(e.message.contains("password_env"), "{e}");
        let e = parse_str(&format!("{base}password_env = \"PW\"\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("prometheus.password_env"), "{e}");
        assert!(e.message.contains("needs username"), "{e}");
        assert!(e.to_string().contains(":3:"), "names the line: {e}");
        let e = parse_str(&format!("{base}[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\nquery = \"up{{job=\\\"{{jobb}}\\\"}}\"\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("slo[0].query"), "{e}");
        assert!(e.message.contains("jobb"), "{e}");
        let e =
            parse_str("[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\nsource = \"prometheus\"\n")
                .unwrap_err();
        assert!(e.message.contains("needs a [prometheus] section"), "{e}");
        let mut c = parse_str("").unwrap();
        c.override_prometheus("http://tunnel:9090/").unwrap();
        assert_eq!(c.prometheus.unwrap().prom.url, "http://tunnel:9090");
    }

    #[test]
    fn an_empty_config_gets_defaults() {
        let c = parse_str("").unwrap();
        assert_eq!(c.interval, Duration::from_secs(2));
        assert_eq!(c.window, Duration::from_secs(60));
        assert!(c.slos.is_empty() && c.targets.is_empty());
        assert!(!c.read_only);
        assert!(parse_str("[deployment]\nread_only = true\n").unwrap().read_only);
        let e = parse_str("[deployment]\nread_only = \"yes\"\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(2), "{e}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_str("[deployment]\nname = = 3\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(2), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse_str("[signals]\nintervall = \"2s\"\n").unwrap_err();
        assert!(e.to_string().contains("intervall"), "{e}");
        assert_eq!(e.position, Some((2, 1)), "{e}");
    }

    #[test]
    fn bad_values_name_key_line_and_what_was_expected() {
        let text = "[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"1%\"\n";
        let e = parse_str(text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("slo[0].objective"));
        assert_eq!(e.position, Some((4, 13)));
        assert!(e.message.contains("must start with"), "{e}");

        let e = parse_str("[[target]]\nenv = \"purple\"\nservice = \"x\"\nhealth = \"http://h\"\n").unwrap_err();
        assert_eq!(e.to_string(), "t.toml:2:7: target[0].env: expected \"blue\" or \"green\", got \"purple\"");

        let e = parse_str("[[target]]\nenv = \"blue\"\nservice = \"x\"\nmetrics = \"ftp://h\"\n").unwrap_err();
        assert!(e.to_string().contains("target[0].metrics: expected an http"), "{e}");

        let e = parse_str("[signals]\ninterval = \"5 parsecs\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:12: signals.interval:"), "{e}");

        let e = parse_str("[[slo]]\nname = \"x\"\nsli = \"vibes\"\nobjective = \"< 1\"\n").unwrap_err();
        assert!(e.message.contains("known: error_ratio"), "{e}");
    }

    #[test]
    fn links_and_gates_are_read_and_checked() {
        let text = "[runbook]\npath = \"r.md\"\n[[runbook.link]]\ntask = \"T1227\"\non = \"slo:all-ok\"\nfor = \"5m\"\n\
                    [[runbook.link]]\ntask = \"T1217\"\non = \"stage:10\"\n[[runbook.gate]]\nstage = 10\ntasks = [\"T1212\"]\n";
        let c = parse_str(text).unwrap();
        assert_eq!(c.links[0], Link { task: "T1227".into(), when: When::AllSlosOk { for_ms: 300_000 } });
        assert_eq!(c.links[1].when, When::Stage(10));
        assert_eq!(c.gates, vec![Gate { stage: 10, tasks: vec!["T1212".into()] }]);
        let e =
            parse_str("[runbook]\npath = \"r.md\"\n[[runbook.link]]\ntask = \"T1\"\non = \"stage:x\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("runbook.link[0].on"));
        assert_eq!(e.position.map(|p| p.0), Some(5));
        let e = parse_str("[runbook]\npath = \"r.md\"\n[[runbook.gate]]\nstage = 120\ntasks = []\n").unwrap_err();
        assert!(e.to_string().contains("runbook.gate[0].stage"), "{e}");
    }

    #[test]
    fn minimum_counts_default_to_100_and_are_checked() {
        let slo =
            |sli: &str, extra: &str| format!("[[slo]]\nname = \"x\"\nsli = \"{sli}\"\nobjective = \"< 1\"\n{extra}");
        let min = |sli: &str, extra: &str| parse_str(&slo(sli, extra)).map(|c| c.slos[0].min_count);
        assert_eq!(min("error_ratio", ""), Ok(DEFAULT_MIN_COUNT));
        assert_eq!(min("p95_latency", "min_requests = 20\n"), Ok(20));
        assert_eq!(min("event_latency_p95", "min_events = 5\n"), Ok(5));
        assert_eq!(min("availability", "min_requests = 0\n"), Ok(0));
        assert_eq!(min("throughput", ""), Ok(0), "throughput judges the count itself");
        let e = min("event_latency_p95", "min_requests = 5\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("slo[0].min_requests"));
        assert!(e.to_string().contains("use min_events"), "{e}");
        let e = min("throughput", "min_requests = 10\n").unwrap_err();
        assert!(e.to_string().contains("hide an outage"), "{e}");
        let e = min("error_ratio", "min_requests = -1\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(5), "{e}");
        // PromQL SLOs: the go-live query has its count; a query of one's own needs count_query.
        let prom = "[prometheus]\nurl = \"http://127.0.0.1:9090\"\n";
        let c = parse_str(&format!("{prom}{}", slo("error_ratio", ""))).unwrap();
        assert_eq!(c.slos[0].min_count, DEFAULT_MIN_COUNT);
        let count = c.slos[0].prom.as_ref().unwrap().count.clone().unwrap();
        assert!(count[0].contains("increase(http_requests_total{env=\"blue\"}"), "{count:?}");
        let own = "query = 'sum(rate(x{env=\"{env}\"}[5m]))'\n";
        let c = parse_str(&format!("{prom}{}", slo("error_ratio", own))).unwrap();
        assert_eq!(c.slos[0].min_count, 0, "not counted: judged as the query says");
        let e = parse_str(&format!("{prom}{}", slo("error_ratio", &format!("{own}min_requests = 50\n")))).unwrap_err();
        assert!(e.to_string().contains("needs count_query"), "{e}");
        let counted = format!("{own}count_query = 'sum(increase(x{{env=\"{{env}}\"}}[5m]))'\nmin_requests = 50\n");
        let c = parse_str(&format!("{prom}{}", slo("error_ratio", &counted))).unwrap();
        assert_eq!(c.slos[0].min_count, 50);
        assert_eq!(c.slos[0].prom.as_ref().unwrap().count.as_ref().unwrap()[1], "sum(increase(x{env=\"green\"}[5m]))");
        let e = parse_str(&slo("error_ratio", "count_query = 'x'\n")).unwrap_err();
        assert!(e.to_string().contains("needs source"), "{e}");
    }

    #[test]
    fn triggers_default_to_the_go_live_plan_and_can_be_written() {
        let c = parse(DEMO_CONFIG, Path::new("demo.toml"), None).unwrap();
        assert!(c.triggers.iter().any(|t| t.name.contains("error rate > 5%")), "{:?}", c.triggers);
        let slos = "[[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n\
                    [[slo]]\nname = \"p95 latency\"\nsli = \"p95_latency\"\nobjective = \"<= 2s\"\n";
        let c = parse_str(slos).unwrap();
        assert_eq!(c.triggers.len(), 8, "the plan's eight");
        assert!(c.warnings.is_empty());
        assert!(!c.auto_rollback);
        let c = parse_str("").unwrap();
        assert!(c.warnings[0].contains("\"error rate\""), "{:?}", c.warnings);

        let text = format!(
            "{slos}[triggers]\ndefaults = false\nauto_rollback = true\n\
             [[trigger]]\nname = \"fast errors\"\ntier = \"immediate\"\nslo = \"error rate\"\ncondition = \"> 5%\"\nfor = \"30s\"\nno_data = \"reset\"\n\
             [[trigger]]\nname = \"slow\"\ntier = \"planned\"\nslo = \"p95 latency\"\ncondition = \"> 1.5x baseline\"\nfor = \"1m\"\n\
             [[trigger]]\nname = \"down\"\ntier = \"immediate\"\ncondition = \"outage\"\nenv = \"green\"\n\
             [[trigger]]\nname = \"ops call\"\ntier = \"planned\"\ncondition = \"manual\"\n"
        );
        let c = parse_str(&text).unwrap();
        assert!(c.auto_rollback);
        assert_eq!(c.triggers.len(), 4);
        assert_eq!(
            c.triggers[0].condition,
            Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 }
        );
        assert_eq!((c.triggers[0].for_ms, c.triggers[0].no_data), (30_000, Policy::Reset));
        assert!(
            matches!(c.triggers[1].condition, Condition::Relative { slo: 1, factor, reference: Reference::Baseline, .. } if factor == 1.5)
        );
        assert_eq!(c.triggers[2].condition, Condition::Outage { env: Env::Green });
        assert_eq!(c.triggers[2].for_ms, 60_000, "an outage defaults to one minute");
        assert!(c.triggers[3].is_manual());
    }

    #[test]
    fn bad_triggers_say_what_and_where() {
        let slos = "[[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n";
        let e = parse_str(&format!("{slos}[[trigger]]\nname = \"x\"\ntier = \"soon\"\ncondition = \"manual\"\n"))
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("trigger[0].tier"));
        let e = parse_str(&format!(
            "{slos}[[trigger]]\nname = \"x\"\ntier = \"planned\"\nslo = \"errors\"\ncondition = \"> 5%\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("no SLO named \"errors\"; known: \"error rate\""), "{e}");
        let e = parse_str(&format!("{slos}[[trigger]]\nname = \"x\"\ntier = \"planned\"\ncondition = \"> 5%\"\n"))
            .unwrap_err();
        assert!(e.to_string().contains("needs `slo"), "{e}");
        let e = parse_str(&format!(
            "{slos}[[trigger]]\nname = \"x\"\ntier = \"planned\"\nslo = \"error rate\"\ncondition = \"lots\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("\"> 1.5x green\""), "{e}");
        assert_eq!(e.position.map(|p| p.0), Some(9));
        let e = parse_str(&format!(
            "{slos}[[trigger]]\nname = \"x\"\ntier = \"planned\"\nslo = \"error rate\"\ncondition = \"> 2s\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("other units"), "{e}");
        let e = parse_str(&format!(
            "{slos}[[trigger]]\nname = \"x\"\ntier = \"planned\"\ncondition = \"manual\"\non_error = \"panic\"\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("trigger[0].on_error"));
    }

    #[test]
    fn health_checks_of_every_kind() {
        let text = "[[target]]\nenv = \"blue\"\nservice = \"db\"\nhealth = \"tcp://10.0.0.5:5432\"\nhealth_failure_threshold = 3\n\
                    [[target]]\nenv = \"blue\"\nservice = \"k8s\"\nhealth = \"https://k/readyz\"\nhealth_format = \"readyz\"\nhealth_expect = [200, 204]\nhealth_follow_redirects = true\n";
        let c = parse_str(text).unwrap();
        let db = c.targets[0].health.as_ref().unwrap();
        assert_eq!((db.url.as_str(), db.failure_threshold), ("tcp://10.0.0.5:5432", 3));
        let k = c.targets[1].health.as_ref().unwrap();
        assert_eq!(k.format, BodyFormat::Readyz);
        assert_eq!(k.expect, Expect::Codes(vec![200, 204]));
        assert!(k.follow_redirects);
        let e = parse_str("[[target]]\nenv = \"blue\"\nservice = \"db\"\nhealth = \"tcp://nohost\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("target[0].health"), "{e}");
        let e = parse_str("[[target]]\nenv = \"blue\"\nservice = \"x\"\nhealth = \"http://h\"\nhealth_expect = 999\n")
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("target[0].health_expect"), "{e}");
        let e =
            parse_str("[[target]]\nenv = \"blue\"\nservice = \"x\"\nhealth = \"http://h\"\nhealth_format = \"xml\"\n")
                .unwrap_err();
        assert!(e.message.contains("known:"), "{e}");
    }

    #[test]
    fn every_error_is_reported_and_a_broken_slo_does_not_echo_in_its_triggers() {
        let text = "[deployment]\nread_only = \"yes\"\nbogus = 1\n\
                    [[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"1%\"\n\
                    [[trigger]]\nname = \"x\"\ntier = \"planned\"\nslo = \"error rate\"\ncondition = \"> 5%\"\n\
                    [traffic]\nstages = [10, 300]\n";
        let errors = parse_all(text, Path::new("t.toml"), None).unwrap_err();
        let lines: Vec<_> = errors.iter().map(|e| e.position.map(|p| p.0)).collect();
        assert_eq!(lines, vec![Some(2), Some(3), Some(7), Some(14)], "{errors:?}");
        assert!(errors[2].message.contains("must start with"), "{:?}", errors[2]);
        assert!(!errors.iter().any(|e| e.message.contains("no SLO named")), "{errors:?}");
        // `parse` keeps its one-error answer: the first.
        assert_eq!(parse(text, Path::new("t.toml"), None).unwrap_err(), errors[0]);
        // Blanking the last line of an array would break the syntax: that is not reported.
        let text = "[deployment]\nbogus = 1\n[traffic]\nstages = [10,\n  25, \"x\"]\n";
        let errors = parse_all(text, Path::new("t.toml"), None).unwrap_err();
        assert_eq!(errors.len(), 2, "the two real ones, nothing the blanking made: {errors:?}");
        assert!(errors[0].message.contains("bogus") && errors[1].message.contains("invalid type"), "{errors:?}");
        // A field missing from a table nothing was blanked in is the file's own error.
        let text = "[deployment]\nbogus = 1\n[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\n";
        let errors = parse_all(text, Path::new("t.toml"), None).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[1].message.contains("missing field `objective`"), "{errors:?}");
        // A syntax error ends the search: what follows cannot be read reliably.
        let errors = parse_all("a = = 1\n[signals]\nintervall = 1\n", Path::new("t.toml"), None).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn gate_and_link_tasks_are_looked_up_in_the_runbook_with_their_positions() {
        let text = "[runbook]\npath = \"r.md\"\n[[runbook.gate]]\nstage = 10\ntasks = [\"T1\", \"T9\"]\n\
                    [[runbook.link]]\ntask = \"T8\"\non = \"stage:10\"\n";
        let errors = unknown_tasks(text, Path::new("t.toml"), |id| id == "T1");
        let shown: Vec<_> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "t.toml:5:16: runbook.gate[0].tasks[1]: no task \"T9\" in the runbook",
                "t.toml:7:8: runbook.link[0].task: no task \"T8\" in the runbook",
            ]
        );
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let c = parse_str("[runbook]\npath = \"runbooks/x.md\"\n").unwrap();
        assert_eq!(c.runbook, Some(PathBuf::from("/etc/cutover/runbooks/x.md")));
        let c = parse_str("[runbook]\npath = \"/srv/x.md\"\n").unwrap();
        assert_eq!(c.runbook, Some(PathBuf::from("/srv/x.md")));
    }
}

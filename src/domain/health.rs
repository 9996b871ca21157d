//! Health of one service in one environment, and how a health answer is read.
//!
//! - [`read_answer`] judges one HTTP answer: the status code against an [`Expect`]ation,
//!   then the body by its [`BodyFormat`]: `application/health+json` (pass / warn / fail with
//!   its `checks`), Spring Boot actuator (UP / DOWN / OUT_OF_SERVICE / UNKNOWN with its
//!   `components`), Kubernetes `/readyz` (`[+]name ok`, `[-]name failed`, `readyz check
//!   passed`), or plain (the status code alone).
//! - [`FailureThreshold`] turns raw observations into what is shown, like a Kubernetes
//!   probe's `failureThreshold`.
//!
//! How a failure below the threshold is represented: the [`HealthState`]s keep their
//! meaning, and no state is added. Up and Degraded are successes (an answer that says it
//! serves, perhaps with warnings); Down and Unreachable are failures. While consecutive
//! failures are below the threshold, the observation keeps the state last established
//! (by a success or by reaching the threshold) and says so in its detail:
//! `1/3 failures: connection refused`; its code and latency are the failed attempt's. With
//! nothing established yet (the first checks after start), a failure is shown as it is,
//! with the count in the detail: like a Kubernetes readiness probe, nothing is healthy
//! before it has been seen healthy. Reaching the threshold shows the failure as it is.

use std::fmt;
use std::str::FromStr;

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

    /// Down and Unreachable count towards a failure threshold; Up and Degraded reset it.
    pub fn is_failure(self) -> bool {
        matches!(self, HealthState::Down | HealthState::Unreachable)
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

/// Which status codes count as a healthy answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    /// Any 2xx (the default).
    #[default]
    Success,
    /// Exactly these codes.
    Codes(Vec<u16>),
}

impl Expect {
    pub fn code(code: u16) -> Self {
        Expect::Codes(vec![code])
    }

    pub fn matches(&self, code: u16) -> bool {
        match self {
            Expect::Success => (200..300).contains(&code),
            Expect::Codes(codes) => codes.contains(&code),
        }
    }

    /// Whether `code` is listed explicitly (a listed 3xx is an answer, not a redirect).
    pub fn lists(&self, code: u16) -> bool {
        matches!(self, Expect::Codes(codes) if codes.contains(&code))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Success => f.write_str("2xx"),
            Expect::Codes(codes) => {
                let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
                f.write_str(&codes.join(" or "))
            }
        }
    }
}

/// `2xx`, `200`, `200,204` (or space separated). Codes must be 100–599.
impl FromStr for Expect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("2xx") {
            return Ok(Expect::Success);
        }
        let mut codes = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            match part.parse::<u16>() {
                Ok(c) if (100..600).contains(&c) => codes.push(c),
                _ => return Err(format!("expected status {part:?} is not an HTTP status code (100-599)")),
            }
        }
        if codes.is_empty() {
            return Err("expected status is empty: give `2xx`, a code such as `200`, or a list `200,204`".into());
        }
        Ok(Expect::Codes(codes))
    }
}

/// How a health body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyFormat {
    /// By the content type, then by sniffing the body (the default).
    #[default]
    Auto,
    /// `application/health+json`: `status` pass / warn / fail, `checks`.
    HealthJson,
    /// Spring Boot actuator: `status` UP / DOWN / OUT_OF_SERVICE / UNKNOWN, `components`.
    Spring,
    /// Kubernetes `/readyz`, `/livez`, `/healthz` text: `[+]name ok` / `[-]name failed` lines.
    Readyz,
    /// The status code alone; the body's start goes into the detail.
    Plain,
}

impl BodyFormat {
    pub const ALL: [BodyFormat; 5] =
        [BodyFormat::Auto, BodyFormat::HealthJson, BodyFormat::Spring, BodyFormat::Readyz, BodyFormat::Plain];

    /// The word used in configs.
    pub fn key(self) -> &'static str {
        match self {
            BodyFormat::Auto => "auto",
            BodyFormat::HealthJson => "health+json",
            BodyFormat::Spring => "spring",
            BodyFormat::Readyz => "readyz",
            BodyFormat::Plain => "plain",
        }
    }
}

impl FromStr for BodyFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BodyFormat::ALL.into_iter().find(|f| f.key() == s).ok_or_else(|| {
            let known: Vec<_> = BodyFormat::ALL.iter().map(|f| f.key()).collect();
            format!("unknown health format {s:?}; known: {}", known.join(", "))
        })
    }
}

/// Reads a health answer that arrived with the default expectation (any 2xx) and format (auto).
pub fn classify(code: u16, body: &str) -> (HealthState, String) {
    read_answer(code, None, body, &Expect::Success, BodyFormat::Auto)
}

/// Judges one HTTP answer.
///
/// A status code outside `expect` is Down whatever the body says (the detail says which
/// code came and which was expected, then what the body said). Otherwise the body decides,
/// read as `format` (for [`BodyFormat::Auto`]: by content type, then by sniffing; see
/// [`detect`]). A body that is not of a forced format is Down: it says nothing about health.
pub fn read_answer(
    code: u16,
    content_type: Option<&str>,
    body: &str,
    expect: &Expect,
    format: BodyFormat,
) -> (HealthState, String) {
    read_cut_answer(code, content_type, body, None, expect, format)
}

/// What a 2xx HTML answer to a check that reads the body is shown with.
pub const HTML_ANSWER: &str = "HTML answer: a login page or wrong URL?";

/// [`read_answer`] for a body that may have been cut: `cut_at` is the reader's limit in bytes
/// when the body went on past it (`body` then holds its first `cut_at` bytes).
///
/// Two answers in the expected codes say nothing about health yet are no outage, so they are
/// `Degraded`, not `Up` (and do not count as failures):
/// - HTML (by content type or by its first tag) where the format is auto, health+json or
///   Spring: a login page or a wrong URL, [`HTML_ANSWER`];
/// - a body cut at the limit, in any format but plain: what it said was not read, and the
///   detail says so (`body over 64 KiB`) rather than blaming the part that was read.
pub fn read_cut_answer(
    code: u16,
    content_type: Option<&str>,
    body: &str,
    cut_at: Option<usize>,
    expect: &Expect,
    format: BodyFormat,
) -> (HealthState, String) {
    if expect.matches(code) {
        let reads_json = matches!(format, BodyFormat::Auto | BodyFormat::HealthJson | BodyFormat::Spring);
        if reads_json && looks_html(content_type, body) {
            return (HealthState::Degraded, format!("HTTP {code}: {HTML_ANSWER}"));
        }
        if let Some(limit) = cut_at
            && format != BodyFormat::Plain
        {
            return (HealthState::Degraded, format!("HTTP {code}, but the body is over {}: not read", kib(limit)));
        }
    }
    let format = if format == BodyFormat::Auto { detect(content_type, body) } else { format };
    let read = match format {
        BodyFormat::HealthJson => read_health_json(body),
        BodyFormat::Spring => read_spring(body),
        BodyFormat::Readyz => read_readyz(body),
        BodyFormat::Auto | BodyFormat::Plain => Ok(None),
    };
    let text = snippet(body, 60);
    let code_ok = expect.matches(code);
    match read {
        Ok(Some((state, detail))) if code_ok => (state, detail),
        Ok(Some((_, detail))) => (HealthState::Down, format!("HTTP {code} (expected {expect}): {detail}")),
        Ok(None) if code_ok => (HealthState::Up, join(format!("HTTP {code}"), &text)),
        Ok(None) => (HealthState::Down, join(format!("HTTP {code} (expected {expect})"), &text)),
        Err(why) if code_ok => (HealthState::Down, format!("HTTP {code}, but {why}")),
        Err(why) => (HealthState::Down, format!("HTTP {code} (expected {expect}), and {why}")),
    }
}

/// `64 KiB` for whole kibibytes, else `N bytes`.
fn kib(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) { format!("{} KiB", bytes / 1024) } else { format!("{bytes} bytes") }
}

/// An HTML page: said by the content type and starting with a tag, or starting with a
/// doctype or an `html`/`head`/`body` tag whatever the content type says.
fn looks_html(content_type: Option<&str>, body: &str) -> bool {
    let start: String = body.trim_start().chars().take(16).collect::<String>().to_ascii_lowercase();
    let essence = content_type.and_then(|c| c.split(';').next()).map(|c| c.trim().to_ascii_lowercase());
    let typed = matches!(essence.as_deref(), Some("text/html" | "application/xhtml+xml"));
    (typed && start.starts_with('<'))
        || ["<!doctype html", "<html", "<head", "<body"].iter().any(|t| start.starts_with(t))
}

fn join(head: String, text: &str) -> String {
    if text.is_empty() { head } else { format!("{head} {text}") }
}

/// The start of a body on one line.
fn snippet(body: &str, max: usize) -> String {
    super::bound::one_line(body, max)
}

/// The format of a body for [`BodyFormat::Auto`]: never `Auto`.
///
/// By content type first: `application/health+json` is health+json, a
/// `…spring-boot.actuator…` type is Spring. Other JSON (and bodies of any other type that
/// parse as a JSON object) are sniffed: `checks`, or a lowercase pass/warn/fail status, is
/// health+json; `components`/`details`, or an uppercase status, is Spring. Text with
/// `[+]`/`[-]` lines or a `… check passed` / `… check failed` line is readyz. Anything else
/// is plain.
pub fn detect(content_type: Option<&str>, body: &str) -> BodyFormat {
    let essence = content_type.and_then(|c| c.split(';').next()).map(|c| c.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/health+json") => return BodyFormat::HealthJson,
        Some(c) if c.contains("spring-boot.actuator") => return BodyFormat::Spring,
        _ => {}
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        let status = map.get("status").and_then(|s| s.as_str());
        if map.get("checks").is_some_and(|c| c.is_object()) {
            return BodyFormat::HealthJson;
        }
        if ["components", "details"].iter().any(|k| map.get(*k).is_some_and(|c| c.is_object())) {
            return BodyFormat::Spring;
        }
        return match status {
            Some(s) if health_json_state(s).is_some() && s == s.to_ascii_lowercase() => BodyFormat::HealthJson,
            Some(s) if !s.is_empty() && s == s.to_ascii_uppercase() => BodyFormat::Spring,
            _ => BodyFormat::Plain,
        };
    }
    let readyz = body.lines().map(str::trim).any(|l| {
        l.starts_with("[+]") || l.starts_with("[-]") || l.ends_with(" check passed") || l.ends_with(" check failed")
    });
    if readyz { BodyFormat::Readyz } else { BodyFormat::Plain }
}

/// A body reader: `Ok(Some((state, detail)))`, `Ok(None)` for "judge by the code", or
/// `Err(why)` when the body is not of the format.
type Read = Result<Option<(HealthState, String)>, String>;

fn health_json_state(status: &str) -> Option<HealthState> {
    match status.to_ascii_lowercase().as_str() {
        // The draft also allows ok/up and error/down for pass and fail.
        "pass" | "ok" | "up" => Some(HealthState::Up),
        "warn" => Some(HealthState::Degraded),
        "fail" | "error" | "down" => Some(HealthState::Down),
        _ => None,
    }
}

fn json_object(body: &str, what: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("the body is JSON but not an object, expected {what}")),
        Err(_) if body.trim().is_empty() => Err(format!("the body is empty, expected {what}")),
        Err(_) => Err(format!("the body is not JSON, expected {what}: {}", snippet(body, 40))),
    }
}

/// `application/health+json`: the top-level `status` decides; checks that do not pass are
/// named in the detail (`warn: db:responseTime`), with their `output` when they have one.
fn read_health_json(body: &str) -> Read {
    let map = json_object(body, "application/health+json")?;
    let Some(status) = map.get("status").and_then(|s| s.as_str()) else {
        return Err("the application/health+json body has no \"status\"".into());
    };
    let Some(state) = health_json_state(status) else {
        return Err(format!("unknown application/health+json status {status:?} (expected pass, warn or fail)"));
    };
    let mut failing: Vec<String> = Vec::new();
    if let Some(checks) = map.get("checks").and_then(|c| c.as_object()) {
        for (name, entries) in checks {
            let entries: Vec<&serde_json::Value> = match entries {
                serde_json::Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let bad = entries.iter().find(|e| {
                e.get("status").and_then(|s| s.as_str()).is_some_and(|s| health_json_state(s) != Some(HealthState::Up))
            });
            if let Some(e) = bad {
                match e.get("output").and_then(|o| o.as_str()).filter(|o| !o.is_empty()) {
                    Some(out) => failing.push(format!("{name} ({})", snippet(out, 60))),
                    None => failing.push(name.clone()),
                }
            }
        }
    }
    let detail = if failing.is_empty() { status.to_string() } else { format!("{status}: {}", failing.join(", ")) };
    Ok(Some((state, detail)))
}

/// Spring Boot actuator: UP is up, DOWN and OUT_OF_SERVICE are down; UNKNOWN and custom
/// statuses go by the status code (Spring answers 200 for them by default). Components
/// that are not UP are named by path (`db`, `composite/primary`), with `details.error`.
fn read_spring(body: &str) -> Read {
    let map = json_object(body, "a Spring actuator health body")?;
    let Some(status) = map.get("status").and_then(|s| s.as_str()) else {
        return Err("the Spring actuator body has no \"status\"".into());
    };
    let state = match status.to_ascii_uppercase().as_str() {
        "UP" => Some(HealthState::Up),
        "DOWN" | "OUT_OF_SERVICE" => Some(HealthState::Down),
        _ => None,
    };
    let mut failing = Vec::new();
    spring_failing(&map, "", &mut failing);
    let detail = if failing.is_empty() { status.to_string() } else { format!("{status}: {}", failing.join(", ")) };
    Ok(Some((state.unwrap_or(HealthState::Up), detail)))
}

/// The components of a Spring health object: under `components` (Boot 2.2+), `details`
/// (Boot 2.0/2.1), or at the top level (Boot 1.x), each an object with a `status`.
fn spring_children(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(&String, &serde_json::Map<String, serde_json::Value>)> {
    let mut out = Vec::new();
    for key in ["components", "details"] {
        if let Some(m) = obj.get(key).and_then(|c| c.as_object()) {
            for (name, v) in m {
                if let Some(c) = v.as_object().filter(|c| c.get("status").is_some_and(|s| s.is_string())) {
                    out.push((name, c));
                }
            }
        }
    }
    for (name, v) in obj {
        if matches!(name.as_str(), "status" | "components" | "details") {
            continue;
        }
        if let Some(c) = v.as_object().filter(|c| c.get("status").is_some_and(|s| s.is_string())) {
            out.push((name, c));
        }
    }
    out
}

fn spring_failing(obj: &serde_json::Map<String, serde_json::Value>, path: &str, out: &mut Vec<String>) {
    for (name, c) in spring_children(obj) {
        let status = c.get("status").and_then(|s| s.as_str()).unwrap_or_default();
        if status.eq_ignore_ascii_case("UP") {
            continue;
        }
        let here = if path.is_empty() { name.clone() } else { format!("{path}/{name}") };
        let before = out.len();
        spring_failing(c, &here, out);
        if out.len() == before {
            let error = c.get("details").and_then(|d| d.get("error")).and_then(|e| e.as_str());
            match error {
                Some(e) => out.push(format!("{here} ({})", snippet(e, 60))),
                None => out.push(here),
            }
        }
    }
}

/// Kubernetes `/readyz` (and `/livez`, `/healthz`) text. A `[-]` line or a final
/// `… check failed` is down, naming the failed checks; `… check passed` is up. A body
/// with neither (the terse `ok`) goes by the status code.
fn read_readyz(body: &str) -> Read {
    let mut passed = 0usize;
    let mut failed: Vec<&str> = Vec::new();
    let mut verdict: Option<(bool, &str)> = None;
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("[+]") {
            if !rest.is_empty() {
                passed += 1;
            }
        } else if let Some(rest) = line.strip_prefix("[-]") {
            failed.push(rest.split_whitespace().next().unwrap_or(rest));
        } else if line.ends_with(" check passed") {
            verdict = Some((true, line));
        } else if line.ends_with(" check failed") {
            verdict = Some((false, line));
        }
    }
    let list = |n: usize| if n == 1 { "1 check".to_string() } else { format!("{n} checks") };
    match (verdict, failed.is_empty()) {
        (Some((true, line)), true) if passed > 0 => Ok(Some((HealthState::Up, format!("{line} ({})", list(passed))))),
        (Some((true, line)), true) => Ok(Some((HealthState::Up, line.to_string()))),
        (None, true) if passed > 0 => Ok(Some((HealthState::Up, format!("{} ok", list(passed))))),
        (None, true) => Ok(None),
        (Some((false, line)), true) => Ok(Some((HealthState::Down, line.to_string()))),
        (verdict, false) => {
            let head = verdict.map_or("failed", |(_, l)| l);
            Ok(Some((HealthState::Down, format!("{head}: {}", failed.join(", ")))))
        }
    }
}

/// Shows raw observations of one target the way a Kubernetes probe with
/// `failureThreshold` would (see the module docs for how a failure below it looks).
#[derive(Debug, Clone, PartialEq)]
pub struct FailureThreshold {
    threshold: u32,
    failures: u32,
    /// The state last established by a success or by reaching the threshold.
    established: Option<HealthState>,
}

impl FailureThreshold {
    /// `threshold` consecutive failures before a failure shows; 0 is taken as 1.
    pub fn new(threshold: u32) -> Self {
        FailureThreshold { threshold: threshold.max(1), failures: 0, established: None }
    }

    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// What to show for the newest raw observation.
    pub fn observe(&mut self, raw: HealthObservation) -> HealthObservation {
        if !raw.state.is_failure() {
            self.failures = 0;
            self.established = Some(raw.state);
            return raw;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.threshold {
            self.established = Some(raw.state);
            return raw;
        }
        let detail = format!("{}/{} failures: {}", self.failures, self.threshold, raw.detail);
        HealthObservation { state: self.established.unwrap_or(raw.state), detail, ..raw }
    }
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

    use HealthState::*;

    fn auto(code: u16, ct: &str, body: &str) -> (HealthState, String) {
        read_answer(code, Some(ct), body, &Expect::Success, BodyFormat::Auto)
    }

    #[test]
    fn health_json_pass_warn_fail() {
        assert_eq!(classify(200, r#"{"status":"pass"}"#), (Up, "pass".into()));
        let (s, d) =
            classify(200, r#"{"status":"warn","checks":{"db:latency":[{"status":"warn"}],"cpu":[{"status":"pass"}]}}"#);
        assert_eq!((s, d.as_str()), (Degraded, "warn: db:latency"));
        let body = r#"{"status":"fail","checks":{"db:connections":[{"componentId":"a","status":"pass"},
            {"componentId":"b","status":"fail","output":"too many clients"}],"cache":[{"status":"pass"}]}}"#;
        assert_eq!(
            auto(200, "application/health+json", body),
            (Down, "fail: db:connections (too many clients)".into())
        );
        assert_eq!(
            classify(503, r#"{"status":"fail"}"#),
            (Down, "HTTP 503 (expected 2xx): fail".into()),
            "the code comes first in the detail"
        );
        // The draft's synonyms.
        assert_eq!(auto(200, "application/health+json", r#"{"status":"ok"}"#).0, Up);
        assert_eq!(auto(200, "application/health+json", r#"{"status":"error"}"#).0, Down);
    }

    #[test]
    fn spring_actuator() {
        assert_eq!(classify(200, r#"{"status":"UP"}"#), (Up, "UP".into()));
        let (s, d) = classify(503, r#"{"status":"DOWN","components":{"db":{"status":"DOWN"},"ping":{"status":"UP"}}}"#);
        assert_eq!((s, d.as_str()), (Down, "HTTP 503 (expected 2xx): DOWN: db"));
        // The code is as expected (say a service that answers 200 always): the body decides.
        let (s, d) = auto(200, "application/json", r#"{"status":"OUT_OF_SERVICE"}"#);
        assert_eq!((s, d.as_str()), (Down, "OUT_OF_SERVICE"));
        assert_eq!(classify(200, r#"{"status":"UNKNOWN"}"#), (Up, "UNKNOWN".into()));
        // Nested components, errors, and the Boot 2.0 `details` and 1.x top-level shapes.
        let body = r#"{"status":"DOWN","components":{"db":{"status":"DOWN","components":{
            "primary":{"status":"UP"},"replica":{"status":"DOWN","details":{"error":"Connection refused"}}}},
            "diskSpace":{"status":"UP"},"redis":{"status":"OUT_OF_SERVICE"}}}"#;
        let (s, d) = auto(200, "application/vnd.spring-boot.actuator.v3+json", body);
        assert_eq!((s, d.as_str()), (Down, "DOWN: db/replica (Connection refused), redis"));
        let boot20 = r#"{"status":"DOWN","details":{"db":{"status":"DOWN","details":{"error":"timeout"}}}}"#;
        assert_eq!(classify(200, boot20), (Down, "DOWN: db (timeout)".into()));
        let boot1 = r#"{"status":"DOWN","diskSpace":{"status":"UP","free":1},"mongo":{"status":"DOWN"}}"#;
        assert_eq!(classify(200, boot1), (Down, "DOWN: mongo".into()));
    }

    #[test]
    fn kubernetes_readyz() {
        let ok = "[+]ping ok\n[+]log ok\n[+]etcd ok\nreadyz check passed\n";
        assert_eq!(auto(200, "text/plain; charset=utf-8", ok), (Up, "readyz check passed (3 checks)".into()));
        let failed = "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\n[-]informer-sync failed: reason withheld\n\
                      readyz check failed\n";
        assert_eq!(
            auto(500, "text/plain", failed),
            (Down, "HTTP 500 (expected 2xx): readyz check failed: etcd, informer-sync".into())
        );
        // The terse answer goes by the code; forced readyz on a 200 `ok` is up.
        assert_eq!(auto(200, "text/plain", "ok"), (Up, "HTTP 200 ok".into()));
        let forced = read_answer(200, None, "ok", &Expect::Success, BodyFormat::Readyz);
        assert_eq!(forced, (Up, "HTTP 200 ok".into()));
        assert_eq!(auto(200, "text/plain", "[+]ping ok\nlivez check passed\n").1, "livez check passed (1 check)");
        assert_eq!(auto(200, "text/plain", "[-]ping failed\n").1, "failed: ping");
    }

    #[test]
    fn plain_text_goes_by_status_code() {
        assert_eq!(classify(200, "ok\n"), (Up, "HTTP 200 ok".into()));
        assert_eq!(classify(204, ""), (Up, "HTTP 204".into()));
        assert_eq!(classify(500, ""), (Down, "HTTP 500 (expected 2xx)".into()));
        // JSON without a status is plain too.
        assert_eq!(classify(200, r#"{"healthy":true}"#), (Up, r#"HTTP 200 {"healthy":true}"#.into()));
    }

    #[test]
    fn a_pass_body_on_a_5xx_is_down() {
        assert_eq!(classify(503, r#"{"status":"pass"}"#).0, Down);
    }

    #[test]
    fn expected_status_codes() {
        let e: Expect = "204".parse().unwrap();
        assert_eq!(read_answer(200, None, "ok", &e, BodyFormat::Auto), (Down, "HTTP 200 (expected 204) ok".into()));
        assert_eq!(read_answer(204, None, "", &e, BodyFormat::Auto), (Up, "HTTP 204".into()));
        let e: Expect = "200, 401".parse().unwrap();
        assert_eq!(e, Expect::Codes(vec![200, 401]));
        assert_eq!(e.to_string(), "200 or 401");
        assert_eq!(read_answer(401, None, "login", &e, BodyFormat::Plain).0, Up);
        assert_eq!("2XX".parse::<Expect>(), Ok(Expect::Success));
        assert!("20x".parse::<Expect>().unwrap_err().contains("\"20x\""));
        assert!("700".parse::<Expect>().is_err());
        assert!(" ".parse::<Expect>().unwrap_err().contains("empty"));
        assert!(Expect::code(302).lists(302) && !Expect::Success.lists(200));
    }

    #[test]
    fn formats_are_detected_by_content_type_then_by_sniffing() {
        use BodyFormat::*;
        assert_eq!(detect(Some("application/health+json"), "not even json"), HealthJson);
        assert_eq!(detect(Some("application/vnd.spring-boot.actuator.v3+json"), "{}"), Spring);
        assert_eq!(detect(Some("application/json"), r#"{"status":"pass"}"#), HealthJson);
        assert_eq!(detect(Some("application/json"), r#"{"status":"UP"}"#), Spring);
        assert_eq!(detect(None, r#"{"status":"up","checks":{}}"#), HealthJson);
        assert_eq!(detect(None, r#"{"status":"up","components":{}}"#), Spring);
        assert_eq!(detect(Some("text/plain"), r#"{"status":"UP"}"#), Spring, "mislabelled JSON is sniffed");
        assert_eq!(detect(Some("text/plain"), "[+]ping ok\n"), Readyz);
        assert_eq!(detect(None, "healthz check passed"), Readyz);
        assert_eq!(detect(Some("text/html"), "<html>login</html>"), Plain);
        assert_eq!(detect(None, r#"{"status":"green"}"#), Plain);
        assert_eq!("readyz".parse::<BodyFormat>(), Ok(Readyz));
        assert!("xml".parse::<BodyFormat>().unwrap_err().contains("auto, health+json, spring, readyz, plain"));
    }

    #[test]
    fn a_body_not_of_the_forced_format_is_down() {
        let e = Expect::Success;
        let (s, d) = read_answer(200, Some("text/plain"), "sign in", &e, BodyFormat::HealthJson);
        assert_eq!(
            (s, d.as_str()),
            (Down, "HTTP 200, but the body is not JSON, expected application/health+json: sign in")
        );
        let (s, d) = read_answer(200, None, r#"{"up":true}"#, &e, BodyFormat::Spring);
        assert_eq!((s, d.as_str()), (Down, "HTTP 200, but the Spring actuator body has no \"status\""));
        let (s, d) = read_answer(200, None, r#"{"status":"green"}"#, &e, BodyFormat::HealthJson);
        assert_eq!(s, Down);
        assert!(d.contains("unknown application/health+json status \"green\""), "{d}");
        // Forced plain reads nothing into a body.
        assert_eq!(read_answer(200, None, r#"{"status":"fail"}"#, &e, BodyFormat::Plain).0, Up);
    }

    #[test]
    fn a_2xx_html_answer_is_degraded_where_json_is_read() {
        let e = Expect::Success;
        let login = "\n  <!DOCTYPE html><html><body><form>Sign in</form></body></html>";
        let want = (Degraded, "HTTP 200: HTML answer: a login page or wrong URL?".to_string());
        for (format, ct) in [
            (BodyFormat::Auto, Some("text/html; charset=utf-8")),
            (BodyFormat::Auto, None),
            (BodyFormat::Auto, Some("application/json")),
            (BodyFormat::HealthJson, Some("text/html")),
            (BodyFormat::Spring, None),
        ] {
            assert_eq!(read_answer(200, ct, login, &e, format), want, "{format:?} {ct:?}");
        }
        assert_eq!(read_answer(200, Some("text/html"), "<p>ok</p>", &e, BodyFormat::Auto).0, Degraded);
        // Not HTML: text merely typed so, or an answer whose code already says it is down.
        assert_eq!(read_answer(200, Some("text/html"), "ok", &e, BodyFormat::Auto), (Up, "HTTP 200 ok".into()));
        assert_eq!(read_answer(503, Some("text/html"), login, &e, BodyFormat::Auto).0, Down);
        // Plain and readyz go by the code and their own lines.
        assert_eq!(read_answer(200, Some("text/html"), login, &e, BodyFormat::Plain).0, Up);
        assert_eq!(read_answer(200, Some("text/html"), login, &e, BodyFormat::Readyz).0, Up);
    }

    #[test]
    fn a_cut_body_says_it_was_over_the_limit() {
        let e = Expect::Success;
        let start = format!("{{\"status\":\"pass\",\"pad\":\"{}", "x".repeat(100));
        for format in [BodyFormat::Auto, BodyFormat::HealthJson, BodyFormat::Spring, BodyFormat::Readyz] {
            let (s, d) = read_cut_answer(200, Some("application/json"), &start, Some(65536), &e, format);
            assert_eq!((s, d.as_str()), (Degraded, "HTTP 200, but the body is over 64 KiB: not read"), "{format:?}");
            assert!(!d.contains("JSON"), "{d}");
        }
        assert_eq!(
            read_cut_answer(200, None, "ok", Some(1000), &e, BodyFormat::Auto).1,
            "HTTP 200, but the body is over 1000 bytes: not read"
        );
        assert_eq!(read_cut_answer(200, None, &start, Some(65536), &e, BodyFormat::Plain).0, Up);
        assert_eq!(read_cut_answer(500, None, &start, Some(65536), &e, BodyFormat::Auto).0, Down);
    }

    fn obs(state: HealthState, detail: &str) -> HealthObservation {
        HealthObservation { state, latency_ms: Some(3), code: Some(200), detail: detail.into() }
    }

    fn shown(t: &mut FailureThreshold, state: HealthState, detail: &str) -> (HealthState, String) {
        let o = t.observe(obs(state, detail));
        (o.state, o.detail)
    }

    #[test]
    fn failures_below_the_threshold_keep_the_established_state() {
        let mut t = FailureThreshold::new(3);
        assert_eq!(shown(&mut t, Up, "pass"), (Up, "pass".into()));
        assert_eq!(shown(&mut t, Unreachable, "connection refused"), (Up, "1/3 failures: connection refused".into()));
        assert_eq!(shown(&mut t, Down, "HTTP 503"), (Up, "2/3 failures: HTTP 503".into()));
        assert_eq!(t.failures(), 2);
        assert_eq!(shown(&mut t, Down, "HTTP 503"), (Down, "HTTP 503".into()));
        assert_eq!(shown(&mut t, Unreachable, "timeout after 2s"), (Unreachable, "timeout after 2s".into()));
        // One success resets the count and shows at once.
        assert_eq!(shown(&mut t, Up, "pass"), (Up, "pass".into()));
        assert_eq!(t.failures(), 0);
        assert_eq!(shown(&mut t, Down, "fail"), (Up, "1/3 failures: fail".into()));
        // Degraded is a success: it resets the count and is held through a later blip.
        assert_eq!(shown(&mut t, Degraded, "warn"), (Degraded, "warn".into()));
        assert_eq!(shown(&mut t, Down, "fail"), (Degraded, "1/3 failures: fail".into()));
    }

    #[test]
    fn with_nothing_established_failures_show_as_they_are_with_the_count() {
        let mut t = FailureThreshold::new(2);
        assert_eq!(
            shown(&mut t, Unreachable, "connection refused"),
            (Unreachable, "1/2 failures: connection refused".into())
        );
        assert_eq!(shown(&mut t, Down, "HTTP 500"), (Down, "HTTP 500".into()));
        // Once down is established, a blip of up-then-down holds the up.
        assert_eq!(shown(&mut t, Up, "ok"), (Up, "ok".into()));
        assert_eq!(shown(&mut t, Down, "HTTP 500"), (Up, "1/2 failures: HTTP 500".into()));
    }

    #[test]
    fn a_threshold_of_one_or_zero_shows_every_failure() {
        for n in [0, 1] {
            let mut t = FailureThreshold::new(n);
            assert_eq!(t.threshold(), 1);
            assert_eq!(shown(&mut t, Up, "ok"), (Up, "ok".into()));
            assert_eq!(shown(&mut t, Down, "fail"), (Down, "fail".into()));
        }
        // The failed attempt's code and latency are kept below the threshold.
        let mut t = FailureThreshold::new(5);
        t.observe(obs(Up, "ok"));
        let o = t.observe(HealthObservation { state: Down, latency_ms: Some(9), code: Some(503), detail: "x".into() });
        assert_eq!((o.state, o.latency_ms, o.code), (Up, Some(9), Some(503)));
    }
}

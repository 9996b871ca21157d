//! `[traffic]` and `[[actuator]]`: the stages blue goes through, how long each must soak, and what
//! actually moves traffic.
//!
//! ```toml
//! [traffic]
//! stages = [10, 25, 50, 75, 100]
//! soak = "30m"                 # or soaks = ["30m", "30m", "1h", "1h", "0s"], one per stage
//! stabilization = "24h"
//! soak_on = "healthy"          # or "wall": only time blue was seen healthy counts (default)
//! soak_reset = "pause"         # or "restart": any unhealthy evaluation starts the soak again
//! override_min_chars = 10      # an override reason says why in at least this many characters
//! override_pattern = '^[A-Z]+-[0-9]+'   # or: it must match this (a change ticket)
//!
//! [[actuator]]
//! kind = "webhook"
//! url = "http://router/admin/weights"
//! body = '{"blue":{blue},"green":{green}}'
//! read_url = "http://router/admin/weights"
//! ```

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Validator};
use crate::actuators::ActuatorSpec;
use crate::domain::time::parse_duration_ms;
use crate::domain::traffic::{OverrideRule, SoakOn, SoakPolicy, SoakReset, Stage, TrafficSpec};

/// The `{fleet_admin}` placeholder: the demo fleet's admin base URL, known only at run time
/// (`cutover demo` fills it in; anywhere else it is an error to leave it).
pub const FLEET_ADMIN: &str = "{fleet_admin}";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub stages: Option<Spanned<Vec<i64>>>,
    pub soak: Option<Spanned<String>>,
    pub soaks: Option<Spanned<Vec<String>>>,
    pub stabilization: Option<Spanned<String>>,
    /// `"healthy"` (default) or `"wall"`.
    pub soak_on: Option<Spanned<String>>,
    /// `"pause"` (default) or `"restart"`.
    pub soak_reset: Option<Spanned<String>>,
    pub override_min_chars: Option<Spanned<i64>>,
    pub override_pattern: Option<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn traffic(&self, raw: Option<&Spanned<RawTraffic>>) -> Result<TrafficSpec, ConfigError> {
        let default = TrafficSpec::default();
        let Some(raw) = raw else { return Ok(default) };
        let whole = raw.span();
        let raw = raw.get_ref();
        let percents: Vec<u8> = match &raw.stages {
            None => default.percents(),
            Some(s) => {
                let mut out = Vec::new();
                for p in s.get_ref() {
                    match u8::try_from(*p) {
                        Ok(p) => out.push(p),
                        Err(_) => {
                            let msg = format!("{p} is not a percentage from 1 to 100");
                            return self.err(s.span(), "traffic.stages".into(), msg);
                        }
                    }
                }
                out
            }
        };
        let ms = |v: &Spanned<String>, key: &str| -> Result<i64, ConfigError> {
            match parse_duration_ms(v.get_ref()) {
                Ok(ms) if ms >= 0 => Ok(ms),
                Ok(_) => self.err(v.span(), key.into(), "must not be negative".into()),
                Err(e) => self.err(v.span(), key.into(), e),
            }
        };
        let soaks: Vec<i64> = match (&raw.soak, &raw.soaks) {
            (Some(s), Some(_)) => {
                return self.err(s.span(), "traffic.soak".into(), "give `soak` or `soaks`, not both".into());
            }
            (Some(s), None) => vec![ms(s, "traffic.soak")?; percents.len()],
            (None, Some(list)) => {
                if list.get_ref().len() != percents.len() {
                    let msg = format!(
                        "{} soak times for {} stages; give one per stage",
                        list.get_ref().len(),
                        percents.len()
                    );
                    return self.err(list.span(), "traffic.soaks".into(), msg);
                }
                let mut out = Vec::new();
                for text in list.get_ref() {
                    let v = Spanned::new(list.span(), text.clone());
                    out.push(ms(&v, "traffic.soaks")?);
                }
                out
            }
            (None, None) => vec![default.stages[0].soak_ms; percents.len()],
        };
        let stabilization_ms = match &raw.stabilization {
            Some(s) => ms(s, "traffic.stabilization")?,
            None => default.stabilization_ms,
        };
        let spec = TrafficSpec {
            stages: percents.iter().zip(soaks).map(|(p, soak_ms)| Stage { blue_percent: *p, soak_ms }).collect(),
            stabilization_ms,
        };
        if let Err(e) = spec.validate() {
            let span = raw.stages.as_ref().map_or(whole, |s| s.span());
            return self.err(span, "traffic.stages".into(), e.to_string());
        }
        Ok(spec)
    }

    /// `soak_on`, `soak_reset`, `override_min_chars`, `override_pattern`.
    pub(super) fn traffic_policy(
        &self,
        raw: Option<&Spanned<RawTraffic>>,
        max_gap_ms: i64,
    ) -> Result<(SoakPolicy, OverrideRule), ConfigError> {
        let mut soak = SoakPolicy { max_gap_ms, ..SoakPolicy::default() };
        let mut rule = OverrideRule::default();
        let Some(raw) = raw else { return Ok((soak, rule)) };
        let raw = raw.get_ref();
        if let Some(v) = &raw.soak_on {
            soak.on = match v.get_ref().as_str() {
                "healthy" => SoakOn::Healthy,
                "wall" => SoakOn::Wall,
                other => {
                    let msg = format!("expected \"healthy\" or \"wall\", got {other:?}");
                    return self.err(v.span(), "traffic.soak_on".into(), msg);
                }
            };
        }
        if let Some(v) = &raw.soak_reset {
            soak.reset = match v.get_ref().as_str() {
                "pause" => SoakReset::Pause,
                "restart" => SoakReset::Restart,
                other => {
                    let msg = format!("expected \"pause\" or \"restart\", got {other:?}");
                    return self.err(v.span(), "traffic.soak_reset".into(), msg);
                }
            };
        }
        if let Some(v) = &raw.override_min_chars {
            match usize::try_from(*v.get_ref()) {
                Ok(n) if n >= 1 => rule.min_chars = n,
                _ => {
                    let msg = format!("{} is not a length of at least 1", v.get_ref());
                    return self.err(v.span(), "traffic.override_min_chars".into(), msg);
                }
            }
        }
        if let Some(v) = &raw.override_pattern {
            if let Err(e) = regex::Regex::new(v.get_ref()) {
                let msg = format!("not a regular expression: {e}");
                return self.err(v.span(), "traffic.override_pattern".into(), msg);
            }
            rule.pattern = Some(v.get_ref().clone());
        }
        Ok((soak, rule))
    }

    /// Each `[[actuator]]` read as an [`ActuatorSpec`] and built once to check it (URLs, durations,
    /// argv); `{fleet_admin}` is checked with a stand-in URL.
    pub(super) fn actuators(&self, raw: &[Spanned<toml::Value>]) -> Result<Vec<ActuatorSpec>, ConfigError> {
        let mut out = Vec::new();
        for (i, v) in raw.iter().enumerate() {
            let key = format!("actuator[{i}]");
            let spec = match ActuatorSpec::deserialize(v.get_ref().clone()) {
                Ok(s) => s,
                Err(e) => {
                    let msg = format!(
                        "{}; kinds: haproxy (socket, backend, blue_server, green_server), webhook (method, url, \
                         headers, body, read_url), exec (argv, read_argv, timeout), manual (instruction)",
                        e.message().trim()
                    );
                    return self.err(v.span(), key, msg);
                }
            };
            if let ActuatorSpec::Haproxy(h) = &spec
                && let Err(e) = crate::actuators::SocketAddress::parse(&h.socket)
            {
                let k = format!("{key}.socket");
                self.note(self.value_span(&k).unwrap_or(v.span()), k, e.to_string());
                continue;
            }
            if let Err(e) = fill_fleet_admin(&spec, "http://127.0.0.1:1/admin").build() {
                return self.err(v.span(), key, e.to_string());
            }
            for (field, template) in templates(&spec) {
                for name in unknown_placeholders(template) {
                    let k = format!("{key}.{field}");
                    // The placeholder itself, inside the value's span.
                    let span = self.value_span(&k).map_or(v.span(), |s| {
                        let at = self.text[s.clone()].find(&format!("{{{name}}}")).map_or(s.start, |i| s.start + i);
                        at..at + name.len() + 2
                    });
                    let msg = format!(
                        "unknown placeholder {{{name}}} (it would be sent as written); known: {}",
                        PLACEHOLDERS.join(", ")
                    );
                    self.note(span, k, msg);
                }
            }
            out.push(spec);
        }
        Ok(out)
    }
}

/// What a template may hold (see `actuators`), besides the demo's [`FLEET_ADMIN`].
pub const PLACEHOLDERS: [&str; 4] = ["{blue}", "{green}", "{stage}", "{key}"];

/// Every text of the spec that is filled in before use, with its key below the actuator.
fn templates(spec: &ActuatorSpec) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    match spec {
        ActuatorSpec::Webhook(w) => {
            out.push(("url".into(), &w.url));
            out.extend(w.read_url.as_deref().map(|u| ("read_url".into(), u)));
            out.extend(w.body.as_deref().map(|b| ("body".into(), b)));
            out.extend(w.headers.iter().map(|(k, v)| (format!("headers.{k}"), v.as_str())));
        }
        ActuatorSpec::Exec(e) => {
            out.extend(e.argv.iter().enumerate().map(|(i, a)| (format!("argv[{i}]"), a.as_str())));
            let read = e.read_argv.iter().flatten().enumerate();
            out.extend(read.map(|(i, a)| (format!("read_argv[{i}]"), a.as_str())));
        }
        ActuatorSpec::Manual(m) => out.extend(m.instruction.as_deref().map(|t| ("instruction".into(), t))),
        ActuatorSpec::Haproxy(_) => {}
    }
    out
}

/// The names in `{name}` (a word in braces) that are not placeholders; a JSON body's own
/// braces (`{"blue":…}`) are not words and are left alone.
pub fn unknown_placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(['}', '{']) else { break };
        let name = &rest[..close];
        let word = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if rest[close..].starts_with('}') && word {
            let placeholder = format!("{{{name}}}");
            if !PLACEHOLDERS.contains(&placeholder.as_str()) && placeholder != FLEET_ADMIN {
                out.push(name);
            }
        }
        rest = &rest[close..];
    }
    out
}

/// The spec with `{fleet_admin}` replaced by `admin` in every text field.
pub fn fill_fleet_admin(spec: &ActuatorSpec, admin: &str) -> ActuatorSpec {
    let f = |s: &str| s.replace(FLEET_ADMIN, admin);
    let fo = |s: &Option<String>| s.as_deref().map(f);
    match spec {
        ActuatorSpec::Webhook(w) => {
            let mut w = w.clone();
            w.url = f(&w.url);
            w.read_url = fo(&w.read_url);
            w.body = fo(&w.body);
            w.headers = w.headers.iter().map(|(k, v)| (k.clone(), f(v))).collect();
            ActuatorSpec::Webhook(w)
        }
        ActuatorSpec::Exec(e) => {
            let mut e = e.clone();
            e.argv = e.argv.iter().map(|a| f(a)).collect();
            e.read_argv = e.read_argv.as_ref().map(|r| r.iter().map(|a| f(a)).collect());
            ActuatorSpec::Exec(e)
        }
        other => other.clone(),
    }
}

/// Whether any text of the spec still holds `{fleet_admin}`.
pub fn needs_fleet_admin(spec: &ActuatorSpec) -> bool {
    fill_fleet_admin(spec, "") != *spec
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::actuators::ActuatorSpec;
    use crate::config::parse;
    use crate::domain::traffic::{HOUR_MS, MINUTE_MS};

    fn parse_str(text: &str) -> Result<crate::config::Config, crate::config::ConfigError> {
        parse(text, Path::new("t.toml"), None)
    }

    #[test]
    fn stages_soaks_and_stabilization() {
        let c = parse_str("").unwrap();
        assert_eq!(c.traffic, crate::domain::traffic::TrafficSpec::default());
        let c =
            parse_str("[traffic]\nstages = [25, 100]\nsoaks = [\"10m\", \"0s\"]\nstabilization = \"2h\"\n").unwrap();
        assert_eq!(c.traffic.percents(), vec![25, 100]);
        assert_eq!(c.traffic.stages[0].soak_ms, 10 * MINUTE_MS);
        assert_eq!(c.traffic.stabilization_ms, 2 * HOUR_MS);
        let c = parse_str("[traffic]\nsoak = \"45s\"\n").unwrap();
        assert!(c.traffic.stages.iter().all(|s| s.soak_ms == 45_000));
    }

    #[test]
    fn soak_and_override_policies_are_read_and_checked() {
        use crate::domain::traffic::{OverrideRule, SoakOn, SoakReset};
        let c = parse_str("[signals]\nwindow = \"30s\"\n").unwrap();
        assert_eq!((c.soak.on, c.soak.reset, c.soak.max_gap_ms), (SoakOn::Healthy, SoakReset::Pause, 30_000));
        assert_eq!(c.override_rule, OverrideRule::default());
        assert_eq!(c.traffic_state().soak_policy, c.soak);
        let c = parse_str(
            "[traffic]\nsoak_on = \"wall\"\nsoak_reset = \"restart\"\noverride_min_chars = 4\n\
             override_pattern = '^[A-Z]+-[0-9]+'\n",
        )
        .unwrap();
        assert_eq!((c.soak.on, c.soak.reset), (SoakOn::Wall, SoakReset::Restart));
        assert_eq!(c.override_rule, OverrideRule { min_chars: 4, pattern: Some("^[A-Z]+-[0-9]+".into()) });
        let e = parse_str("[traffic]\nsoak_on = \"sometimes\"\n").unwrap_err();
        assert_eq!(e.to_string(), "t.toml:2:11: traffic.soak_on: expected \"healthy\" or \"wall\", got \"sometimes\"");
        let e = parse_str("[traffic]\nsoak_reset = \"never\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:14: traffic.soak_reset: expected \"pause\""), "{e}");
        let e = parse_str("[traffic]\noverride_pattern = '(['\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:20: traffic.override_pattern: not a regular expression"), "{e}");
        let e = parse_str("[traffic]\noverride_min_chars = 0\n").unwrap_err();
        assert!(e.to_string().contains("traffic.override_min_chars: 0 is not a length of at least 1"), "{e}");
        let slo = "[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\ngate = false\n";
        assert_eq!(parse_str(slo).unwrap().slos[0].gate, Some(false));
    }

    #[test]
    fn bad_traffic_says_where() {
        let e = parse_str("[traffic]\nstages = [10, 50]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.toml:2:10: traffic.stages: the last stage is 50%; a go-live ends with 100% on blue, add a 100% stage"
        );
        let e = parse_str("[traffic]\nstages = [10, 100]\nsoaks = [\"1m\"]\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:3:9: traffic.soaks: 1 soak times for 2 stages"), "{e}");
        let e = parse_str("[traffic]\nsoak = \"soon\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:2:8: traffic.soak:"), "{e}");
        let e = parse_str("[traffic]\nstages = [10, 300]\n").unwrap_err();
        assert!(e.to_string().contains("300 is not a percentage"), "{e}");
        let e = parse_str("[traffic]\nsoke = \"1m\"\n").unwrap_err();
        assert!(e.to_string().contains("soke"), "{e}");
    }

    #[test]
    fn actuators_are_read_and_checked_with_positions() {
        let text = "[[actuator]]\nkind = \"webhook\"\nurl = \"{fleet_admin}/weights\"\nbody = '{\"blue\":{blue}}'\n\
                    [[actuator]]\nkind = \"manual\"\ninstruction = \"move the F5 pool\"\n";
        let c = parse_str(text).unwrap();
        assert_eq!(c.actuators.len(), 2);
        assert!(super::needs_fleet_admin(&c.actuators[0]));
        let filled = super::fill_fleet_admin(&c.actuators[0], "http://127.0.0.1:9/admin");
        assert!(matches!(&filled, ActuatorSpec::Webhook(w) if w.url == "http://127.0.0.1:9/admin/weights"));
        let e = parse_str("\n[[actuator]]\nkind = \"webhook\"\nurl = \"ftp://x\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("actuator[0]"));
        assert_eq!(e.position.map(|p| p.0), Some(2), "the [[actuator]] line: {e}");
        assert!(e.message.contains("scheme"), "{e}");
        let e = parse_str("[[actuator]]\nkind = \"haproxy\"\nsocket = \"x:1\"\nbakend = \"b\"\n").unwrap_err();
        assert!(e.message.contains("bakend"), "{e}");
        let e = parse_str("[[actuator]]\nkind = \"haproxy\"\nsocket = \"ipv4@127.0.0.1:99999\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("actuator[0].socket"), "{e}");
        assert_eq!(e.position, Some((3, 10)), "{e}");
        assert!(e.message.contains("port 99999 is out of range"), "{e}");
        let e = parse_str("[[actuator]]\nkind = \"teleport\"\n").unwrap_err();
        assert!(e.message.contains("kinds: haproxy"), "{e}");
    }

    #[test]
    fn unknown_placeholders_are_errors_at_the_placeholder() {
        assert_eq!(super::unknown_placeholders(r#"{"blue":{blue},"green":{green},"s":"{stage}"}"#), Vec::<&str>::new());
        assert_eq!(super::unknown_placeholders("--b={blu} {key} {fleet_admin} {stge}"), vec!["blu", "stge"]);
        assert_eq!(super::unknown_placeholders("{{blue}} { } {1x} {a b}"), Vec::<&str>::new());
        let text = "[[actuator]]\nkind = \"exec\"\nargv = [\"set\", \"--blue={blu}\"]\n\
                    [[actuator]]\nkind = \"webhook\"\nurl = \"http://r/w?s={stge}\"\nheaders = { X-Stage = \"{stage}\" }\n";
        let errors = crate::config::parse_all(text, Path::new("t.toml"), None).unwrap_err();
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("t.toml:3:24: actuator[0].argv[1]: unknown placeholder {blu}"), "{shown:?}");
        assert!(shown[0].ends_with("known: {blue}, {green}, {stage}, {key}"), "{shown:?}");
        assert!(shown[1].starts_with("t.toml:6:21: actuator[1].url: unknown placeholder {stge}"), "{shown:?}");
    }
}

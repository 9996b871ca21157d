//! Actuator settings as plain data (what a config file holds), and building actuators from them.
//!
//! ```toml
//! [[actuator]]
//! kind = "haproxy"
//! socket = "ipv4@127.0.0.1:9999"
//! backend = "app"
//! blue_server = "blue"
//! green_server = "green"
//!
//! [[actuator]]
//! kind = "webhook"
//! method = "PUT"
//! url = "http://127.0.0.1:8080/admin/weights"
//! headers = { "Content-Type" = "application/json" }
//! body = '{"blue":{blue},"green":{green}}'
//! read_url = "http://127.0.0.1:8080/admin/weights"
//!
//! [[actuator]]
//! kind = "exec"
//! argv = ["/usr/local/bin/set-split", "--blue", "{blue}", "--green", "{green}"]
//! timeout = "30s"
//!
//! [[actuator]]
//! kind = "manual"
//! instruction = "Move the F5 pool to {blue}/{green}, then confirm."
//! ```
//!
//! Durations are written like `500ms`, `3s`, `1m`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Actuator, ActuatorError, Exec, Haproxy, Manual, Webhook};
use crate::domain::time::parse_duration_ms;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ActuatorSpec {
    Haproxy(HaproxySpec),
    Webhook(WebhookSpec),
    Exec(ExecSpec),
    Manual(ManualSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxySpec {
    pub socket: String,
    #[serde(default = "default_backend")]
    pub backend: String,
    #[serde(default = "default_blue")]
    pub blue_server: String,
    #[serde(default = "default_green")]
    pub green_server: String,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    /// The URL itself is a credential (a chat or incident hook with its token in the path):
    /// it is masked wherever cutover would print it.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub read_url: Option<String>,
    #[serde(default)]
    pub idempotency_header: Option<String>,
    #[serde(default)]
    pub tries: Option<u32>,
    #[serde(default)]
    pub backoff: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    pub argv: Vec<String>,
    #[serde(default)]
    pub read_argv: Option<Vec<String>>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualSpec {
    #[serde(default)]
    pub instruction: Option<String>,
}

fn default_backend() -> String {
    "app".into()
}
fn default_blue() -> String {
    "blue".into()
}
fn default_green() -> String {
    "green".into()
}
fn default_method() -> String {
    "PUT".into()
}

fn duration(field: &str, text: &Option<String>) -> Result<Option<Duration>, ActuatorError> {
    match text {
        None => Ok(None),
        Some(t) => match parse_duration_ms(t) {
            Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms as u64))),
            Ok(_) => Err(ActuatorError::Config(format!("{field} = {t:?}: must be longer than 0"))),
            Err(e) => Err(ActuatorError::Config(format!("{field}: {e}"))),
        },
    }
}

impl ActuatorSpec {
    pub fn build(&self) -> Result<Actuator, ActuatorError> {
        Ok(match self {
            ActuatorSpec::Haproxy(s) => {
                let mut a = Haproxy::new(&s.socket, &s.backend, &s.blue_server, &s.green_server)?;
                if let Some(t) = duration("timeout", &s.timeout)? {
                    a = a.with_timeout(t);
                }
                Actuator::Haproxy(a)
            }
            ActuatorSpec::Webhook(s) => {
                let mut a = Webhook::new(&s.method, &s.url)?;
                for (k, v) in &s.headers {
                    a = a.header(k, v)?;
                }
                if let Some(b) = &s.body {
                    a = a.body(b);
                }
                if let Some(u) = &s.read_url {
                    a = a.read_url(u)?;
                }
                if let Some(h) = &s.idempotency_header {
                    a = a.idempotency_header(h)?;
                }
                if let Some(t) = s.tries {
                    a = a.tries(t);
                }
                if let Some(b) = duration("backoff", &s.backoff)? {
                    a = a.backoff(b);
                }
                if let Some(t) = duration("timeout", &s.timeout)? {
                    a = a.timeout(t);
                }
                Actuator::Webhook(a)
            }
            ActuatorSpec::Exec(s) => {
                let mut a = Exec::new(s.argv.clone())?;
                if let Some(r) = &s.read_argv {
                    a = a.read_argv(r.clone())?;
                }
                if let Some(t) = duration("timeout", &s.timeout)? {
                    a = a.timeout(t);
                }
                Actuator::Exec(a)
            }
            ActuatorSpec::Manual(s) => Actuator::Manual(Manual::new(s.instruction.as_deref())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        actuator: Vec<ActuatorSpec>,
    }

    #[test]
    fn the_documented_example_builds() {
        let doc = include_str!("spec.rs");
        let toml_text: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start().to_string() + "\n")
            .collect();
        let file: File = toml::from_str(&toml_text).unwrap();
        let names: Vec<String> = file.actuator.iter().map(|s| s.build().unwrap().name()).collect();
        assert_eq!(
            names,
            [
                "haproxy ipv4@127.0.0.1:9999 app/blue,green",
                "webhook PUT http://127.0.0.1:8080/admin/weights",
                "exec /usr/local/bin/set-split",
                "manual"
            ]
        );
    }

    #[test]
    fn mistakes_are_reported() {
        let bad: Result<File, _> =
            toml::from_str("[[actuator]]\nkind = \"haproxy\"\nsocket = \"x:1\"\nbakend = \"b\"\n");
        assert!(bad.err().unwrap().to_string().contains("bakend"));
        let spec =
            ActuatorSpec::Exec(ExecSpec { argv: vec!["x".into()], read_argv: None, timeout: Some("soon".into()) });
        assert!(spec.build().unwrap_err().to_string().contains("not a duration"));
        let spec = ActuatorSpec::Exec(ExecSpec { argv: vec![], read_argv: None, timeout: None });
        assert!(spec.build().unwrap_err().to_string().contains("argv is empty"));
    }
}

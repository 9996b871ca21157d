//! `[prometheus]`, `[vars.*]` and the PromQL side of `[[slo]]`: where Prometheus
//! is, how to authenticate, and each SLO's query resolved for both environments.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::raw::{RawPrometheus, RawSlo, RawVars};
use super::{ConfigError, Validator};
use crate::domain::env::Env;
use crate::domain::sli::SliKind;
use crate::domain::time::parse_duration_ms;
use crate::sources::prometheus::{
    Auth, PromConfig, Reduce, SecretRef, env_vars, go_live_count_query, go_live_query, resolve,
};

/// Prometheus as configured, with the alert filter.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusConfig {
    pub prom: PromConfig,
    /// `None`: alerts are not polled.
    pub alert_labels: Option<BTreeMap<String, String>>,
}

/// An SLO read from Prometheus: the query for each environment.
#[derive(Debug, Clone, PartialEq)]
pub struct PromQuery {
    /// As written, with `{env}` and other variables.
    pub template: String,
    /// Resolved for blue and green.
    pub resolved: [String; 2],
    pub reduce: Option<Reduce>,
    /// The count a minimum is checked against (`count_query`, or the go-live count for the
    /// go-live query), resolved for blue and green; `None` when there is none.
    pub count: Option<[String; 2]>,
}

impl Validator<'_> {
    pub(super) fn prometheus(
        &self,
        raw: &RawPrometheus,
        default_timeout: Duration,
        base: Option<&Path>,
    ) -> Result<PrometheusConfig, ConfigError> {
        let url = raw.url.get_ref();
        self.url(&raw.url, "prometheus.url".into())?;
        let mut prom = PromConfig::new(url.trim_end_matches('/'));
        prom.timeout = match &raw.timeout {
            None => default_timeout,
            Some(t) => match parse_duration_ms(t.get_ref()) {
                Ok(ms) if ms > 0 => Duration::from_millis(ms as u64),
                Ok(_) => return self.err(t.span(), "prometheus.timeout".into(), "must be longer than zero".into()),
                Err(e) => return self.err(t.span(), "prometheus.timeout".into(), e),
            },
        };
        let path = |p: &str| match base {
            Some(b) if Path::new(p).is_relative() => b.join(p),
            _ => Path::new(p).to_path_buf(),
        };
        let whole = || raw.url.span();
        let lone_password = [("password_env", &raw.password_env), ("password_file", &raw.password_file)]
            .into_iter()
            .find_map(|(k, v)| v.as_ref().map(|v| (k, v)));
        if let (None, Some((key, v))) = (&raw.username, lone_password) {
            let msg = format!("{key} is the basic-auth password and needs username = \"…\" beside it");
            return self.err(v.span(), format!("prometheus.{key}"), msg);
        }
        prom.auth = match (&raw.token_env, &raw.token_file, &raw.username) {
            (Some(_), Some(_), _) => {
                return self.err(whole(), "prometheus".into(), "give token_env or token_file, not both".into());
            }
            (Some(_) | None, _, Some(_)) if raw.token_env.is_some() || raw.token_file.is_some() => {
                return self.err(whole(), "prometheus".into(), "give a bearer token or a username, not both".into());
            }
            (Some(name), None, None) => Auth::Bearer { token: SecretRef::Env(name.clone()) },
            (None, Some(file), None) => Auth::Bearer { token: SecretRef::File(path(file)) },
            (None, None, Some(user)) => {
                let password = match (&raw.password_env, &raw.password_file) {
                    (Some(e), None) => SecretRef::Env(e.get_ref().clone()),
                    (None, Some(f)) => SecretRef::File(path(f.get_ref())),
                    _ => {
                        let msg = "a username needs password_env or password_file (one of them)".to_string();
                        return self.err(whole(), "prometheus.username".into(), msg);
                    }
                };
                Auth::Basic { username: user.clone(), password }
            }
            (None, None, None) => Auth::None,
            _ => Auth::None,
        };
        prom.headers = raw.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prom.ca_file = raw.ca_file.as_deref().map(path);
        let alert_labels = raw.alerts.unwrap_or(true).then(|| raw.alert_labels.clone());
        Ok(PrometheusConfig { prom, alert_labels })
    }

    /// The query of one SLO, when it is read from Prometheus.
    pub(super) fn prom_query(
        &self,
        s: &RawSlo,
        i: usize,
        sli: SliKind,
        prometheus: bool,
        vars: &RawVars,
    ) -> Result<Option<PromQuery>, ConfigError> {
        let key = |k: &str| format!("slo[{i}].{k}");
        let from_prometheus = match s.source.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None => prometheus || s.query.is_some(),
            Some((_, "prometheus")) => true,
            Some((_, "scrape")) => false,
            Some((v, other)) => {
                let msg = format!("expected \"scrape\" or \"prometheus\", got {other:?}");
                return self.err(v.span(), key("source"), msg);
            }
        };
        if !from_prometheus {
            if let Some(q) = &s.query {
                return self.err(q.span(), key("query"), "a query needs source = \"prometheus\"".into());
            }
            return Ok(None);
        }
        if !prometheus {
            let span = s.source.as_ref().map_or_else(|| s.sli.span(), |v| v.span());
            return self.err(span, key("source"), "reading from Prometheus needs a [prometheus] section".into());
        }
        let (template, span) = match &s.query {
            Some(q) => (q.get_ref().clone(), q.span()),
            None => (go_live_query(sli).to_string(), s.sli.span()),
        };
        let resolve_both = |template: &str, span: std::ops::Range<usize>, k: &str| {
            let mut resolved: [String; 2] = Default::default();
            for env in Env::ALL {
                let extra: HashMap<String, String> = match env {
                    Env::Blue => vars.blue.clone().into_iter().collect(),
                    Env::Green => vars.green.clone().into_iter().collect(),
                };
                match resolve(template, &env_vars(env.key(), &extra)) {
                    Ok(q) => resolved[env.index()] = q,
                    Err(e) => return self.err(span.clone(), key(k), format!("for {env}: {e}")),
                }
            }
            Ok(resolved)
        };
        let resolved = resolve_both(&template, span, "query")?;
        let count = match (&s.count_query, &s.query) {
            (Some(c), _) => Some(resolve_both(c.get_ref(), c.span(), "count_query")?),
            // The go-live query's own count, over the same window and labels.
            (None, None) => go_live_count_query(sli).map(|c| resolve_both(c, s.sli.span(), "sli")).transpose()?,
            (None, Some(_)) => None,
        };
        let reduce = match &s.reduce {
            None => None,
            Some(r) => match r.get_ref().parse::<Reduce>() {
                Ok(x) => Some(x),
                Err(e) => return self.err(r.span(), key("reduce"), e.to_string()),
            },
        };
        Ok(Some(PromQuery { template, resolved, reduce, count }))
    }
}

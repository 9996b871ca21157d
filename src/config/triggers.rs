//! `[triggers]` and `[[trigger]]`: the rollback triggers, written as
//! `condition = "> 5%"`, `"> 1.5x green"`, `"> 1.5x baseline"`, `"outage"` or `"manual"`.

use toml::Spanned;

use super::raw::{RawTrigger, RawTriggers};
use super::{ConfigError, SloConfig, Validator};
use crate::domain::env::Env;
use crate::domain::slo::{Cmp, Objective};
use crate::domain::time::parse_duration_ms;
use crate::domain::trigger::{
    Condition, DEFAULT_OUTAGE_FOR_MS, Direction, Policy, Reference, Tier, TriggerSpec, go_live_defaults,
    go_live_missing_slos,
};

/// The triggers a config asks for, and warnings about defaults it could not build.
pub struct TriggerConfig {
    pub specs: Vec<TriggerSpec>,
    pub auto_rollback: bool,
    pub warnings: Vec<String>,
}

impl Validator<'_> {
    pub(super) fn triggers(&self, head: &RawTriggers, list: &[RawTrigger], slos: &[SloConfig]) -> TriggerConfig {
        let index_of = |name: &str| slos.iter().position(|s| s.spec.name == name);
        let mut specs = Vec::new();
        let mut warnings = Vec::new();
        if head.defaults.unwrap_or(true) {
            specs = go_live_defaults(index_of);
            let missing = go_live_missing_slos(index_of);
            if !missing.is_empty() {
                warnings.push(format!(
                    "the go-live's default triggers need SLOs named {}; those triggers are left out",
                    missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(" and ")
                ));
            }
        }
        for (i, t) in list.iter().enumerate() {
            // Two triggers of one name: the second would silently replace the first.
            if let Some(j) = list[..i].iter().position(|o| o.name.get_ref() == t.name.get_ref()) {
                let msg =
                    format!("trigger[{j}] is already named {:?}; give each trigger its own name", t.name.get_ref());
                self.note(t.name.span(), format!("trigger[{i}].name"), msg);
                continue;
            }
            // A trigger on an SLO that has its own error is not checked further.
            if t.slo.as_ref().is_some_and(|n| self.broken_slos.borrow().contains(n.get_ref())) {
                continue;
            }
            match self.trigger(i, t, slos) {
                Ok(spec) => match specs.iter().position(|s: &TriggerSpec| s.name == spec.name) {
                    // A trigger named like a default replaces it.
                    Some(existing) => specs[existing] = spec,
                    None => specs.push(spec),
                },
                Err(e) => self.errors.borrow_mut().push(e),
            }
        }
        for s in &specs {
            if let Err(e) = s.validate(slos.len()) {
                // At the `[[trigger]]` that wrote it, when one did.
                let msg = format!("trigger {:?}: {e}", s.name);
                match list.iter().position(|t| t.name.get_ref() == &s.name) {
                    Some(i) => self.note(list[i].name.span(), format!("trigger[{i}]"), msg),
                    None => self.errors.borrow_mut().push(ConfigError::file(self.file, msg)),
                }
            }
        }
        TriggerConfig { specs, auto_rollback: head.auto_rollback.unwrap_or(false), warnings }
    }

    /// One `[[trigger]]`.
    fn trigger(&self, i: usize, t: &RawTrigger, slos: &[SloConfig]) -> Result<TriggerSpec, ConfigError> {
        let index_of = |name: &str| slos.iter().position(|s| s.spec.name == name);
        {
            let key = |k: &str| format!("trigger[{i}].{k}");
            let tier = match t.tier.get_ref().as_str() {
                "immediate" => Tier::Immediate,
                "planned" => Tier::Planned,
                other => {
                    let msg = format!("expected \"immediate\" or \"planned\", got {other:?}");
                    return self.err(t.tier.span(), key("tier"), msg);
                }
            };
            let env = match &t.env {
                None => Env::Blue,
                Some(e) => match e.get_ref().as_str() {
                    "blue" => Env::Blue,
                    "green" => Env::Green,
                    other => {
                        return self.err(
                            e.span(),
                            key("env"),
                            format!("expected \"blue\" or \"green\", got {other:?}"),
                        );
                    }
                },
            };
            let slo = || -> Result<usize, ConfigError> {
                let Some(name) = &t.slo else {
                    return self.err(t.condition.span(), key("slo"), "this condition needs `slo = \"<name>\"`".into());
                };
                index_of(name.get_ref()).map_or_else(
                    || {
                        let known: Vec<_> = slos.iter().map(|s| format!("{:?}", s.spec.name)).collect();
                        self.err(
                            name.span(),
                            key("slo"),
                            format!("no SLO named {:?}; known: {}", name.get_ref(), known.join(", ")),
                        )
                    },
                    Ok,
                )
            };
            let condition = self.condition(&t.condition, &key("condition"), env, slo, slos)?;
            let default_for = if matches!(condition, Condition::Outage { .. }) { DEFAULT_OUTAGE_FOR_MS } else { 0 };
            let for_ms = match &t.for_ {
                None => default_for,
                Some(f) => match parse_duration_ms(f.get_ref()) {
                    Ok(ms) => ms,
                    Err(e) => return self.err(f.span(), key("for"), e),
                },
            };
            let mut spec = TriggerSpec::new(t.name.get_ref().clone(), tier, condition, for_ms);
            spec.no_data = self.policy(t.no_data.as_ref(), &key("no_data"))?;
            spec.on_error = self.policy(t.on_error.as_ref(), &key("on_error"))?;
            Ok(spec)
        }
    }

    fn condition(
        &self,
        text: &Spanned<String>,
        key: &str,
        env: Env,
        slo: impl Fn() -> Result<usize, ConfigError>,
        slos: &[SloConfig],
    ) -> Result<Condition, ConfigError> {
        let t = text.get_ref().trim();
        match t {
            "outage" => return Ok(Condition::Outage { env }),
            "manual" => return Ok(Condition::Manual),
            _ => {}
        }
        let bad = |msg: String| self.err(text.span(), key.to_string(), msg);
        // Relative: "> 1.5x green", "< 0.5x baseline".
        if let Some((lhs, reference)) = t.rsplit_once('x') {
            let reference = match reference.trim() {
                "green" | "blue" | "other" => Some(Reference::OtherEnv),
                "baseline" => Some(Reference::Baseline),
                _ => None,
            };
            if let Some(reference) = reference {
                let o: Objective = lhs.trim().parse().map_err(|e: crate::domain::slo::ObjectiveError| {
                    ConfigError::at(self.file, self.text, Some(text.span()), Some(key.into()), e.to_string())
                })?;
                return Ok(Condition::Relative {
                    slo: slo()?,
                    env,
                    cmp: direction(o.cmp),
                    factor: o.threshold,
                    reference,
                });
            }
        }
        let o: Objective = match t.parse() {
            Ok(o) => o,
            Err(e) => {
                return bad(format!(
                    "{e}; a condition is \"> 5%\", \"> 1.5x green\", \"< 0.5x baseline\", \"outage\" or \"manual\""
                ));
            }
        };
        let slo = slo()?;
        if let Some(problem) = super::units::unit_problem(slos[slo].sli, &o, t) {
            return bad(format!("{problem} (the SLO's objective is {:?})", slos[slo].spec.objective.to_string()));
        }
        Ok(Condition::Threshold { slo, env, cmp: direction(o.cmp), value: o.threshold })
    }

    fn policy(&self, value: Option<&Spanned<String>>, key: &str) -> Result<Policy, ConfigError> {
        match value.map(|v| (v, v.get_ref().as_str())) {
            None => Ok(Policy::Hold),
            Some((_, "hold")) => Ok(Policy::Hold),
            Some((_, "reset")) => Ok(Policy::Reset),
            Some((_, "breach")) => Ok(Policy::Breach),
            Some((v, other)) => {
                self.err(v.span(), key.into(), format!("expected \"hold\", \"reset\" or \"breach\", got {other:?}"))
            }
        }
    }
}

fn direction(cmp: Cmp) -> Direction {
    match cmp {
        Cmp::Gt | Cmp::Ge => Direction::Above,
        Cmp::Lt | Cmp::Le => Direction::Below,
    }
}

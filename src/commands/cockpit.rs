//! Turns a config (and, for the demo, a running fleet) into what the loop starts with.

use std::path::{Path, PathBuf};

use crate::app::Setup;
use crate::config::Config;
use crate::domain::cockpit::Cockpit;
use crate::domain::env::Env;
use crate::domain::health::HealthCell;
use crate::domain::slo::SloRow;
use crate::domain::time::format_age;
use crate::keymap::Keymap;
use crate::sources::health::{HealthCheck, HealthTarget};
use crate::sources::plan::SourcePlan;
use crate::sources::prometheus::{CountCheck, PromSlo};
use crate::sources::scrape::{ScrapeConfig, ScrapeTarget};
use crate::store::runbook_file::RunbookFile;
use crate::ui::theme::Theme;

/// Builds the cockpit's starting state and sources. `runbook` is the file ticks are
/// written to (the config's, or the demo's copy).
pub fn setup(config: &Config, runbook: Option<&Path>, demo: bool) -> Setup {
    let mut notices = Vec::new();
    let mut cockpit = Cockpit::new(&config.deployment, &config.label);
    cockpit.env_names = config.env_names.clone();
    cockpit.demo = demo;
    cockpit.slos = config
        .slos
        .iter()
        .map(|s| {
            let mut row = SloRow::new(s.spec.clone());
            // The minimum is part of how the number is made: say it where the derivation is shown.
            let min = match s.min_count {
                0 => String::new(),
                n => format!(", judged from {n} {}", crate::domain::sli::counted(s.sli)),
            };
            row.how = Env::ALL.map(|env| match &s.prom {
                Some(q) => match (&q.count, s.min_count) {
                    (Some(c), n) if n > 0 => {
                        format!("PromQL: {}{min} (count: {})", q.resolved[env.index()], c[env.index()])
                    }
                    _ => format!("PromQL: {}", q.resolved[env.index()]),
                },
                None => {
                    let n = config.targets.iter().filter(|t| t.env == env && t.metrics.is_some()).count();
                    format!(
                        "{} derived from {n} /metrics endpoints over the last {}{min}",
                        s.sli.key(),
                        format_age(config.window.as_secs_f64())
                    )
                }
            });
            row
        })
        .collect();
    cockpit.triggers = crate::domain::trigger::Triggers::new(config.triggers.clone());
    cockpit.auto_rollback = config.auto_rollback;
    cockpit.health_stale_ms = Some(3 * config.interval.as_millis() as i64 + config.timeout.as_millis() as i64);
    // The same name the audit, the controls and the report use.
    cockpit.operator = crate::store::Who::current().short();
    cockpit.utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
    notices.extend(config.warnings.iter().cloned());
    cockpit.links = config.links.clone();
    cockpit.gates = config.gates.clone();
    cockpit.slo_gate = config.slos.iter().map(|s| s.gate).collect();
    cockpit.override_rule = config.override_rule.clone();
    cockpit.traffic = config.traffic_state();
    let runbook_file = runbook.and_then(|path| match RunbookFile::load(path) {
        Ok(f) => {
            cockpit.runbook = Some(f.runbook().clone());
            Some(f)
        }
        Err(e) => {
            cockpit.runbook_error = Some(e.to_string());
            None
        }
    });

    let mut health = Vec::new();
    let mut scrape_targets = Vec::new();
    for t in &config.targets {
        if let Some(h) = &t.health {
            cockpit.health.push(HealthCell::new(&t.service, t.env));
            health.push(health_target(h));
        }
        if let Some(url) = &t.metrics {
            scrape_targets.push(ScrapeTarget { env: t.env, url: url.clone() });
        }
    }
    let scraped: Vec<(usize, crate::domain::sli::SliKind)> =
        config.slos.iter().enumerate().filter(|(_, s)| s.prom.is_none()).map(|(i, s)| (i, s.sli)).collect();
    let queried: Vec<PromSlo> = config
        .slos
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.prom.as_ref().map(|q| (i, s, q)))
        .flat_map(|(slo, s, q)| {
            Env::ALL.map(|env| PromSlo {
                slo,
                env,
                query: q.resolved[env.index()].clone(),
                reduce: q.reduce,
                count: q.count.as_ref().filter(|_| s.min_count > 0).map(|c| CountCheck {
                    query: c[env.index()].clone(),
                    min: s.min_count,
                    counted: crate::domain::sli::counted(s.sli),
                }),
            })
        })
        .collect();
    let prometheus = config.prometheus.as_ref().filter(|_| !queried.is_empty()).map(|p| (p.prom.clone(), queried));
    let alerts = config.prometheus.as_ref().and_then(|p| p.alert_labels.clone().map(|l| (p.prom.clone(), l)));
    cockpit.alerts_enabled = alerts.is_some();
    let min_counts: Vec<(usize, u64)> =
        config.slos.iter().enumerate().filter(|(_, s)| s.prom.is_none()).map(|(i, s)| (i, s.min_count)).collect();
    let scrape = (!scrape_targets.is_empty() && !scraped.is_empty()).then_some(ScrapeConfig {
        targets: scrape_targets,
        slos: scraped,
        min_counts,
        interval: config.interval,
        window: config.window,
        timeout: config.timeout,
    });

    let (keymap, notice) = load_keymap(config.keymap.as_deref());
    notices.extend(notice);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, notice) = Theme::load(config.theme.as_deref(), no_color);
    notices.extend(notice);

    Setup {
        cockpit,
        sources: SourcePlan {
            scrape,
            health,
            interval: config.interval,
            timeout: config.timeout,
            weights_url: config.weights_url.clone(),
            prometheus,
            alerts,
            backfill: true,
        },
        fault_admin: None,
        state_dir: None,
        actuators: config.actuators.clone(),
        runbook_file,
        keymap,
        theme,
        notices,
        log_file: log_file(&config.deployment, demo),
    }
}

/// The built-in keymap with the user's file merged on top, and a notice when that file could
/// not be read or merged (the default keys are used then).
pub fn load_keymap(path: Option<&Path>) -> (Keymap, Option<String>) {
    let mut keymap = Keymap::builtin();
    let Some(path) = path else { return (keymap, None) };
    let merged = std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| keymap.merge_str(&t));
    match merged {
        Ok(()) => (keymap, None),
        Err(e) => (keymap, Some(format!("keymap {}: {e}; using the default keys", path.display()))),
    }
}

/// `cutover.log` in the deployment's default state dir (replaced by `state::attach` with the
/// state dir actually used).
fn log_file(deployment: &str, demo: bool) -> Option<PathBuf> {
    Some(state_dir(deployment, demo)?.join(crate::store::state_dir::LOG_FILE))
}

/// The deployment's default state dir (`~/.local/state/cutover/<name>`, `<name>-demo` for the demo).
pub fn state_dir(deployment: &str, demo: bool) -> Option<PathBuf> {
    crate::store::cockpit_state::resolve(None, deployment, demo)
}

fn health_target(h: &crate::config::HealthSpec) -> HealthTarget {
    let check = match h.url.strip_prefix("tcp://") {
        Some(addr) => HealthCheck::Tcp { addr: addr.trim_end_matches('/').to_string() },
        None => HealthCheck::Http {
            url: h.url.clone(),
            expect: h.expect.clone(),
            format: h.format,
            follow_redirects: h.follow_redirects,
        },
    };
    HealthTarget { check, failure_threshold: h.failure_threshold }
}

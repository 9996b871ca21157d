//! Turns a config (and, for the demo, a running fleet) into what the loop starts with.

use std::path::PathBuf;

use crate::app::Setup;
use crate::app::keymap::Keymap;
use crate::config::Config;
use crate::domain::cockpit::Cockpit;
use crate::domain::health::HealthCell;
use crate::domain::runbook;
use crate::domain::slo::SloRow;
use crate::sources::health::{HealthCheck, HealthTarget};
use crate::sources::scrape::{ScrapeConfig, ScrapeTarget};
use crate::ui::theme::Theme;

/// The runbook as read: where it came from and its bytes, or why it could not be read.
pub type RunbookInput = Option<(String, Result<Vec<u8>, String>)>;

pub fn setup(config: &Config, runbook: RunbookInput, demo: bool) -> Setup {
    let mut notices = Vec::new();
    let mut cockpit = Cockpit::new(&config.deployment, &config.label);
    cockpit.env_names = config.env_names.clone();
    cockpit.demo = demo;
    cockpit.slos = config.slos.iter().map(|s| SloRow::new(s.spec.clone())).collect();
    if let Some((name, bytes)) = runbook {
        match bytes.and_then(|b| runbook::parse(&b).map_err(|e| e.to_string())) {
            Ok(rb) => cockpit.runbook = Some(rb),
            Err(e) => cockpit.runbook_error = Some(format!("{name}: {e}")),
        }
    }

    let mut health = Vec::new();
    let mut scrape_targets = Vec::new();
    for t in &config.targets {
        if let Some(url) = &t.health {
            cockpit.health.push(HealthCell::new(&t.service, t.env));
            health.push(HealthTarget { check: HealthCheck::http(url.clone()), failure_threshold: 1 });
        }
        if let Some(url) = &t.metrics {
            scrape_targets.push(ScrapeTarget { env: t.env, url: url.clone() });
        }
    }
    let scrape = (!scrape_targets.is_empty() && !config.slos.is_empty()).then(|| ScrapeConfig {
        targets: scrape_targets,
        slos: config.slos.iter().enumerate().map(|(i, s)| (i, s.sli)).collect(),
        interval: config.interval,
        window: config.window,
        timeout: config.timeout,
    });

    let mut keymap = Keymap::builtin();
    if let Some(path) = &config.keymap {
        let merged = std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| keymap.merge_str(&t));
        if let Err(e) = merged {
            notices.push(format!("keymap {}: {e}; using the default keys", path.display()));
        }
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, notice) = Theme::load(config.theme.as_deref(), no_color);
    notices.extend(notice);

    Setup {
        cockpit,
        scrape,
        health,
        interval: config.interval,
        timeout: config.timeout,
        weights_url: config.weights_url.clone(),
        fault_admin: None,
        keymap,
        theme,
        notices,
        log_file: log_file(&config.deployment, demo),
    }
}

/// `cutover.log` in the deployment's state dir (XDG state dir).
fn log_file(deployment: &str, demo: bool) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "cutover")?;
    let base = dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf();
    let folder = if demo { format!("{deployment}-demo") } else { deployment.to_string() };
    Some(base.join(sanitize(&folder)).join("cutover.log"))
}

/// A deployment name made safe to use as one folder name.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// Reads the configured runbook file.
pub fn read_runbook(config: &Config) -> RunbookInput {
    config.runbook.as_ref().map(|p| (p.display().to_string(), std::fs::read(p).map_err(|e| e.to_string())))
}

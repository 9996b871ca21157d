//! Connects a cockpit setup to its deployment's state dir: the persisted traffic stage, trigger
//! states and auto-ticked tasks, the audit log, and the log file.

use std::path::Path;

use crate::app::Setup;
use crate::config::Config;
use crate::store::StateDir;
use crate::store::cockpit_state::{open_and_load, resolve};

/// Turns a setup into a viewer's: the cockpit refuses every action, the loop moves no traffic and
/// writes nothing (no log file either: the log pane only).
pub fn make_read_only(setup: &mut Setup) {
    setup.cockpit.read_only = true;
    setup.cockpit.controls_held = false;
    setup.log_file = None;
}

/// Gives the cockpit the configured stages, then whatever the state dir kept. With `write`, the
/// state dir is created if need be and kept open for saving; without, it is only read (status).
pub fn attach(setup: &mut Setup, config: &Config, explicit: Option<&Path>, demo: bool, write: bool) {
    setup.cockpit.traffic = config.traffic_state();
    setup.cockpit.actuators = setup
        .actuators
        .iter()
        .map(|a| a.build().map(|a| a.name()).unwrap_or_else(|e| format!("(broken: {e})")))
        .collect();
    let Some(path) = resolve(explicit, &config.deployment, demo) else {
        setup.notices.push("no state dir (no home folder?): pass --state-dir; traffic changes are NOT kept".into());
        return;
    };
    if !write {
        // A missing state dir is fine: the configured stages are shown.
        let Ok(mut dir) = StateDir::open_read_only(&path) else { return };
        // Looked at without taking anything: a shared-lock probe and a count.
        let k = &mut setup.cockpit.controls;
        k.holder = crate::store::holder(&dir).map(|h| h.who.short());
        k.observers = crate::store::observers(&dir);
        k.shared = true;
        match dir.load() {
            Ok(Some(l)) => {
                setup.notices.extend(l.warnings);
                let w = setup.cockpit.restore(l.state);
                setup.notices.extend(w);
            }
            Ok(None) => {}
            Err(e) => setup.notices.push(e.to_string()),
        }
        return;
    }
    match open_and_load(&path) {
        Ok((dir, saved, warnings)) => {
            setup.notices.extend(warnings);
            if let Some(saved) = saved {
                let w = setup.cockpit.restore(saved);
                setup.notices.extend(w);
                setup.notices.extend(setup.cockpit.take_over_in_flight());
            }
            setup.log_file = Some(dir.log_path());
            setup.state_dir = Some(dir);
        }
        Err(e) => setup.notices.push(format!("{e}; traffic changes are NOT kept")),
    }
}

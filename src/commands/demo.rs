use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::DemoArgs;
use crate::commands::cockpit;
use crate::config::{self, Config, Target};
use crate::domain::env::Weights;
use crate::fleet::{Fleet, FleetInfo, FleetOptions};

/// What the demo's built-in config is called where a file name would be.
pub(super) const BUILT_IN: &str = "<built-in demo config>";

pub fn demo(args: DemoArgs, state_dir: Option<PathBuf>, read_only: bool) -> ExitCode {
    let config = match &args.config {
        Some(path) => config::load(path),
        None => config::parse(config::DEMO_CONFIG, Path::new(BUILT_IN), None),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cutover demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let dir = crate::store::cockpit_state::resolve(state_dir.as_deref(), &config.deployment, true)
        .unwrap_or_else(|| std::env::temp_dir().join("cutover-demo"));
    runtime.block_on(async move {
        let opts = FleetOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rps: args.rps,
            target: None,
            smoke_rps: args.smoke_rps,
            // The fleet is new each time; it starts where the demo's go-live stands (0/100, before
            // the first stage, on a fresh state dir) so the router and cutover agree.
            initial_weights: stored_weights(&dir).unwrap_or(Weights { blue: 0, green: 100 }),
        };
        let fleet = match Fleet::start(opts).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("cutover demo: cannot start the simulated fleet: {e}");
                return ExitCode::FAILURE;
            }
        };
        let config = with_fleet(config, &fleet.info);
        // A given config names its own runbook; the built-in one is copied out once
        // so ticks have a file to go to.
        let read_only = super::read_only(read_only, &config);
        let (runbook, notice) = match &args.config {
            Some(_) => (config.runbook.clone(), None),
            // A viewer copies nothing: the demo's copy when there is one, else the built-in text.
            None if read_only => (Some(dir.join("runbook.md")).filter(|p| p.exists()), None),
            None => demo_runbook(&dir),
        };
        let mut setup = cockpit::setup(&config, runbook.as_deref(), true);
        setup.notices.extend(notice);
        if read_only {
            if setup.cockpit.runbook.is_none() && args.config.is_none() {
                setup.cockpit.runbook = crate::domain::runbook::parse(config::GO_LIVE_RUNBOOK).ok();
            }
            super::state::make_read_only(&mut setup);
        }
        super::state::attach(&mut setup, &config, Some(&dir), true, !read_only);
        let fleet_json = serde_json::to_value(&fleet.info).ok();
        super::record_origin(&mut setup, &config.file, runbook.as_deref(), fleet_json);
        if let Some(path) = &args.fleet_info {
            let json = serde_json::to_string(&fleet.info).unwrap_or_default();
            if let Err(e) = std::fs::write(path, json) {
                setup.notices.push(format!("--fleet-info {}: {e}", path.display()));
            }
        }
        setup.fault_admin = Some(fleet.info.admin.clone());
        let result = crate::app::run(setup).await;
        fleet.shutdown().await;
        super::finish("demo", result)
    })
}

/// The demo's runbook: a copy of the built-in go-live runbook in the demo's state
/// dir, made on first use and kept (with its ticks) after that.
fn demo_runbook(dir: &Path) -> (Option<PathBuf>, Option<String>) {
    let path = dir.join("runbook.md");
    if path.exists() {
        return (Some(path), None);
    }
    match std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, config::GO_LIVE_RUNBOOK)) {
        Ok(()) => (Some(path), Some(format!("demo runbook copied to {}", dir.join("runbook.md").display()))),
        Err(e) => (None, Some(format!("cannot copy the demo runbook to {}: {e}", path.display()))),
    }
}

/// The demo watches its own fleet: every service's metrics and health, and the router's weights.
pub(super) fn with_fleet(mut config: Config, fleet: &FleetInfo) -> Config {
    config.targets = fleet
        .services
        .iter()
        .map(|s| Target {
            env: s.env,
            service: s.service.clone(),
            metrics: Some(s.metrics.clone()),
            health: Some(crate::config::HealthSpec::new(s.health.clone())),
        })
        .collect();
    config.weights_url = Some(format!("{}/weights", fleet.admin));
    config.actuators =
        config.actuators.iter().map(|a| crate::config::traffic::fill_fleet_admin(a, &fleet.admin)).collect();
    config
}

/// The split the demo's stored go-live expects, so a new fleet starts there.
fn stored_weights(dir: &Path) -> Option<Weights> {
    let mut d = crate::store::StateDir::open_read_only(dir).ok()?;
    let loaded = d.load::<crate::domain::cockpit::PersistedState>().ok()??;
    Some(loaded.state.traffic.expected_weights())
}

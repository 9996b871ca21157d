use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::DemoArgs;
use crate::commands::cockpit;
use crate::config::{self, Config, Target};
use crate::domain::env::Weights;
use crate::fleet::{Fleet, FleetOptions};

pub fn demo(args: DemoArgs) -> ExitCode {
    let config = match &args.config {
        Some(path) => config::load(path),
        None => config::parse(config::DEMO_CONFIG, Path::new("<built-in demo config>"), None),
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
    runtime.block_on(async move {
        let opts = FleetOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rps: args.rps,
            target: None,
            smoke_rps: args.smoke_rps,
            initial_weights: Weights { blue: 10, green: 90 },
        };
        let fleet = match Fleet::start(opts).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("cutover demo: cannot start the simulated fleet: {e}");
                return ExitCode::FAILURE;
            }
        };
        let config = with_fleet(config, &fleet);
        // A given config names its own runbook; the built-in one is copied out once
        // so ticks have a file to go to.
        let (runbook, notice) = match &args.config {
            Some(_) => (config.runbook.clone(), None),
            None => demo_runbook(&config.deployment),
        };
        let mut setup = cockpit::setup(&config, runbook.as_deref(), true);
        setup.notices.extend(notice);
        setup.fault_admin = Some(fleet.info.admin.clone());
        let result = crate::app::run(setup).await;
        fleet.shutdown().await;
        super::finish("demo", result)
    })
}

/// The demo's runbook: a copy of the built-in go-live runbook in the demo's state
/// dir, made on first use and kept (with its ticks) after that.
fn demo_runbook(deployment: &str) -> (Option<PathBuf>, Option<String>) {
    let dir = cockpit::state_dir(deployment, true).unwrap_or_else(|| std::env::temp_dir().join("cutover-demo"));
    let path = dir.join("runbook.md");
    if path.exists() {
        return (Some(path), None);
    }
    match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, config::GO_LIVE_RUNBOOK)) {
        Ok(()) => (Some(path), Some(format!("demo runbook copied to {}", dir.join("runbook.md").display()))),
        Err(e) => (None, Some(format!("cannot copy the demo runbook to {}: {e}", path.display()))),
    }
}

/// The demo watches its own fleet: every service's metrics and health, and the router's weights.
fn with_fleet(mut config: Config, fleet: &Fleet) -> Config {
    config.targets = fleet
        .info
        .services
        .iter()
        .map(|s| Target {
            env: s.env,
            service: s.service.clone(),
            metrics: Some(s.metrics.clone()),
            health: Some(crate::config::HealthSpec::new(s.health.clone())),
        })
        .collect();
    config.weights_url = Some(format!("{}/weights", fleet.info.admin));
    config
}

//! One function per subcommand; each returns the process exit code.

// Everything a command prints passes the redactor: no secret and no URL user information
// reaches a terminal, a pipe or a CI log. These shadow the std macros in every command module.
macro_rules! println {
    ($($t:tt)*) => { std::println!("{}", crate::text::scrub(&format!($($t)*))) };
}
macro_rules! print {
    ($($t:tt)*) => { std::print!("{}", crate::text::scrub(&format!($($t)*))) };
}
macro_rules! eprintln {
    ($($t:tt)*) => { std::eprintln!("{}", crate::text::scrub(&format!($($t)*))) };
}

mod adopt;
mod advance;
mod check;
mod cockpit;
mod demo;
mod fleet;
mod report;
mod resume;
mod rollback;
mod run;
mod runbook;
mod state;
mod status;
mod traffic_cli;

use std::process::ExitCode;

pub use adopt::adopt;
pub use advance::advance;
pub use check::check;
pub use demo::demo;
pub use fleet::fleet;
pub use report::report;
pub use resume::resume;
pub use rollback::rollback;
pub use run::run;
pub use runbook::runbook;
pub use status::status;

/// The config the command line points at, with `--prometheus` applied.
fn load_config(args: &crate::cli::ConfigArgs) -> Result<crate::config::Config, String> {
    let mut config = crate::config::find_and_load(args.config.as_deref())?;
    if let Some(url) = &args.prometheus {
        config.override_prometheus(url)?;
    }
    crate::text::set_redactor(config.redactor());
    Ok(config)
}

/// The config for a command on a state dir: `--config` (or `$CUTOVER_CONFIG`) when given; else
/// the config and runbook the state dir recorded when a cockpit opened it (the demo's built-in
/// config is rebuilt with its fleet's addresses); else the usual discovery.
fn load_config_in(
    args: &crate::cli::ConfigArgs,
    state_dir: Option<&std::path::Path>,
) -> Result<crate::config::Config, String> {
    let recorded = match (&args.config, state_dir) {
        (None, Some(dir)) => crate::store::StateDir::open_read_only(dir).ok().map(|d| d.read_origin()),
        _ => None,
    };
    let origin = match recorded {
        Some(Ok(Some(o))) => o,
        Some(Err(e)) => return Err(e.to_string()),
        _ => return load_config(args),
    };
    let mut config = if origin.config == std::path::Path::new(demo::BUILT_IN) {
        let config =
            crate::config::parse(crate::config::DEMO_CONFIG, &origin.config, None).map_err(|e| e.to_string())?;
        match origin.fleet.map(serde_json::from_value::<crate::fleet::FleetInfo>) {
            Some(Ok(fleet)) => demo::with_fleet(config, &fleet),
            Some(Err(e)) => return Err(format!("{}: the demo's fleet addresses: {e}", origin.config.display())),
            None => config,
        }
    } else {
        crate::config::find_and_load(Some(&origin.config))?
    };
    config.runbook = origin.runbook;
    if let Some(url) = &args.prometheus {
        config.override_prometheus(url)?;
    }
    crate::text::set_redactor(config.redactor());
    Ok(config)
}

/// Records in a writable state dir which config and runbook this cockpit runs with.
fn record_origin(
    setup: &mut crate::app::Setup,
    config: &std::path::Path,
    runbook: Option<&std::path::Path>,
    fleet: Option<serde_json::Value>,
) {
    let Some(dir) = &setup.state_dir else { return };
    let origin = crate::store::origin::Origin::new(config, runbook, fleet);
    if let Err(e) = dir.write_origin(&origin) {
        setup.notices.push(format!("{e}: `--state-dir` alone will not find this config"));
    }
}

/// Whether a command only watches: the flag (or `CUTOVER_READ_ONLY`), or the config says so.
fn read_only(flag: bool, config: &crate::config::Config) -> bool {
    flag || config.read_only
}

/// The runtime behind every long-running command: two workers are plenty for a cockpit.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| {
        eprintln!("cutover: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

/// Reports how a cockpit ended, after the terminal is restored.
fn finish(what: &str, result: color_eyre::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cutover {what}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

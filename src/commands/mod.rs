//! One function per subcommand; each returns the process exit code.

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
    Ok(config)
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

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::commands::cockpit;

pub fn run(args: RunArgs, state_dir: Option<std::path::PathBuf>) -> ExitCode {
    let config = match super::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cutover run: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut setup = cockpit::setup(&config, config.runbook.as_deref(), false);
    super::state::attach(&mut setup, &config, state_dir.as_deref(), false, true);
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move { super::finish("run", crate::app::run(setup).await) })
}

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::commands::cockpit;

pub fn run(args: RunArgs) -> ExitCode {
    let config = match super::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cutover run: {e}");
            return ExitCode::FAILURE;
        }
    };
    let setup = cockpit::setup(&config, config.runbook.as_deref(), false);
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move { super::finish("run", crate::app::run(setup).await) })
}

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::commands::cockpit;

pub fn run(args: RunArgs, state_dir: Option<std::path::PathBuf>, read_only: bool) -> ExitCode {
    let config = match super::load_config(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cutover run: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(e) = config.watches_nothing() {
        eprintln!("cutover run: {e}");
        return ExitCode::FAILURE;
    }
    let mut setup = cockpit::setup(&config, config.runbook.as_deref(), false);
    let read_only = super::read_only(read_only, &config);
    if read_only {
        super::state::make_read_only(&mut setup);
    }
    super::state::attach(&mut setup, &config, state_dir.as_deref(), false, !read_only);
    super::record_origin(&mut setup, &config.file, config.runbook.as_deref(), None);
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move { super::finish("run", crate::app::run(setup).await) })
}

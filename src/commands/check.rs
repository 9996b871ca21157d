use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::domain::runbook;

/// Validates a config and its runbook. Prints what it found, or every problem
/// with its position, and exits non-zero on any problem.
pub fn check(args: ConfigArgs) -> ExitCode {
    let config = match super::load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let path = &config.file;
    println!(
        "{}: ok: deployment {:?}, {} SLOs, {} targets",
        path.display(),
        config.deployment,
        config.slos.len(),
        config.targets.len()
    );
    let Some(rb_path) = &config.runbook else {
        println!("no runbook configured");
        return ExitCode::SUCCESS;
    };
    let bytes = match std::fs::read(rb_path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: runbook.path: cannot read {}: {e}", path.display(), rb_path.display());
            return ExitCode::FAILURE;
        }
    };
    match runbook::parse(&bytes) {
        Ok(rb) => {
            let (done, total) = rb.progress();
            println!("{}: ok: {} phases, {total} tasks, {done} done", rb_path.display(), rb.phases.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}:{}: {e}", rb_path.display(), e.line());
            ExitCode::FAILURE
        }
    }
}

use std::process::ExitCode;

use crate::cli::RunbookArgs;

pub fn runbook(_args: RunbookArgs) -> ExitCode {
    eprintln!("cutover runbook: not built yet");
    ExitCode::FAILURE
}

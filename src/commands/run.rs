use std::process::ExitCode;

use crate::cli::RunArgs;

pub fn run(_args: RunArgs) -> ExitCode {
    eprintln!("cutover run: not built yet");
    ExitCode::FAILURE
}

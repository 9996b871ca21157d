use std::process::ExitCode;

use crate::cli::ConfigArgs;

pub fn check(_args: ConfigArgs) -> ExitCode {
    eprintln!("cutover check: not built yet");
    ExitCode::FAILURE
}

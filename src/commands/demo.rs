use std::process::ExitCode;

use crate::cli::DemoArgs;

pub fn demo(_args: DemoArgs) -> ExitCode {
    eprintln!("cutover demo: not built yet");
    ExitCode::FAILURE
}

use std::process::ExitCode;

use crate::cli::FleetArgs;

pub fn fleet(_args: FleetArgs) -> ExitCode {
    eprintln!("cutover fleet: not built yet");
    ExitCode::FAILURE
}

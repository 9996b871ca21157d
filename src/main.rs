use clap::Parser;
use cutover::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Installed before the terminal is set up, so ratatui's restoring hook wraps it.
    if let Err(e) = color_eyre::install() {
        eprintln!("cutover: cannot install the error report hook: {e}");
    }
    match cli.command {
        Command::Fleet(args) => cutover::commands::fleet(args),
        Command::Demo(args) => cutover::commands::demo(args),
        Command::Run(args) => cutover::commands::run(args),
        Command::Check(args) => cutover::commands::check(args),
        Command::Runbook(args) => cutover::commands::runbook(args),
        Command::Status(args) => cutover::commands::status(args),
    }
}

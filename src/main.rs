use clap::Parser;
use cutover::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Fleet(args) => cutover::commands::fleet(args),
        Command::Demo(args) => cutover::commands::demo(args),
        Command::Run(args) => cutover::commands::run(args),
        Command::Check(args) => cutover::commands::check(args),
        Command::Runbook(args) => cutover::commands::runbook(args),
    }
}

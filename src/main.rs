use clap::Parser;
use cutover::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Installed before the terminal is set up, so ratatui's restoring hook wraps it.
    if let Err(e) = color_eyre::install() {
        eprintln!("cutover: cannot install the error report hook: {e}");
    }
    cutover::app::exit::install_panic_hook();
    if let Some(verb) = cli.command.take_controls_unused() {
        eprintln!(
            "cutover {verb}: --take-controls is for the verbs that act (advance, resume, …); {verb} never takes the controls"
        );
        return std::process::ExitCode::FAILURE;
    }
    let state_dir = cli.state_dir;
    let ro = cli.read_only;
    match cli.command {
        Command::Fleet(args) => cutover::commands::fleet(args),
        Command::Demo(args) => cutover::commands::demo(args, state_dir, ro),
        Command::Run(args) => cutover::commands::run(args, state_dir, ro),
        Command::Check(args) => cutover::commands::check(args),
        Command::Runbook(args) => cutover::commands::runbook(args),
        Command::Status(args) => cutover::commands::status(args, state_dir),
        Command::Advance(args) => cutover::commands::advance(args, state_dir, ro),
        Command::Rollback(args) => cutover::commands::rollback(args, state_dir, ro),
        Command::Resume(args) => cutover::commands::resume(args, state_dir, ro),
        Command::Adopt(args) => cutover::commands::adopt(args, state_dir, ro),
        Command::Report(args) => cutover::commands::report(args, state_dir),
    }
}

//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cutover", version, about = "A terminal cockpit for blue-green production go-lives")]
pub struct Cli {
    /// The deployment's state dir (state.json, audit.jsonl, cutover.log, locks); default
    /// `$XDG_STATE_HOME/cutover/<deployment>` (`<deployment>-demo` for the demo).
    #[arg(long, global = true, env = "CUTOVER_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Only watch: no traffic moves, no ticks, nothing written to the state dir or the runbook
    /// (also `CUTOVER_READ_ONLY=1`, or `read_only = true` under `[deployment]` in the config).
    #[arg(long, global = true, env = "CUTOVER_READ_ONLY", value_parser = clap::builder::FalseyValueParser::new())]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a simulated blue/green fleet and a cockpit watching it, all on loopback.
    Demo(DemoArgs),
    /// Run the simulated fleet headless (prints its addresses as one JSON line).
    Fleet(FleetArgs),
    /// Run the cockpit on a config file.
    Run(RunArgs),
    /// Validate a config and its runbook; exits non-zero with positions on error.
    Check(ConfigArgs),
    /// Print the parsed model of a runbook (tasks.md).
    Runbook(RunbookArgs),
    /// Poll every source once and print the SLOs and health (exit 0 all ok, 3 not all ok).
    Status(StatusArgs),
    /// Move blue to the next traffic stage (or --to PERCENT), after checking the gates.
    Advance(AdvanceArgs),
    /// Send all traffic back to green and start the rollback procedure.
    Rollback(RollbackArgs),
    /// After a rollback whose procedure is complete: start the go-live again from 0 % (asks why).
    Resume(ResumeArgs),
    /// Print a markdown report of the go-live from the audit log and the runbook.
    Report(ReportArgs),
    /// After drift: record the router's split as the stage (it must be a configured stage).
    Adopt(AdoptArgs),
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Why the router's split is right: goes to the audit log.
    #[arg(long)]
    pub reason: String,
}

impl Command {
    /// The verb, when `--take-controls` was given to one that never takes the controls (it only
    /// watches or reads).
    pub fn take_controls_unused(&self) -> Option<&'static str> {
        let (verb, args) = match self {
            Command::Run(a) => ("run", &a.config),
            Command::Check(a) => ("check", a),
            Command::Status(a) => ("status", &a.config),
            Command::Report(a) => ("report", &a.config),
            _ => return None,
        };
        args.take_controls.is_some().then_some(verb)
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Why the go-live may go on: goes to the audit log.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct AdvanceArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// A configured stage above the current one (default: the next stage).
    #[arg(long, value_name = "PERCENT")]
    pub to: Option<u8>,
    /// Go although gates fail (soak, SLOs, triggers, runbook tasks; never drift or the controls);
    /// the reason is logged and must meet `override_min_chars` or `override_pattern`.
    #[arg(long = "override", value_name = "REASON")]
    pub override_reason: Option<String>,
    /// Do not ask for the typed confirmation.
    #[arg(long)]
    pub yes: bool,
    /// How long to wait for every source to answer before judging the gates.
    #[arg(long)]
    pub wait: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Why: goes to the audit log. May be left out: traffic moves first, and the procedure's
    /// "document the reason" step stays open until the reason is given in the cockpit.
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for the typed confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to wait for every source to answer (default: two poll intervals plus the timeout).
    #[arg(long)]
    pub wait: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file; else $CUTOVER_CONFIG, ./cutover.toml, then the user config dir.
    #[arg(long, short = 'c', env = "CUTOVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Prometheus's address, overriding `[prometheus] url` of the config.
    #[arg(long, env = "CUTOVER_PROMETHEUS_URL")]
    pub prometheus: Option<String>,
    /// For a verb that acts (advance, resume, …) while a cockpit holds the controls: take them
    /// from it, saying why (audited; that cockpit is told and becomes an observer). Rollback never
    /// needs it.
    #[arg(long, value_name = "REASON")]
    pub take_controls: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A config to use instead of the built-in demo config (its targets are replaced by the fleet's).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Requests per second the load generator sends through the router.
    #[arg(long, default_value_t = 250)]
    pub rps: u32,
    /// Requests per second of smoke load straight to blue's services (0: off).
    #[arg(long, default_value_t = 10)]
    pub smoke_rps: u32,
    /// Write the fleet's addresses (the JSON `cutover fleet` prints) to this file.
    #[arg(long, value_name = "FILE")]
    pub fleet_info: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Where to listen: port 0 picks free ports; port P puts the router on P,
    /// blue's services on P+1..P+6 and green's on P+7..P+12.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Requests per second the load generator sends (0: off).
    #[arg(long, default_value_t = 250)]
    pub rps: u32,
    /// Send the load here instead of the fleet's own router (e.g. a HAProxy in front).
    #[arg(long)]
    pub target: Option<String>,
    /// Requests per second of smoke load straight to blue's services (0: off).
    #[arg(long, default_value_t = 10)]
    pub smoke_rps: u32,
}

#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// The tasks.md file.
    pub file: PathBuf,
    /// Print JSON instead of an outline.
    #[arg(long)]
    pub json: bool,
}

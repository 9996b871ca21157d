//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cutover", version, about = "A terminal cockpit for blue-green production go-lives")]
pub struct Cli {
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

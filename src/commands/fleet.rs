//! `cutover fleet`: the simulated fleet, headless, until SIGINT or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};

use crate::cli::FleetArgs;
use crate::domain::env::Weights;
use crate::fleet::{Fleet, FleetOptions};

pub fn fleet(args: FleetArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover fleet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: FleetArgs) -> ExitCode {
    let opts = FleetOptions {
        listen: args.listen,
        rps: args.rps,
        target: args.target,
        smoke_rps: args.smoke_rps,
        // Green serves today; the go-live moves traffic to blue.
        initial_weights: Weights { blue: 0, green: 100 },
    };
    let fleet = match Fleet::start(opts).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cutover fleet: {e} (choose another --listen port, or port 0 for free ports)");
            return ExitCode::FAILURE;
        }
    };
    // Listening before the addresses are printed: a parent may signal as soon as it reads them.
    let stopped = match Signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cutover fleet: cannot listen for signals: {e}");
            fleet.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    // One line, flushed before anything waits, so a parent reading stdout can start at once.
    let line = serde_json::to_string(&fleet.info).unwrap_or_default();
    let printed = {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|()| out.flush())
    };
    let code = match printed {
        Err(e) => {
            eprintln!("cutover fleet: cannot write the fleet's addresses to stdout: {e}");
            ExitCode::FAILURE
        }
        Ok(()) => {
            stopped.recv().await;
            ExitCode::SUCCESS
        }
    };
    fleet.shutdown().await;
    code
}

/// SIGINT (Ctrl-C), SIGTERM (a supervisor) or SIGHUP (a dropped ssh link) all end the same clean way.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

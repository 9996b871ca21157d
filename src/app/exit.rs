//! How cutover ends when it is told to or when it breaks: the exit status a shell expects after a
//! signal (128 + its number), and a panic hook that says where the log is and ends the process
//! (a panic in a task must not leave a cockpit running behind a restored terminal).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// A signal that ends cutover the clean way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A dropped ssh link.
    Hup,
    /// Ctrl-C from a shell, or `kill -INT`.
    Int,
    /// A supervisor stopping the process.
    Term,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Hup => "SIGHUP",
            Stop::Int => "SIGINT",
            Stop::Term => "SIGTERM",
        }
    }

    /// 129, 130, 143: what a shell reports for a process the signal ended.
    pub fn exit_code(self) -> u8 {
        let number = match self {
            Stop::Hup => 1,
            Stop::Int => 2,
            Stop::Term => 15,
        };
        128 + number
    }
}

/// SIGHUP, SIGINT and SIGTERM, listened for from creation on (their default action, ending the
/// process at once without running Drop, is replaced). Needs a tokio runtime.
pub struct Signals {
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next of the three to arrive.
    pub async fn recv(&mut self) -> Stop {
        tokio::select! {
            _ = self.hup.recv() => Stop::Hup,
            _ = self.int.recv() => Stop::Int,
            _ = self.term.recv() => Stop::Term,
        }
    }
}

/// Exit status after a panic, as Rust's own default.
pub const PANIC_EXIT: i32 = 101;

/// The environment variable that makes the cockpit panic on purpose (`loop`: in the event loop;
/// `task`: in a spawned task), so the panic path can be tested end to end. Read nowhere else.
pub const TEST_PANIC_VAR: &str = "CUTOVER_TEST_PANIC";

static LOG_FILE: OnceLock<PathBuf> = OnceLock::new();

static PANICKED: AtomicBool = AtomicBool::new(false);

/// Whether a thread panicked: the loop stops drawing, so a panic in a task is not painted over.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Where the log file of this process is, for the panic message.
pub fn set_log_file(path: PathBuf) {
    let _ = LOG_FILE.set(path);
}

/// Wraps the installed panic hook (color-eyre's report): after it, says where the log is, shows
/// the cursor and ends the process with [`PANIC_EXIT`]. The terminal hook ratatui installs later
/// wraps this one, so the terminal is restored before anything is printed.
pub fn install_panic_hook() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        // Writes may fail (a hung-up terminal): a panic inside the panic hook would abort.
        let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
        report(info);
        let mut err = std::io::stderr();
        let _ = match LOG_FILE.get() {
            Some(path) => writeln!(err, "cutover: the log is at {}", path.display()),
            None => writeln!(err, "cutover: no log file was being written"),
        };
        // Once more: the loop may have drawn between ratatui's restore and the flag above.
        let _ = ratatui::try_restore();
        let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
        std::process::exit(PANIC_EXIT);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_what_shells_report() {
        assert_eq!([Stop::Hup, Stop::Int, Stop::Term].map(Stop::exit_code), [129, 130, 143]);
        assert_eq!([Stop::Hup, Stop::Int, Stop::Term].map(Stop::name), ["SIGHUP", "SIGINT", "SIGTERM"]);
    }
}

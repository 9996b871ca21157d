//! One function per subcommand; each returns the process exit code.

mod check;
mod demo;
mod fleet;
mod run;
mod runbook;

pub use check::check;
pub use demo::demo;
pub use fleet::fleet;
pub use run::run;
pub use runbook::runbook;

//! The pure core: no tokio, no ratatui, no reqwest, no file system. Time comes in as a value.

pub mod alert;
pub mod automation;
pub mod bound;
pub mod cockpit;
pub mod env;
pub mod exposition;
pub mod fault;
pub mod health;
pub mod redact;
pub mod report;
pub mod runbook;
pub mod sli;
pub mod slo;
pub mod status;
pub mod streak;
pub mod time;
pub mod traffic;
pub mod trigger;

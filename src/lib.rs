//! cutover: a terminal cockpit for blue-green production go-lives.
//!
//! Layers point one way: `app`/`ui` → `domain`, `sources`/`fleet` → `domain`.

pub mod cli;
pub mod commands;
pub mod domain;
pub mod fleet;
pub mod sources;
pub mod store;

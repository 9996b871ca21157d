//! Helpers shared by the integration tests.

pub mod tmux;
pub mod traffic;

//! Helpers shared by the integration tests.

pub mod crash;
pub mod tmux;
pub mod traffic;

//! cutover: a terminal cockpit for blue-green production go-lives.
//!
//! Layers point one way: `app` → `ui` → `keymap`/`view` → `domain`, and
//! `sources`/`actuators`/`store`/`fleet` → `domain`.

pub mod actuators;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod fleet;
pub mod keymap;
pub mod sources;
pub mod store;
pub mod text;
pub mod ui;
pub mod view;

//! The cockpit's persisted state in `state.json`: the traffic stage, trigger states and the tasks
//! ticked by links (see [`PersistedState`]).

use std::path::{Path, PathBuf};

use super::state_dir::{StateDir, StoreError, default_state_dir};
use super::state_file::Versioned;
use crate::domain::cockpit::PersistedState;

impl Versioned for PersistedState {
    const SCHEMA: u32 = 1;
}

/// The state dir to use: `explicit` (`--state-dir`), else the deployment's default
/// (`<deployment>-demo` for the demo, so a demo never touches a real go-live's state).
pub fn resolve(explicit: Option<&Path>, deployment: &str, demo: bool) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let name = if demo { format!("{deployment}-demo") } else { deployment.to_string() };
    default_state_dir(&name)
}

/// Opens the state dir and reads the persisted state (`None`: nothing saved yet), with the
/// warnings met on the way (a damaged file kept aside, a migration).
pub fn open_and_load(path: &Path) -> Result<(StateDir, Option<PersistedState>, Vec<String>), StoreError> {
    let mut dir = StateDir::open(path)?;
    let loaded = dir.load::<PersistedState>()?;
    Ok(match loaded {
        Some(l) => (dir, Some(l.state), l.warnings),
        None => (dir, None, Vec::new()),
    })
}

//! `origin.json` in a state dir: which config and runbook the cockpit opened it with, so the
//! commands given only `--state-dir` read the same ones (and the demo's built-in config can be
//! rebuilt with its fleet's addresses).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic;
use super::state_dir::{StateDir, StoreError};

pub const ORIGIN_FILE: &str = "origin.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The config file, absolute; or `<built-in demo config>`.
    pub config: PathBuf,
    /// The runbook the cockpit ticks (the demo's is a copy in the state dir).
    pub runbook: Option<PathBuf>,
    /// The demo's fleet addresses (its `--fleet-info` JSON), which its config is completed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<serde_json::Value>,
}

impl Origin {
    /// Paths made absolute, so a command run from another folder finds the same files.
    pub fn new(config: &Path, runbook: Option<&Path>, fleet: Option<serde_json::Value>) -> Origin {
        let abs = |p: &Path| {
            if p.is_relative() && p.exists() { std::path::absolute(p).unwrap_or(p.into()) } else { p.into() }
        };
        Origin { config: abs(config), runbook: runbook.map(abs), fleet }
    }
}

impl StateDir {
    /// Records the cockpit's config and runbook (replacing an older record).
    pub fn write_origin(&self, origin: &Origin) -> Result<(), StoreError> {
        self.ctx.write("record the config")?;
        let path = self.ctx.file(ORIGIN_FILE);
        let json = serde_json::to_vec_pretty(origin).unwrap_or_default();
        atomic::replace(&path, &json, None).map_err(StoreError::io(&path, "write the config record"))
    }

    /// The recorded config and runbook; `None` when nothing was recorded.
    pub fn read_origin(&self) -> Result<Option<Origin>, StoreError> {
        let path = self.ctx.file(ORIGIN_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::Io { path, op: "read the config record", source: e }),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::Corrupt {
            path,
            problem: e.to_string(),
            kept_as: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_is_absent_before_the_first_cockpit() {
        let root = std::env::temp_dir().join(format!("cutover-origin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = StateDir::open(&root).unwrap();
        assert_eq!(dir.read_origin().unwrap(), None);
        let o = Origin::new(
            Path::new("<built-in demo config>"),
            Some(&root.join("runbook.md")),
            Some(serde_json::json!({"admin": "http://a"})),
        );
        dir.write_origin(&o).unwrap();
        assert_eq!(StateDir::open_read_only(&root).unwrap().read_origin().unwrap(), Some(o));
        std::fs::write(root.join(ORIGIN_FILE), "{").unwrap();
        let e = dir.read_origin().unwrap_err().to_string();
        assert!(e.contains("origin.json"), "{e}");
        let ro = StateDir::open_read_only(&root).unwrap();
        assert!(ro.write_origin(&Origin::new(Path::new("c.toml"), None, None)).is_err(), "a viewer writes nothing");
        let _ = std::fs::remove_dir_all(&root);
    }
}

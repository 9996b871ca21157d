//! Replacing a file atomically: write a temp file beside it, fsync, rename over it, fsync the directory.
//!
//! A reader opening the path sees either the old bytes or the new ones, never a mix, and after a
//! crash (even `kill -9` or a power cut once the directory fsync returned) the path holds one of
//! the two. Temp files are named `.NAME.cutover-PID-N.tmp`; [`sweep_temps`] removes the ones
//! left behind by a process that died between creating and renaming them.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Temp files of a dead writer older than this are removed where liveness cannot be checked.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Writes `bytes` to a temp file beside `target` (with `permissions`, if given), fsyncs it, asks
/// `before_rename` whether to go on, and if so renames it over `target` and fsyncs the directory.
///
/// Returns whether the rename happened; the temp file is removed when it did not.
/// `before_rename` runs after the new bytes are durable and before they become visible: the
/// place for a last check that the target did not change, or for keeping its old version.
pub fn replace_if(
    target: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
    before_rename: impl FnOnce() -> io::Result<bool>,
) -> io::Result<bool> {
    let tmp = temp_path(target);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if !before_rename()? {
            return Ok(false);
        }
        fs::rename(&tmp, target)?;
        sync_dir(parent(target));
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// [`replace_if`] without a check.
pub fn replace(target: &Path, bytes: &[u8], permissions: Option<Permissions>) -> io::Result<()> {
    replace_if(target, bytes, permissions, || Ok(true)).map(|_| ())
}

/// Makes a rename or unlink in `dir` durable; not every platform lets a directory be synced.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `.NAME.cutover-PID-N.tmp` beside the target.
pub fn temp_path(target: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = N.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.cutover-{}-{n}.tmp", std::process::id()))
}

/// The writer's PID if `file_name` is a temp file of [`temp_path`] for a target named `target_name`.
pub fn temp_owner(file_name: &str, target_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_prefix(target_name)?.strip_prefix(".cutover-")?;
    let rest = rest.strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Removes temp files for `target_name` in `dir` whose writer is dead (or, where that cannot be
/// told, that are older than an hour). Returns how many were removed.
pub fn sweep_temps(dir: &Path, target_name: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = temp_owner(&name.to_string_lossy(), target_name) else { continue };
        if pid == std::process::id() {
            continue;
        }
        let dead = match pid_alive(pid) {
            Some(alive) => !alive,
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_TEMP),
        };
        if dead && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this PID exists on this host, where the platform lets us tell (Linux's
/// `/proc`); `None` elsewhere.
pub fn pid_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_round_trip() {
        let t = temp_path(Path::new("/x/state.json"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp_owner(name, "state.json"), Some(std::process::id()));
        assert_eq!(temp_owner(name, "audit.jsonl"), None);
        assert_eq!(temp_owner("state.json", "state.json"), None);
        assert_eq!(temp_owner(".state.json.cutover-12-x.tmp", "state.json"), None);
    }

    #[test]
    fn own_pid_is_alive() {
        assert_ne!(pid_alive(std::process::id()), Some(false));
    }
}

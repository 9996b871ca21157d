//! The runbook on disk: load it, tick tasks in it, never overwrite someone else's edit.
//!
//! A tick reads the file again first. If it is byte for byte what was loaded, the
//! one checkbox is changed; if it changed (an editor saved meanwhile), the fresh
//! bytes are parsed, the task found again by ID (or text, for a task without an
//! ID) and the tick applied there, keeping the edit. The write is atomic: a temp
//! file in the same directory, fsync, a last check that the file did not change
//! meanwhile, rename over the file, fsync of the directory. A writer that saves
//! between that last check and the rename can still lose its edit; the window is
//! a few system calls wide.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::atomic;

use crate::domain::runbook::{self, Runbook, RunbookError, Task, WriteError};

/// How many times a tick re-reads a file that keeps changing under it before giving up.
const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum RunbookFileError {
    #[error("{}: cannot read the runbook: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{}: {source}", path.display(), source.line())]
    Parse { path: PathBuf, source: RunbookError },
    #[error("{}: {source}", path.display())]
    Task { path: PathBuf, source: WriteError },
    #[error("{}: cannot write the runbook: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}: the runbook keeps changing on disk; the tick was not written, try again", path.display())]
    Busy { path: PathBuf },
}

/// What a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickOutcome {
    /// The file had changed on disk since it was read: the tick was applied to the
    /// fresh bytes (the other edit is kept).
    pub concurrent_edit: bool,
    /// Bytes were written; false when the checkbox already said so.
    pub written: bool,
    /// 1-based line of the task in the file now.
    pub line: usize,
}

/// Length and modification time: a cheap hint that the file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        Stamp { len: meta.len(), modified: meta.modified().ok() }
    }
}

/// A runbook file as last read or written by us.
#[derive(Debug)]
pub struct RunbookFile {
    /// The path as given (for messages).
    path: PathBuf,
    /// Where the bytes really live (symlinks resolved), so a write replaces the file, not the link.
    target: PathBuf,
    bytes: Vec<u8>,
    runbook: Runbook,
    stamp: Stamp,
}

impl RunbookFile {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RunbookFileError> {
        let path = path.as_ref().to_path_buf();
        let target = fs::canonicalize(&path).map_err(|source| RunbookFileError::Read { path: path.clone(), source })?;
        let (bytes, stamp) = read(&target).map_err(|source| RunbookFileError::Read { path: path.clone(), source })?;
        let runbook =
            runbook::parse(&bytes).map_err(|source| RunbookFileError::Parse { path: path.clone(), source })?;
        Ok(RunbookFile { path, target, bytes, runbook, stamp })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes as last read or written.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }

    /// Whether the file on disk differs from what we hold (size and time first, then content).
    pub fn changed_on_disk(&self) -> Result<bool, RunbookFileError> {
        let meta = fs::metadata(&self.target).map_err(|e| self.read_error(e))?;
        if Stamp::of(&meta) == self.stamp {
            return Ok(false);
        }
        let (bytes, _) = read(&self.target).map_err(|e| self.read_error(e))?;
        Ok(bytes != self.bytes)
    }

    /// Read the file again; true if its content changed. On a parse error the old model is kept.
    pub fn reload(&mut self) -> Result<bool, RunbookFileError> {
        let (bytes, stamp) = read(&self.target).map_err(|e| self.read_error(e))?;
        let changed = bytes != self.bytes;
        if changed {
            self.runbook = runbook::parse(&bytes).map_err(|source| self.parse_error(source))?;
            self.bytes = bytes;
        }
        self.stamp = stamp;
        Ok(changed)
    }

    /// Tick (or untick) the task with this ID and write the file.
    pub fn tick(&mut self, id: &str, done: bool) -> Result<TickOutcome, RunbookFileError> {
        let apply = |held: bool, rb: &Runbook, bytes: &[u8]| {
            if held {
                runbook::set_done(bytes, runbook::locate(rb, id)?, done)
            } else {
                runbook::reapply(bytes, id, done)
            }
        };
        self.write_tick(apply, id)
    }

    /// Tick (or untick) a task of [`Self::runbook`]; works for tasks without an ID too.
    pub fn tick_task(&mut self, task: &Task, done: bool) -> Result<TickOutcome, RunbookFileError> {
        let key = task.id.clone().unwrap_or_else(|| task.text.clone());
        let apply = |held: bool, _: &Runbook, bytes: &[u8]| {
            if held {
                runbook::set_done(bytes, task, done).or_else(|_| runbook::reapply_task(bytes, task, done))
            } else {
                runbook::reapply_task(bytes, task, done)
            }
        };
        self.write_tick(apply, &key)
    }

    /// `apply(held, runbook, bytes)`: the new bytes; `held` says `bytes` are the ones we hold.
    fn write_tick(
        &mut self,
        apply: impl Fn(bool, &Runbook, &[u8]) -> Result<Vec<u8>, WriteError>,
        key: &str,
    ) -> Result<TickOutcome, RunbookFileError> {
        let mut concurrent_edit = false;
        for _ in 0..ATTEMPTS {
            let (fresh, stamp) = read(&self.target).map_err(|e| self.read_error(e))?;
            let held = fresh == self.bytes;
            concurrent_edit |= !held;
            let new = apply(held, &self.runbook, &fresh).map_err(|e| self.task_error(e))?;
            if new == fresh {
                self.adopt(fresh, stamp)?;
                return Ok(TickOutcome { concurrent_edit, written: false, line: self.line_of(key) });
            }
            match self.replace(&fresh, &new) {
                Ok(true) => {
                    let meta = fs::metadata(&self.target).map_err(|e| self.read_error(e))?;
                    self.adopt(new, Stamp::of(&meta))?;
                    return Ok(TickOutcome { concurrent_edit, written: true, line: self.line_of(key) });
                }
                Ok(false) => continue,
                Err(e) => return Err(RunbookFileError::Write { path: self.path.clone(), source: e }),
            }
        }
        Err(RunbookFileError::Busy { path: self.path.clone() })
    }

    /// Take `bytes` as what we hold.
    fn adopt(&mut self, bytes: Vec<u8>, stamp: Stamp) -> Result<(), RunbookFileError> {
        self.runbook = runbook::parse(&bytes).map_err(|source| self.parse_error(source))?;
        self.bytes = bytes;
        self.stamp = stamp;
        Ok(())
    }

    fn line_of(&self, key: &str) -> usize {
        self.runbook
            .tasks()
            .find(|t| t.id.as_deref() == Some(key) || (t.id.is_none() && t.text == key))
            .map_or(0, |t| t.line)
    }

    /// Write `new` to a temp file beside the target and rename it over the target, unless the
    /// target no longer holds `expected` (then `Ok(false)`, nothing written).
    fn replace(&self, expected: &[u8], new: &[u8]) -> io::Result<bool> {
        let permissions = fs::metadata(&self.target).ok().map(|m| m.permissions());
        atomic::replace_if(&self.target, new, permissions, || Ok(fs::read(&self.target)? == expected))
    }

    fn read_error(&self, source: io::Error) -> RunbookFileError {
        RunbookFileError::Read { path: self.path.clone(), source }
    }

    fn parse_error(&self, source: RunbookError) -> RunbookFileError {
        RunbookFileError::Parse { path: self.path.clone(), source }
    }

    fn task_error(&self, source: WriteError) -> RunbookFileError {
        match source {
            WriteError::Parse(source) => self.parse_error(source),
            source => RunbookFileError::Task { path: self.path.clone(), source },
        }
    }
}

fn read(path: &Path) -> io::Result<(Vec<u8>, Stamp)> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok((bytes, Stamp::of(&meta)))
}

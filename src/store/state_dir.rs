//! One deployment's state dir: `state.json`, `audit.jsonl`, `cutover.log`, `controls.lock`.
//!
//! ```text
//! <state dir>/            0700
//!   state.json            the cockpit's state, replaced atomically (see state_file)
//!   state.json.prev       the state before the last write (fallback if state.json is damaged)
//!   audit.jsonl           one JSON line per production-changing action (see audit)
//!   cutover.log           the tracing log (written by the app's logger)
//!   controls.lock         held (OS lock) by the one instance that has the controls (see lease)
//!   controls.request      an observer asking for the controls (or a shell taking them)
//!   trigger.request       an observer asking the holder to raise, lower or acknowledge a trigger
//!   action.lock           held for the few seconds a CLI verb or an action runs
//!   state.lock            held for the moment a writer checks the generation and replaces state.json
//!   observers/            one locked file per observing instance
//! ```
//!
//! A state dir opened with [`StateDir::open_read_only`] never creates, changes or removes a file:
//! every method that would returns [`StoreError::ReadOnly`]. [`StateDir::writes`] counts the
//! writes a state dir has made, so tests can prove there were none.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::atomic;
use super::lease::HolderInfo;
use super::state_file::Stamp;
use crate::domain::time::Ts;

pub const STATE_FILE: &str = "state.json";
pub const AUDIT_FILE: &str = "audit.jsonl";
pub const LOG_FILE: &str = "cutover.log";
pub const CONTROLS_LOCK: &str = "controls.lock";
pub const CONTROLS_REQUEST: &str = "controls.request";
pub const ACTION_LOCK: &str = "action.lock";
pub const STATE_LOCK: &str = "state.lock";
pub const TRIGGER_REQUEST: &str = "trigger.request";
pub const OBSERVERS_DIR: &str = "observers";

/// Everything that can go wrong in the state dir. Messages name the file and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: read-only mode: refusing to {action}", path.display())]
    ReadOnly { path: PathBuf, action: &'static str },
    #[error("{}: cannot {op}: {source}", path.display())]
    Io { path: PathBuf, op: &'static str, source: io::Error },
    #[error("{}: no state dir here (has cutover run for this deployment? check --state-dir)", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {problem}{}", path.display(), kept_note(kept_as.as_deref()))]
    Corrupt { path: PathBuf, problem: String, kept_as: Option<PathBuf> },
    #[error(
        "{}: written by a newer cutover (schema {found}), this one reads up to {supported}; upgrade cutover",
        path.display()
    )]
    Newer { path: PathBuf, found: u32, supported: u32 },
    #[error("{}: cannot migrate the state from schema {from} to {}: {reason}", path.display(), from + 1)]
    Migrate { path: PathBuf, from: u32, reason: String },
    #[error(
        "{}: changed meanwhile (now generation {found}{}; this copy was read at generation {expected}): \
         nothing was saved; read it again and re-apply the change",
        path.display(),
        by.as_deref().map(|b| format!(", written by {b}")).unwrap_or_default()
    )]
    Conflict { path: PathBuf, expected: u64, found: u64, by: Option<String> },
    #[error("{}: busy: {}; try again when it is done", path.display(), by_label(by.as_deref()))]
    Busy { path: PathBuf, by: Option<Box<HolderInfo>> },
}

fn kept_note(kept: Option<&Path>) -> String {
    match kept {
        Some(p) => format!(" (the damaged file is kept as {})", p.display()),
        None => String::new(),
    }
}

fn by_label(by: Option<&HolderInfo>) -> String {
    by.map_or_else(|| "another cutover is running an action".into(), |h| h.to_string())
}

impl StoreError {
    pub(crate) fn io(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> StoreError + use<> {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, op, source }
    }
}

/// Who did something: the OS user, where they came from, and which process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Who {
    pub user: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub pid: u32,
    /// The ssh client's address (first field of `$SSH_CONNECTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_client: Option<String>,
    /// The terminal, e.g. `/dev/pts/3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
}

impl Who {
    /// A `Who` for this process: `$USER` (or `$LOGNAME`), the host name, the PID, the ssh client
    /// from `$SSH_CONNECTION` and the terminal (`$SSH_TTY`, else stdin's terminal).
    pub fn from_env() -> Who {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let user = var("USER").or_else(|| var("LOGNAME")).or_else(passwd_name).unwrap_or_else(uid_name);
        let ssh_client = var("SSH_CONNECTION").and_then(|c| c.split_whitespace().next().map(str::to_string));
        let tty = var("SSH_TTY").or_else(stdin_tty);
        Who { user, host: hostname(), pid: std::process::id(), ssh_client, tty }
    }

    /// Who this process is, computed once: every header, log line, audit entry and report of
    /// this process names the same person the same way.
    pub fn current() -> Who {
        static CURRENT: std::sync::OnceLock<Who> = std::sync::OnceLock::new();
        CURRENT.get_or_init(Who::from_env).clone()
    }

    /// A `Who` with just these parts (tests, or an identity from elsewhere).
    pub fn new(user: impl Into<String>, host: impl Into<String>, pid: u32) -> Who {
        Who { user: user.into(), host: host.into(), pid, ssh_client: None, tty: None }
    }

    /// Whether this is the calling process (same host and PID).
    pub fn is_this_process(&self) -> bool {
        self.pid == std::process::id() && self.host == hostname()
    }

    /// Whether the process is known to be gone (same host, and the platform can tell).
    pub(crate) fn known_dead(&self) -> bool {
        self.host == hostname() && atomic::pid_alive(self.pid) == Some(false)
    }

    /// `alice@ops1`: how the header, the log, the status and the report name someone.
    pub fn short(&self) -> String {
        if self.host.is_empty() { self.user.clone() } else { format!("{}@{}", self.user, self.host) }
    }
}

/// `alice@host (pid 42, from 10.0.0.5, /dev/pts/3)`.
impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.user)?;
        if !self.host.is_empty() {
            write!(f, "@{}", self.host)?;
        }
        write!(f, " (pid {}", self.pid)?;
        if let Some(c) = &self.ssh_client {
            write!(f, ", from {c}")?;
        }
        if let Some(t) = &self.tty {
            write!(f, ", {t}")?;
        }
        write!(f, ")")
    }
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

/// This process's user name from `/etc/passwd`, when `$USER` is not set (cron, some containers).
fn passwd_name() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)? == uid).then(|| name.to_string())
        })
    }
    #[cfg(not(unix))]
    None
}

/// `uid 1000`: the last resort when neither `$USER` nor the passwd file names this process.
fn uid_name() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = fs::metadata("/proc/self") {
            return format!("uid {}", m.uid());
        }
    }
    "unknown".into()
}

fn stdin_tty() -> Option<String> {
    use std::io::IsTerminal;
    if !io::stdin().is_terminal() {
        return None;
    }
    fs::read_link("/proc/self/fd/0").ok().map(|p| p.display().to_string())
}

/// The wall clock as a [`Ts`] (the store is IO; the domain gets time as a value).
pub fn now() -> Ts {
    let d = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    Ts(d.as_millis() as i64)
}

/// RFC 3339 with milliseconds, UTC: `2026-05-01T14:02:11.123Z`.
pub fn rfc3339(ts: Ts) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ts.0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ts.0.to_string())
}

/// `<XDG state dir>/cutover/<deployment>` (or the platform's local data dir where there is no
/// state dir), with the deployment name made safe for one folder name.
pub fn default_state_dir(deployment: &str) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "cutover")?;
    let base = dirs.state_dir().unwrap_or(dirs.data_local_dir());
    Some(base.join(folder_name(deployment)))
}

/// A deployment name as one folder name: ASCII letters, digits, `-`, `_` and `.` kept, anything
/// else `_`; never empty, never starting with a dot.
pub fn folder_name(deployment: &str) -> String {
    let mut s: String = deployment
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

/// The parts of a state dir that the audit log and the locks share with it.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub root: PathBuf,
    pub read_only: bool,
    pub writes: Arc<AtomicU64>,
}

impl Ctx {
    /// Refuses in read-only mode; else counts one write.
    pub fn write(&self, action: &'static str) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly { path: self.root.clone(), action });
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// One deployment's state dir, writable or read-only.
#[derive(Debug)]
pub struct StateDir {
    pub(crate) ctx: Ctx,
    /// `state.json` as last read or written by us (for [`StateDir::changed_since`]).
    pub(crate) seen: Option<Stamp>,
    /// The envelope generation last read or written by us.
    pub(crate) generation: u64,
}

impl StateDir {
    /// Opens (creating, mode 0700) a state dir for reading and writing. Removes temp files that a
    /// dead writer left behind.
    pub fn open(path: impl AsRef<Path>) -> Result<StateDir, StoreError> {
        let root = path.as_ref().to_path_buf();
        if !root.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&root).map_err(StoreError::io(&root, "create the state dir"))?;
        }
        let meta = fs::metadata(&root).map_err(StoreError::io(&root, "open the state dir"))?;
        if !meta.is_dir() {
            return Err(StoreError::Io {
                path: root,
                op: "open the state dir",
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let dir = StateDir {
            ctx: Ctx { root, read_only: false, writes: Arc::new(AtomicU64::new(0)) },
            seen: None,
            generation: 0,
        };
        for name in [STATE_FILE, &format!("{STATE_FILE}.prev"), CONTROLS_REQUEST, TRIGGER_REQUEST] {
            let removed = atomic::sweep_temps(&dir.ctx.root, name);
            dir.ctx.writes.fetch_add(removed as u64, Ordering::Relaxed);
        }
        Ok(dir)
    }

    /// Opens an existing state dir to watch it: nothing is ever written.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<StateDir, StoreError> {
        let root = path.as_ref().to_path_buf();
        match fs::metadata(&root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(StoreError::Io {
                    path: root,
                    op: "open the state dir",
                    source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Missing { path: root }),
            Err(source) => return Err(StoreError::Io { path: root, op: "open the state dir", source }),
        }
        Ok(StateDir {
            ctx: Ctx { root, read_only: true, writes: Arc::new(AtomicU64::new(0)) },
            seen: None,
            generation: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.ctx.root
    }

    pub fn is_read_only(&self) -> bool {
        self.ctx.read_only
    }

    /// How many write operations (a state save, an audit append, taking a lock, removing a dead
    /// observer's file, …) this state dir and the locks taken through it have made.
    pub fn writes(&self) -> u64 {
        self.ctx.writes.load(Ordering::Relaxed)
    }

    pub fn state_path(&self) -> PathBuf {
        self.ctx.file(STATE_FILE)
    }

    pub fn audit_path(&self) -> PathBuf {
        self.ctx.file(AUDIT_FILE)
    }

    /// Where the app's logger should write (`cutover.log`); the store itself never writes it.
    pub fn log_path(&self) -> PathBuf {
        self.ctx.file(LOG_FILE)
    }

    pub fn controls_lock_path(&self) -> PathBuf {
        self.ctx.file(CONTROLS_LOCK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_safe() {
        assert_eq!(folder_name("go-live"), "go-live");
        assert_eq!(folder_name("prod/eu west"), "prod_eu_west");
        assert_eq!(folder_name(".."), "_..");
        assert_eq!(folder_name(""), "_");
        assert_eq!(folder_name("café"), "caf_");
    }

    #[test]
    fn who_reads_ssh_connection() {
        let w = Who::from_env();
        assert_eq!(w.pid, std::process::id());
        assert!(!w.user.is_empty());
        let shown =
            Who { ssh_client: Some("10.0.0.5".into()), tty: Some("/dev/pts/3".into()), ..Who::new("alice", "h", 7) }
                .to_string();
        assert_eq!(shown, "alice@h (pid 7, from 10.0.0.5, /dev/pts/3)");
    }

    #[test]
    fn timestamps_are_rfc3339_with_millis() {
        assert_eq!(rfc3339(Ts(1_777_644_131_123)), "2026-05-01T14:02:11.123Z");
    }
}

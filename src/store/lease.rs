//! Who holds the controls, who is watching, handing the controls over, and the action lock.
//!
//! # Controls lease (`controls.lock`)
//! The instance with the controls holds an exclusive OS lock (`flock`, via [`File::try_lock`])
//! on `controls.lock` through a handle kept open for as long as it holds them. The kernel drops
//! the lock when the process ends however it ends, `kill -9` included, so a dead holder never
//! blocks anyone. After locking, the holder writes who it is into the file; [`holder`] reads that
//! back, but only believes it while the lock is really held (a shared-lock probe), so the words a
//! dead holder left behind are ignored. `flock` locks belong to an open file description: a
//! second open of the file in the same process conflicts too, just like another process.
//! (On NFS, `flock` may be emulated or local only: keep state dirs on a local disk.)
//!
//! # Observers (`observers/`)
//! Each observing instance creates `observers/<pid>-<nonce>.lock`, locks it exclusively and
//! keeps the handle open (it is locked under a hidden name first and then renamed, so it is never
//! seen unlocked). [`observers`] counts the files whose lock is held; a file whose lock can be
//! taken belongs to a dead process (the kernel released it, `kill -9` included) and is not
//! counted, from the very next count, and removed by the next writable counter. No heartbeats,
//! no clocks. The holder of the controls is not an observer: it leaves when it takes them.
//!
//! # Handover (`controls.request`)
//! An observer writes a request ([`request_handover`]). The holder polls [`pending_request`],
//! asks its operator, and either [`Lease::hand_over`] (marks the request granted, then releases
//! the lock) or [`decline_request`]. The requester polls [`pending_request`] too: on `Granted`
//! it calls [`Lease::try_acquire`] (the lock is already free) and then [`clear_request`]; on
//! `Declined` it tells its operator and clears it. A request is ignored once stale: pending for
//! more than [`REQUEST_TTL`], answered more than [`ANSWER_TTL`] ago, or its requester is a
//! process on this host that no longer exists.
//!
//! A shell verb run with `--take-controls REASON` writes a request marked taken ([`take_over`]):
//! the holder lets go at once and tells its operator; the verb then locks `controls.lock` itself
//! for as long as it runs.
//!
//! # Trigger requests (`trigger.request`)
//! An observer never raises, lowers or acknowledges a trigger itself: it writes a request
//! ([`send_trigger_request`]) that the holder's poller picks up and removes
//! ([`take_trigger_request`]), and the holder's operator answers.
//!
//! # Action lock (`action.lock`)
//! [`ActionLock`] is a separate, short-lived exclusive lock held while one production-changing
//! action runs (a CLI verb such as `cutover advance`, or the holder's own key press), so two
//! actions never interleave: the second waits up to its timeout and then gets
//! [`StoreError::Busy`] naming the first. It does not replace the controls lease: a CLI verb
//! should also refuse to act while [`holder`] names someone else.

// `File::lock`/`try_lock`/`unlock` are std since 1.89; the crate's `rust-version` still says 1.85.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::atomic;
use super::state_dir::{
    ACTION_LOCK, CONTROLS_LOCK, CONTROLS_REQUEST, Ctx, OBSERVERS_DIR, StateDir, StoreError, TRIGGER_REQUEST, Who, now,
    rfc3339,
};
use super::state_file::private as private_permissions;
use crate::domain::cockpit::TriggerRequest;
use crate::domain::time::Ts;

/// A pending request older than this is ignored.
pub const REQUEST_TTL: Duration = Duration::from_secs(120);
/// A granted or declined request older than this is ignored.
pub const ANSWER_TTL: Duration = Duration::from_secs(30);
/// How long [`Lease::try_acquire`] retries a lock that is busy for a moment (another instance's
/// probe holds it for microseconds) before saying who holds it.
const PROBE_GRACE: Duration = Duration::from_millis(60);
/// A half-joined observer file (its joiner died before renaming it) older than this is removed.
const JOINING_STALE: Duration = Duration::from_secs(10);

/// Who holds a lock, since when, and (for the action lock) doing what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderInfo {
    pub who: Who,
    pub since: Ts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// `alice@ops1 (pid 42) since 2026-05-01T14:02:11.123Z`.
impl fmt::Display for HolderInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.who)?;
        if let Some(w) = &self.what {
            write!(f, " running {w}")?;
        }
        write!(f, " since {}", rfc3339(self.since))
    }
}

/// The outcome of [`Lease::try_acquire`].
#[derive(Debug)]
pub enum Acquire {
    Acquired(Lease),
    /// Someone else has the controls (`None`: they have not said who yet).
    Held {
        by: Option<HolderInfo>,
    },
}

/// The controls. Dropping it (or the process ending) releases them.
#[derive(Debug)]
pub struct Lease {
    file: File,
    path: PathBuf,
    info: HolderInfo,
    ctx: Ctx,
    released: bool,
}

impl Lease {
    /// Takes the controls if nobody holds them.
    pub fn try_acquire(dir: &StateDir, who: &Who) -> Result<Acquire, StoreError> {
        dir.ctx.write("take the controls")?;
        let path = dir.ctx.file(CONTROLS_LOCK);
        let deadline = Instant::now() + PROBE_GRACE;
        loop {
            let file = open_lock(&path)?;
            match file.try_lock() {
                Ok(()) => {
                    if !same_file(&file, &path) {
                        continue; // the lock file was replaced meanwhile: lock the one in place
                    }
                    let info = HolderInfo { who: who.clone(), since: now(), what: None };
                    write_info(&file, &info).map_err(StoreError::io(&path, "write the controls lock"))?;
                    return Ok(Acquire::Acquired(Lease { file, path, info, ctx: dir.ctx.clone(), released: false }));
                }
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => return Ok(Acquire::Held { by: read_info(&path) }),
                Err(TryLockError::Error(source)) => {
                    return Err(StoreError::Io { path, op: "lock the controls", source });
                }
            }
        }
    }

    pub fn info(&self) -> &HolderInfo {
        &self.info
    }

    /// Whether `controls.lock` is still the file we locked (someone deleting it would let a
    /// second instance lock a new one).
    pub fn still_held(&self) -> bool {
        same_file(&self.file, &self.path)
    }

    /// Gives the controls up (and clears the holder's name from the file).
    pub fn release(mut self) -> Result<(), StoreError> {
        self.released = true;
        let cleared = self.file.set_len(0).map_err(StoreError::io(&self.path, "clear the controls lock"));
        let unlocked = self.file.unlock().map_err(StoreError::io(&self.path, "unlock the controls"));
        cleared.and(unlocked)
    }

    /// Grants `request` and releases the controls; the requester picks them up.
    pub fn hand_over(self, request: &Request) -> Result<(), StoreError> {
        let answered =
            Request { state: RequestState::Granted { by: self.info.who.clone(), at: now() }, ..request.clone() };
        write_request(&self.ctx, &answered)?;
        self.release()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.file.set_len(0);
        }
    }
}

/// Who holds the controls now, if anyone (never writes).
pub fn holder(dir: &StateDir) -> Option<HolderInfo> {
    let path = dir.ctx.file(CONTROLS_LOCK);
    if fs::read_to_string(&path).ok()?.trim().is_empty() {
        return None; // released cleanly, or never taken
    }
    held_by(&path)
}

/// Who holds the lock on `path` now, if anyone: a shared-lock probe, then the holder's words (the
/// words a dead holder left behind are not believed). Never writes.
fn held_by(path: &Path) -> Option<HolderInfo> {
    let file = File::open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => read_info(path).or_else(|| Some(unknown_holder())),
        Err(TryLockError::Error(_)) => None,
    }
}

fn unknown_holder() -> HolderInfo {
    HolderInfo { who: Who::new("unknown", "", 0), since: Ts(0), what: None }
}

/// An observing instance; dropping it (or the process ending) stops it being counted.
#[derive(Debug)]
pub struct Observer {
    file: File,
    path: PathBuf,
    id: String,
}

impl Observer {
    /// Registers this instance as an observer of the state dir.
    pub fn join(dir: &StateDir, who: &Who) -> Result<Observer, StoreError> {
        dir.ctx.write("register as an observer")?;
        let folder = dir.ctx.file(OBSERVERS_DIR);
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder).map_err(StoreError::io(&folder, "create the observers folder"))?;
        sweep_joining(&folder);
        let id = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        let joining = folder.join(format!(".{id}.joining"));
        let path = folder.join(format!("{id}.lock"));
        let err = StoreError::io(&path, "register as an observer");
        let result = (|| {
            let mut file = create_private(&joining)?;
            file.lock()?;
            file.write_all(&serde_json::to_vec(who).map_err(io::Error::other)?)?;
            fs::rename(&joining, &path)?;
            Ok(file)
        })();
        match result {
            Ok(file) => Ok(Observer { file, path, id }),
            Err(e) => {
                let _ = fs::remove_file(&joining);
                Err(err(e))
            }
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops being counted.
    pub fn leave(self) {}
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// How many observers are alive (the holder of the controls is not one).
pub fn observers(dir: &StateDir) -> usize {
    observer_list(dir).len()
}

/// The live observers. A writable state dir also removes the files of dead ones.
pub fn observer_list(dir: &StateDir) -> Vec<Who> {
    let folder = dir.ctx.file(OBSERVERS_DIR);
    let Ok(entries) = fs::read_dir(&folder) else { return Vec::new() };
    let mut live = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".lock") {
            continue;
        }
        let Ok(mut file) = File::open(entry.path()) else { continue };
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let pid = name.split('-').next().and_then(|p| p.parse().ok()).unwrap_or(0);
                live.push(serde_json::from_str(&text).unwrap_or_else(|_| Who::new("unknown", "", pid)));
            }
            Ok(()) => {
                // Its owner is gone.
                if dir.ctx.write("remove a dead observer").is_ok() {
                    let _ = fs::remove_file(entry.path());
                }
                let _ = file.unlock();
            }
            Err(TryLockError::Error(_)) => {}
        }
    }
    live
}

/// Removes `.joining` files whose joiner died before finishing.
fn sweep_joining(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".joining") {
            continue;
        }
        let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if old.is_none_or(|age| age <= JOINING_STALE) {
            continue;
        }
        if File::open(entry.path()).is_ok_and(|f| f.try_lock_shared().is_ok()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A request for the controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub who: Who,
    pub at: Ts,
    pub state: RequestState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Granted {
        by: Who,
        at: Ts,
    },
    Declined {
        by: Who,
        at: Ts,
    },
    /// Taken without asking (`--take-controls REASON` from a shell): the holder lets go at once
    /// and tells its operator who took them and why.
    Taken {
        reason: String,
    },
}

/// Asks the holder for the controls (replaces any earlier request).
pub fn request_handover(dir: &StateDir, who: &Who) -> Result<Request, StoreError> {
    let request = Request { who: who.clone(), at: now(), state: RequestState::Pending };
    write_request(&dir.ctx, &request)?;
    Ok(request)
}

/// The current request, unless there is none or it is stale (see the module docs).
pub fn pending_request(dir: &StateDir) -> Option<Request> {
    let text = fs::read(dir.ctx.file(CONTROLS_REQUEST)).ok()?;
    let request: Request = serde_json::from_slice(&text).ok()?;
    let (since, ttl) = match &request.state {
        RequestState::Pending => (request.at, REQUEST_TTL),
        RequestState::Taken { .. } => (request.at, ANSWER_TTL),
        RequestState::Granted { at, .. } | RequestState::Declined { at, .. } => (*at, ANSWER_TTL),
    };
    let age = now().0 - since.0;
    if age > ttl.as_millis() as i64 || request.who.known_dead() {
        return None;
    }
    Some(request)
}

/// Takes the controls without asking: the holder's poller sees this, lets go and tells its
/// operator (see [`RequestState::Taken`]); the taker then picks the lock up.
pub fn take_over(dir: &StateDir, who: &Who, reason: &str) -> Result<Request, StoreError> {
    let request = Request { who: who.clone(), at: now(), state: RequestState::Taken { reason: reason.to_string() } };
    write_request(&dir.ctx, &request)?;
    Ok(request)
}

/// Says no to the current request.
pub fn decline_request(dir: &StateDir, by: &Who) -> Result<(), StoreError> {
    dir.ctx.write("decline a request")?;
    let Some(request) = pending_request(dir) else { return Ok(()) };
    let answered = Request { state: RequestState::Declined { by: by.clone(), at: now() }, ..request };
    write_request(&dir.ctx, &answered)
}

/// Removes the request (the requester, once it has the controls or has read the answer).
pub fn clear_request(dir: &StateDir) -> Result<(), StoreError> {
    dir.ctx.write("clear the controls request")?;
    let path = dir.ctx.file(CONTROLS_REQUEST);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io { path, op: "clear the controls request", source }),
    }
}

fn write_request(ctx: &Ctx, request: &Request) -> Result<(), StoreError> {
    ctx.write("write a controls request")?;
    let path = ctx.file(CONTROLS_REQUEST);
    let bytes = serde_json::to_vec(request).map_err(io::Error::other).map_err(StoreError::io(&path, "encode"))?;
    atomic::replace(&path, &bytes, private_permissions()).map_err(StoreError::io(&path, "write the controls request"))
}

/// An observer's trigger request as kept in `trigger.request`, with who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerAsk {
    pub who: Who,
    pub request: TriggerRequest,
}

/// On an observer: asks the holder to raise, lower or acknowledge a trigger (replaces any earlier
/// request not yet picked up).
pub fn send_trigger_request(dir: &StateDir, who: &Who, request: &TriggerRequest) -> Result<(), StoreError> {
    dir.ctx.write("write a trigger request")?;
    let path = dir.ctx.file(TRIGGER_REQUEST);
    let ask = TriggerAsk { who: who.clone(), request: request.clone() };
    let bytes = serde_json::to_vec(&ask).map_err(io::Error::other).map_err(StoreError::io(&path, "encode"))?;
    atomic::replace(&path, &bytes, private_permissions()).map_err(StoreError::io(&path, "write the trigger request"))
}

/// On the holder: the waiting trigger request of another process, removed as it is picked up
/// (one older than [`REQUEST_TTL`] is removed and ignored).
pub fn take_trigger_request(dir: &StateDir) -> Option<TriggerAsk> {
    let path = dir.ctx.file(TRIGGER_REQUEST);
    let ask: TriggerAsk = serde_json::from_slice(&fs::read(&path).ok()?).ok()?;
    if ask.who.is_this_process() || dir.ctx.write("pick up a trigger request").is_err() {
        return None;
    }
    let _ = fs::remove_file(&path);
    (now().0 - ask.request.at.0 <= REQUEST_TTL.as_millis() as i64).then_some(ask)
}

/// A short-lived exclusive lock held while one action runs. Dropping it releases it.
#[derive(Debug)]
pub struct ActionLock {
    file: File,
    info: HolderInfo,
}

impl ActionLock {
    /// Takes the action lock, waiting up to `timeout` for another action to finish; then
    /// [`StoreError::Busy`] says who is running what.
    pub fn acquire(dir: &StateDir, who: &Who, what: &str, timeout: Duration) -> Result<ActionLock, StoreError> {
        dir.ctx.write("take the action lock")?;
        let path = dir.ctx.file(ACTION_LOCK);
        let deadline = Instant::now() + timeout;
        loop {
            let file = open_lock(&path)?;
            match file.try_lock() {
                Ok(()) if !same_file(&file, &path) => continue,
                Ok(()) => {
                    let info = HolderInfo { who: who.clone(), since: now(), what: Some(what.to_string()) };
                    write_info(&file, &info).map_err(StoreError::io(&path, "write the action lock"))?;
                    return Ok(ActionLock { file, info });
                }
                Err(TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let by = read_info(&path).map(Box::new);
                        return Err(StoreError::Busy { path, by });
                    }
                    std::thread::sleep(left.min(Duration::from_millis(10)));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(StoreError::Io { path, op: "take the action lock", source });
                }
            }
        }
    }

    pub fn info(&self) -> &HolderInfo {
        &self.info
    }
}

impl Drop for ActionLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Who runs an action now, if anyone (never writes): a change the state marks in flight may
/// really be in flight only while someone does.
pub fn action_holder(dir: &StateDir) -> Option<HolderInfo> {
    held_by(&dir.ctx.file(ACTION_LOCK))
}

fn open_lock(path: &Path) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(StoreError::io(path, "open the lock file"))
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Overwrites the lock file's content with `info` (readers retry a half-written one).
fn write_info(mut file: &File, info: &HolderInfo) -> io::Result<()> {
    let bytes = serde_json::to_vec(info).map_err(io::Error::other)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&bytes)?;
    file.set_len(bytes.len() as u64)?;
    file.sync_data()
}

/// The holder named in a lock file, retrying briefly over a half-written one.
fn read_info(path: &Path) -> Option<HolderInfo> {
    for _ in 0..20 {
        let text = fs::read(path).ok()?;
        if let Ok(info) = serde_json::from_slice(&text) {
            return Some(info);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Whether `path` still names the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

//! `state.json`: the cockpit's state in a versioned envelope, replaced atomically.
//!
//! ```json
//! {"schema": 2, "generation": 17, "written_at": "2026-05-01T14:02:11.123Z",
//!  "writer": {"user": "alice", "host": "ops1", "pid": 4242}, "state": { ... }}
//! ```
//!
//! * A write goes to a temp file beside `state.json`, is fsynced, then the current `state.json`
//!   is hard-linked to `state.json.prev` (copied where links are not supported), the temp file
//!   renamed over `state.json` and the directory fsynced. At every instant `state.json` is a
//!   whole file; `state.json.prev` is the state before the last write.
//! * `generation` goes up by one per write: a poller can tell a new state from an old one. Every
//!   write is a compare-and-swap on it ([`StateDir::save_if`]): it is refused with
//!   [`StoreError::Conflict`] when someone else wrote since the writer read, so a stale copy never
//!   overwrites a newer state; [`StateDir::update`] re-reads and re-applies.
//! * The schema is the state type's [`Versioned::SCHEMA`]. An older file is brought up to date
//!   one step at a time by [`Versioned::migrate`]; a newer one is refused with
//!   [`StoreError::Newer`] (and left alone).
//! * A file that cannot be read as an envelope (empty, truncated, not JSON, a state that does
//!   not fit) is renamed to `state.json.corrupt-<UTC time>` and `state.json.prev` is used, with a
//!   warning, and copied back as `state.json`. With no usable `.prev` the error names the file, the
//!   problem and where it was kept. A read-only state dir reports the same but moves nothing.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::atomic;
use super::state_dir::{STATE_FILE, STATE_LOCK, StateDir, StoreError, Who, now, rfc3339};

/// A state type stored in `state.json`.
pub trait Versioned: Serialize + DeserializeOwned {
    /// The schema this build writes (and the newest it reads). Start at 1; add 1 with each
    /// incompatible change and teach [`Versioned::migrate`] the step.
    const SCHEMA: u32;

    /// Brings a state written with schema `from` to schema `from + 1`. Called once per step
    /// from the file's schema up to [`Versioned::SCHEMA`].
    fn migrate(from: u32, state: Value) -> Result<Value, String> {
        let _ = state;
        Err(format!("this cutover has no migration from schema {from}"))
    }
}

/// What the envelope said about a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The schema in the file (before any migration).
    pub schema: u32,
    pub generation: u64,
    pub written_at: String,
    pub writer: Option<Who>,
}

/// Which file a state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Current,
    /// `state.json` was missing or damaged; this is `state.json.prev`.
    Prev,
}

#[derive(Debug)]
pub struct Loaded<T> {
    pub state: T,
    pub meta: Meta,
    pub source: Source,
    /// What went wrong on the way (a damaged file kept aside, a migration); show them to the user.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub generation: u64,
    /// Something that went wrong without stopping the write (e.g. `.prev` could not be kept).
    pub warnings: Vec<String>,
}

/// Identity, size and time of a file: a cheap "did it change" check. Each write renames a new
/// file into place, so the inode alone changes with every write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Stamp { dev, ino, len: meta.len(), modified: meta.modified().ok() }
    }

    fn of_path(path: &Path) -> Option<Stamp> {
        fs::metadata(path).ok().map(|m| Stamp::of(&m))
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    schema: u32,
    generation: u64,
    written_at: String,
    writer: &'a Who,
    state: &'a T,
}

/// Why a file could not be used.
enum Bad {
    Corrupt(String),
    Newer(u32),
    Migrate { from: u32, reason: String },
}

struct Decoded<T> {
    state: T,
    meta: Meta,
}

/// A usable `state.json.prev`: what it holds, its path and its bytes.
struct Prev<T> {
    decoded: Decoded<T>,
    path: PathBuf,
    bytes: Vec<u8>,
}

fn decode<T: Versioned>(bytes: &[u8]) -> Result<Decoded<T>, Bad> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Bad::Corrupt("the file is empty".into()));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Bad::Corrupt(if e.is_eof() { format!("the file is truncated ({e})") } else { format!("not valid JSON ({e})") })
    })?;
    let Value::Object(mut obj) = value else {
        return Err(Bad::Corrupt("not a state envelope (expected a JSON object)".into()));
    };
    let schema = obj
        .get("schema")
        .and_then(Value::as_u64)
        .and_then(|s| u32::try_from(s).ok())
        .filter(|s| *s >= 1)
        .ok_or_else(|| Bad::Corrupt("not a state envelope (no \"schema\" version number)".into()))?;
    if schema > T::SCHEMA {
        return Err(Bad::Newer(schema));
    }
    let mut state =
        obj.remove("state").ok_or_else(|| Bad::Corrupt("not a state envelope (no \"state\" field)".into()))?;
    let generation = obj.get("generation").and_then(Value::as_u64).unwrap_or(0);
    let written_at = obj.get("written_at").and_then(Value::as_str).unwrap_or_default().to_string();
    let writer = obj.remove("writer").and_then(|w| serde_json::from_value(w).ok());
    for from in schema..T::SCHEMA {
        state = T::migrate(from, state).map_err(|reason| Bad::Migrate { from, reason })?;
    }
    let state = T::deserialize(state)
        .map_err(|e| Bad::Corrupt(format!("the state does not fit schema {} of this cutover ({e})", T::SCHEMA)))?;
    Ok(Decoded { state, meta: Meta { schema, generation, written_at, writer } })
}

/// The bytes of a file and the stamp of exactly what was read; `None` if there is no file.
fn read(path: &Path) -> Result<Option<(Vec<u8>, Stamp)>, StoreError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Io { path: path.into(), op: "read the state", source }),
    };
    let meta = file.metadata().map_err(StoreError::io(path, "read the state"))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).map_err(StoreError::io(path, "read the state"))?;
    Ok(Some((bytes, Stamp::of(&meta))))
}

fn describe(meta: &Meta) -> String {
    let by = meta.writer.as_ref().map(|w| format!(" by {}", w.user)).unwrap_or_default();
    format!("generation {}, written at {}{by}", meta.generation, meta.written_at)
}

/// `NAME.corrupt-20260501T140211.123Z` beside `path`, not yet taken.
fn corrupt_name(path: &Path) -> PathBuf {
    let ts = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut candidate = path.with_file_name(format!("{name}.corrupt-{ts}"));
    let mut n = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.corrupt-{ts}-{n}"));
        n += 1;
    }
    candidate
}

#[cfg(unix)]
pub(crate) fn private() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
pub(crate) fn private() -> Option<fs::Permissions> {
    None
}

impl StateDir {
    pub fn prev_path(&self) -> PathBuf {
        self.ctx.file(&format!("{STATE_FILE}.prev"))
    }

    /// Reads the state: `None` when nothing was saved yet. See the module docs for what happens
    /// to a damaged file.
    pub fn load<T: Versioned>(&mut self) -> Result<Option<Loaded<T>>, StoreError> {
        let path = self.state_path();
        let Some((bytes, stamp)) = read(&path)? else {
            self.seen = None;
            let Some(prev) = self.load_prev::<T>()? else { return Ok(None) };
            let mut warnings = vec![format!(
                "{} is missing; using {} ({})",
                path.display(),
                prev.path.display(),
                describe(&prev.decoded.meta)
            )];
            self.restore(&prev.bytes, &mut warnings);
            return Ok(Some(self.loaded(prev.decoded, Source::Prev, warnings)));
        };
        match decode::<T>(&bytes) {
            Ok(d) => {
                self.seen = Some(stamp);
                let mut warnings = Vec::new();
                if d.meta.schema < T::SCHEMA {
                    warnings.push(format!(
                        "{}: migrated from schema {} to {}; it is written as {} on the next save",
                        path.display(),
                        d.meta.schema,
                        T::SCHEMA,
                        T::SCHEMA
                    ));
                }
                Ok(Some(self.loaded(d, Source::Current, warnings)))
            }
            Err(Bad::Newer(found)) => Err(StoreError::Newer { path, found, supported: T::SCHEMA }),
            Err(Bad::Migrate { from, reason }) => Err(StoreError::Migrate { path, from, reason }),
            Err(Bad::Corrupt(problem)) => {
                let kept_as = self.keep_aside(&path);
                let kept_note = match &kept_as {
                    Some(k) => format!("kept as {}", k.display()),
                    None if self.ctx.read_only => "left in place (read-only)".to_string(),
                    None => "could not be moved aside".to_string(),
                };
                match self.load_prev::<T>() {
                    Ok(Some(Prev { decoded: d, path: prev_path, bytes: prev_bytes })) => {
                        let mut warnings = vec![format!(
                            "{}: {problem}; {kept_note}; using {} ({})",
                            path.display(),
                            prev_path.display(),
                            describe(&d.meta)
                        )];
                        if kept_as.is_some() {
                            self.restore(&prev_bytes, &mut warnings);
                        } else {
                            self.seen = Some(stamp);
                        }
                        Ok(Some(self.loaded(d, Source::Prev, warnings)))
                    }
                    Ok(None) | Err(_) => Err(StoreError::Corrupt { path, problem, kept_as }),
                }
            }
        }
    }

    /// Writes the state (atomically; the old one becomes `state.json.prev`), as a compare-and-swap
    /// on the generation this state dir last read or wrote: see [`StateDir::save_if`].
    pub fn save<T: Versioned>(&mut self, state: &T, writer: &Who) -> Result<Saved, StoreError> {
        let expected = self.generation;
        self.save_if(state, writer, expected)
    }

    /// Writes the state only if `state.json` is still at generation `expected` (0: nothing saved
    /// yet), else [`StoreError::Conflict`] and nothing is written (a missing file is no conflict).
    /// The check and the rename happen under an exclusive lock on `state.lock`, so two writers can
    /// never both win from the same generation: one writer's save never undoes another's. A damaged file is kept aside and
    /// does not count as a change.
    pub fn save_if<T: Versioned>(&mut self, state: &T, writer: &Who, expected: u64) -> Result<Saved, StoreError> {
        self.ctx.write("write the state")?;
        let path = self.state_path();
        let prev = self.prev_path();
        let _guard = StateLock::take(&self.ctx.file(STATE_LOCK))?;
        let mut warnings = Vec::new();
        let (found, keep_current) = match read(&path)?.map(|(b, _)| serde_json::from_slice::<Value>(&b)) {
            // No writer ever removes the file (a write is a rename over it): nothing to lose, and
            // the count goes on from what this writer knew, so followers never see it go back.
            None => (expected, false),
            Some(Ok(v)) if v.get("schema").and_then(Value::as_u64).is_some() => {
                let schema = v.get("schema").and_then(Value::as_u64).unwrap_or(0);
                if schema > u64::from(T::SCHEMA) {
                    // Never overwrite what a newer cutover wrote.
                    let found = u32::try_from(schema).unwrap_or(u32::MAX);
                    return Err(StoreError::Newer { path, found, supported: T::SCHEMA });
                }
                let found = v.get("generation").and_then(Value::as_u64).unwrap_or(0);
                if found != expected {
                    let by = v.get("writer").cloned().and_then(|w| serde_json::from_value::<Who>(w).ok());
                    return Err(StoreError::Conflict { path, expected, found, by: by.map(|w| w.short()) });
                }
                (found, true)
            }
            Some(_) => {
                if let Some(k) = self.keep_aside(&path) {
                    warnings.push(format!("{} was damaged; kept as {}", path.display(), k.display()));
                }
                (expected, false)
            }
        };
        let generation = found + 1;
        let envelope = EnvelopeOut { schema: T::SCHEMA, generation, written_at: rfc3339(now()), writer, state };
        let bytes = serde_json::to_vec(&envelope).map_err(|e| StoreError::Io {
            path: path.clone(),
            op: "encode the state",
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        let mut bytes = crate::text::scrub_bytes(bytes);
        bytes.push(b'\n');
        let mut prev_problem = None;
        atomic::replace_if(&path, &bytes, private(), || {
            if keep_current {
                prev_problem = keep_prev(&path, &prev).err();
            }
            Ok(true)
        })
        .map_err(StoreError::io(&path, "write the state"))?;
        if let Some(e) = prev_problem {
            warnings.push(format!("{}: cannot keep the previous state: {e}", prev.display()));
        }
        self.seen = Stamp::of_path(&path);
        self.generation = generation;
        Ok(Saved { generation, warnings })
    }

    /// Read, change, write, as often as it takes: `apply` gets the state as now on disk (`None`:
    /// nothing saved yet) and returns the state to write, or an error to refuse the change. When
    /// another writer saved in between, the state is read again and `apply` runs again on it, so
    /// no update is lost. Gives up with the conflict after 100 tries.
    pub fn update<T, E>(
        &mut self,
        writer: &Who,
        mut apply: impl FnMut(Option<T>) -> Result<T, E>,
    ) -> Result<(T, Saved), E>
    where
        T: Versioned,
        E: From<StoreError>,
    {
        let mut tries = 0;
        loop {
            let current = self.load::<T>()?.map(|l| l.state);
            let expected = if current.is_some() { self.generation } else { self.disk_generation() };
            let next = apply(current)?;
            match self.save_if(&next, writer, expected) {
                Ok(saved) => return Ok((next, saved)),
                Err(StoreError::Conflict { .. }) if tries < 100 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The generation `state.json` has now (0 when there is none or it cannot be read).
    fn disk_generation(&self) -> u64 {
        read(&self.state_path())
            .ok()
            .flatten()
            .and_then(|(b, _)| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("generation").and_then(Value::as_u64))
            .unwrap_or(0)
    }

    /// Whether `state.json` changed since this state dir last read, wrote or reported it (one
    /// `stat`; each write renames a new file into place, so the inode changes every time). A
    /// poller calls this every few hundred ms and [`StateDir::load`]s only when it says so.
    pub fn changed_since(&mut self) -> bool {
        let now = Stamp::of_path(&self.state_path());
        let changed = now != self.seen;
        self.seen = now;
        changed
    }

    /// The generation last read or written.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn loaded<T>(&mut self, d: Decoded<T>, source: Source, warnings: Vec<String>) -> Loaded<T> {
        self.generation = d.meta.generation;
        Loaded { state: d.state, meta: d.meta, source, warnings }
    }

    fn load_prev<T: Versioned>(&self) -> Result<Option<Prev<T>>, StoreError> {
        let prev = self.prev_path();
        let Some((bytes, _)) = read(&prev)? else { return Ok(None) };
        match decode::<T>(&bytes) {
            Ok(decoded) => Ok(Some(Prev { decoded, path: prev, bytes })),
            Err(Bad::Corrupt(problem)) => Err(StoreError::Corrupt { path: prev, problem, kept_as: None }),
            Err(Bad::Newer(found)) => Err(StoreError::Newer { path: prev, found, supported: T::SCHEMA }),
            Err(Bad::Migrate { from, reason }) => Err(StoreError::Migrate { path: prev, from, reason }),
        }
    }

    /// Renames a damaged file to `NAME.corrupt-<time>` (not in read-only mode).
    fn keep_aside(&self, path: &Path) -> Option<PathBuf> {
        self.ctx.write("keep a damaged state file aside").ok()?;
        let target = corrupt_name(path);
        fs::rename(path, &target).ok()?;
        atomic::sync_dir(&self.ctx.root);
        Some(target)
    }

    /// Puts the `.prev` bytes back as `state.json` so other readers stop tripping over it.
    fn restore(&mut self, bytes: &[u8], warnings: &mut Vec<String>) {
        if self.ctx.write("restore the state").is_err() {
            return;
        }
        let path = self.state_path();
        match atomic::replace(&path, bytes, private()) {
            Ok(()) => self.seen = Stamp::of_path(&path),
            Err(e) => warnings.push(format!("{}: cannot restore it from the previous state: {e}", path.display())),
        }
    }
}

/// The exclusive lock on `state.lock`, held while a writer compares the generation and renames its
/// file into place (a few milliseconds); released on drop, or by the kernel when the process ends.
struct StateLock(File);

impl StateLock {
    fn take(path: &Path) -> Result<StateLock, StoreError> {
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(StoreError::io(path, "open the state lock"))?;
        file.lock().map_err(StoreError::io(path, "lock the state"))?;
        Ok(StateLock(file))
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Makes `prev` a copy of `current` (a hard link where possible), replacing it atomically.
fn keep_prev(current: &Path, prev: &Path) -> io::Result<()> {
    let tmp = atomic::temp_path(prev);
    let linked = fs::hard_link(current, &tmp).or_else(|_| {
        fs::copy(current, &tmp)?;
        File::open(&tmp)?.sync_all()
    });
    if let Err(e) = linked.and_then(|()| fs::rename(&tmp, prev)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

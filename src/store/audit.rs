//! `audit.jsonl`: who did what, when, at which stage, and what the cockpit saw at that moment.
//!
//! One JSON object per line:
//!
//! ```json
//! {"when":"2026-05-01T14:02:11.123Z","when_ms":1777644131123,
//!  "who":{"user":"alice","host":"ops1","pid":4242,"ssh_client":"10.0.0.5","tty":"/dev/pts/3"},
//!  "what":"advance","stage":"25%","detail":{"from":10,"to":25,"slo":{...},"triggers":{...}}}
//! ```
//!
//! The file is opened with `O_APPEND` and each entry goes out as one `write_all` of the whole
//! line and its `\n`, then `sync_data`: after a crash the file ends with whole lines, or (a power
//! cut, a full disk) with one torn line. Readers report a torn last line and skip it; before
//! appending, a writer that finds the file not ending in `\n` adds one, so the next entry starts
//! on a line of its own and the torn fragment stays behind as a damaged line (reported, never
//! fatal). Lines are never rewritten or removed.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::atomic;
use super::state_dir::{StateDir, StoreError, Who, rfc3339};
use crate::domain::time::Ts;

/// How much of the end of the file [`StateDir::audit_tail`] reads at first.
const TAIL_CHUNK: u64 = 64 * 1024;
/// How much of a damaged line a report quotes.
const QUOTE: usize = 120;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", from = "Wire")]
pub struct AuditEntry {
    pub when: Ts,
    pub who: Who,
    /// The action: `advance`, `rollback`, `tick`, `take-controls`, `override`, …
    pub what: String,
    /// The traffic stage at the time, e.g. `25%`.
    pub stage: Option<String>,
    /// Anything else: the SLO and trigger snapshot, reasons, overrides.
    pub detail: Value,
}

impl AuditEntry {
    pub fn new(when: Ts, who: Who, what: impl Into<String>) -> AuditEntry {
        AuditEntry { when, who, what: what.into(), stage: None, detail: Value::Null }
    }

    pub fn stage(mut self, stage: impl Into<String>) -> AuditEntry {
        self.stage = Some(stage.into());
        self
    }

    pub fn detail(mut self, detail: Value) -> AuditEntry {
        self.detail = detail;
        self
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// RFC 3339, for people; `when_ms` is what is read back.
    #[serde(default)]
    when: String,
    when_ms: i64,
    who: Who,
    what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    detail: Value,
}

impl From<AuditEntry> for Wire {
    fn from(e: AuditEntry) -> Wire {
        Wire { when: rfc3339(e.when), when_ms: e.when.0, who: e.who, what: e.what, stage: e.stage, detail: e.detail }
    }
}

impl From<Wire> for AuditEntry {
    fn from(w: Wire) -> AuditEntry {
        AuditEntry { when: Ts(w.when_ms), who: w.who, what: w.what, stage: w.stage, detail: w.detail }
    }
}

/// A line that could not be read as an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// 1-based line number (known when the whole file was read).
    pub line: Option<usize>,
    pub problem: String,
    /// The start of the line, for the report.
    pub text: String,
}

/// What a read of the audit log found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditRead {
    pub entries: Vec<AuditEntry>,
    /// Lines in the middle that are not entries (e.g. a fragment torn by an earlier crash).
    pub damaged: Vec<Damaged>,
    /// The last line, when it has no `\n` and is not a whole entry: a write cut short. Ignored;
    /// the next append starts on a fresh line.
    pub torn_tail: Option<Damaged>,
}

impl AuditRead {
    /// One warning per damaged or torn line, ready to show.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let at = |d: &Damaged| match d.line {
            Some(l) => format!("{}:{l}", path.display()),
            None => format!("{} (byte {})", path.display(), d.offset),
        };
        let mut out: Vec<String> = self
            .damaged
            .iter()
            .map(|d| format!("{}: damaged line skipped: {} ({:?})", at(d), d.problem, d.text))
            .collect();
        if let Some(t) = &self.torn_tail {
            out.push(format!("{}: torn last line ignored (a write was cut short): {:?}", at(t), t.text));
        }
        out
    }
}

impl StateDir {
    /// Appends one entry: one `write_all` of the whole line, then `sync_data`.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.ctx.write("append to the audit log")?;
        let path = self.audit_path();
        let err = |op| StoreError::io(&path, op);
        let line = serde_json::to_vec(entry).map_err(|e| StoreError::Io {
            path: path.clone(),
            op: "encode an audit entry",
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        let mut line = crate::text::scrub_bytes(line);
        line.push(b'\n');
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(err("open the audit log"))?;
        let len = file.metadata().map_err(err("read the audit log"))?.len();
        if len > 0 && last_byte(&mut file, len).map_err(err("read the audit log"))? != b'\n' {
            line.insert(0, b'\n');
        }
        file.write_all(&line).map_err(err("append to the audit log"))?;
        file.sync_data().map_err(err("sync the audit log"))?;
        if len == 0 {
            atomic::sync_dir(&self.ctx.root);
        }
        Ok(())
    }

    /// Every entry, for a report; damaged lines are reported in [`AuditRead`], never fatal.
    pub fn read_audit(&self) -> Result<AuditRead, StoreError> {
        let path = self.audit_path();
        let Some(mut file) = open_existing(&path)? else { return Ok(AuditRead::default()) };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(StoreError::io(&path, "read the audit log"))?;
        Ok(parse(&bytes, 0, Some(1)))
    }

    /// The last `n` entries (oldest first), reading only the end of the file.
    pub fn audit_tail(&self, n: usize) -> Result<AuditRead, StoreError> {
        let path = self.audit_path();
        let Some(mut file) = open_existing(&path)? else { return Ok(AuditRead::default()) };
        let err = StoreError::io(&path, "read the audit log");
        let result = (|| {
            let len = file.metadata()?.len();
            let mut chunk = TAIL_CHUNK;
            loop {
                let start = len.saturating_sub(chunk);
                file.seek(SeekFrom::Start(start))?;
                let mut bytes = Vec::with_capacity((len - start) as usize);
                (&mut file).take(len - start).read_to_end(&mut bytes)?;
                // Unless at the start, the first line is probably cut: skip past its end.
                let skip =
                    if start == 0 { 0 } else { bytes.iter().position(|b| *b == b'\n').map_or(bytes.len(), |p| p + 1) };
                let mut read = parse(&bytes[skip..], start + skip as u64, if start == 0 { Some(1) } else { None });
                if read.entries.len() >= n || start == 0 {
                    let extra = read.entries.len().saturating_sub(n);
                    read.entries.drain(..extra);
                    return Ok(read);
                }
                chunk = chunk.saturating_mul(4);
            }
        })();
        result.map_err(err)
    }
}

fn open_existing(path: &Path) -> Result<Option<File>, StoreError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path: path.into(), op: "read the audit log", source }),
    }
}

#[cfg(unix)]
fn last_byte(file: &mut File, len: u64) -> io::Result<u8> {
    let mut b = [0u8];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut b, len - 1)?;
    Ok(b[0])
}

#[cfg(not(unix))]
fn last_byte(file: &mut File, len: u64) -> io::Result<u8> {
    let mut b = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut b)?;
    Ok(b[0])
}

/// Parses lines; `offset` is where `bytes` start in the file, `first_line` their line number.
fn parse(bytes: &[u8], offset: u64, first_line: Option<usize>) -> AuditRead {
    let mut read = AuditRead::default();
    let mut pos = 0usize;
    let mut n = 0usize;
    while pos < bytes.len() {
        let (line, complete) = match bytes[pos..].iter().position(|b| *b == b'\n') {
            Some(end) => (&bytes[pos..pos + end], true),
            None => (&bytes[pos..], false),
        };
        let damaged = |problem: String| Damaged {
            offset: offset + pos as u64,
            line: first_line.map(|f| f + n),
            problem,
            text: String::from_utf8_lossy(&line[..line.len().min(QUOTE)]).into_owned(),
        };
        if !line.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<AuditEntry>(line) {
                Ok(entry) => read.entries.push(entry),
                Err(e) if complete => read.damaged.push(damaged(e.to_string())),
                Err(e) => read.torn_tail = Some(damaged(e.to_string())),
            }
        }
        pos += line.len() + 1;
        n += 1;
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(what: &str) -> Vec<u8> {
        let mut l = serde_json::to_vec(&AuditEntry::new(Ts(5), Who::new("a", "h", 1), what)).unwrap();
        l.push(b'\n');
        l
    }

    #[test]
    fn entries_round_trip_with_both_times() {
        let e = AuditEntry::new(Ts(1_777_644_131_123), Who::new("alice", "ops1", 42), "advance")
            .stage("25%")
            .detail(serde_json::json!({"from": 10, "to": 25}));
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.starts_with(r#"{"when":"2026-05-01T14:02:11.123Z","when_ms":1777644131123,"#), "{text}");
        assert_eq!(serde_json::from_str::<AuditEntry>(&text).unwrap(), e);
    }

    #[test]
    fn torn_tail_and_damaged_middle_are_reported() {
        let mut bytes = line("one");
        bytes.extend_from_slice(b"{\"when\":\"20\n\n");
        bytes.extend(line("two"));
        bytes.extend_from_slice(b"{\"when_ms\":1,\"wh");
        let read = parse(&bytes, 0, Some(1));
        assert_eq!(read.entries.iter().map(|e| e.what.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(read.damaged.len(), 1);
        assert_eq!(read.damaged[0].line, Some(2));
        let torn = read.torn_tail.unwrap();
        assert_eq!(torn.line, Some(5));
        assert_eq!(torn.text, "{\"when_ms\":1,\"wh");
    }

    #[test]
    fn a_whole_last_line_without_newline_is_an_entry() {
        let mut bytes = line("one");
        bytes.pop();
        let read = parse(&bytes, 0, Some(1));
        assert_eq!(read.entries.len(), 1);
        assert!(read.torn_tail.is_none());
    }
}

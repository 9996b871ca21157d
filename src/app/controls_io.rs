//! The controls lease in a running cockpit: taken at start (or joined as an observer), then a
//! thread polls every 250 ms for who holds the controls, how many watch, handover requests and
//! answers, and whether someone else wrote `state.json`, and sends what it sees into the loop.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::Msg;
use crate::domain::cockpit::{ControlsInfo, ControlsOp, Event, PersistedState};
use crate::store::{
    Acquire, Lease, Observer, RequestState, StateDir, Who, clear_request, decline_request, holder, observers,
    pending_request, request_handover, take_trigger_request,
};

const POLL: Duration = Duration::from_millis(250);

/// This instance's side of the lease.
struct Controls {
    dir: StateDir,
    who: Who,
    read_only: bool,
    lease: Option<Lease>,
    observer: Option<Observer>,
    /// A request of ours awaits an answer.
    asked: bool,
}

/// Takes the controls if they are free, else joins as an observer (a read-only instance does
/// neither), and starts the poller. Returns what it found and where to send the operator's ops.
pub fn start(
    path: &Path,
    read_only: bool,
    tx: UnboundedSender<Msg>,
) -> Result<(ControlsInfo, Sender<ControlsOp>), String> {
    let who = Who::current();
    let dir = if read_only { StateDir::open_read_only(path) } else { StateDir::open(path) };
    let dir = dir.map_err(|e| e.to_string())?;
    let mut c = Controls { dir, who, read_only, lease: None, observer: None, asked: false };
    if !read_only {
        match Lease::try_acquire(&c.dir, &c.who).map_err(|e| e.to_string())? {
            Acquire::Acquired(l) => c.lease = Some(l),
            Acquire::Held { .. } => c.observer = Some(Observer::join(&c.dir, &c.who).map_err(|e| e.to_string())?),
        }
    }
    // What is on disk now was already loaded at start: only later writes are news.
    c.dir.changed_since();
    let info = c.info();
    let (ops_tx, ops_rx) = std::sync::mpsc::channel();
    let first = info.clone();
    std::thread::Builder::new()
        .name("controls".into())
        .spawn(move || c.run(ops_rx, tx, first))
        .map_err(|e| format!("cannot start the controls poller: {e}"))?;
    Ok((info, ops_tx))
}

impl Controls {
    fn run(mut self, ops: Receiver<ControlsOp>, tx: UnboundedSender<Msg>, mut last: ControlsInfo) {
        loop {
            let mut notes = Vec::new();
            match ops.recv_timeout(POLL) {
                Ok(op) => notes.extend(self.op(op)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            notes.extend(self.follow_request());
            notes.extend(self.check_lease());
            let taken = self.follow_taken();
            let info = self.info();
            let mut sent = Ok(());
            if info != last || !notes.is_empty() {
                let note = (!notes.is_empty()).then(|| notes.join("; "));
                sent = tx.send(Msg::Domain(Event::Controls { info: info.clone(), note }));
                last = info;
            }
            if let Some(event) = taken {
                sent = sent.and(tx.send(Msg::Domain(event)));
            }
            if self.lease.is_some()
                && let Some(ask) = take_trigger_request(&self.dir)
            {
                sent = sent.and(tx.send(Msg::Domain(Event::TriggerRequest(ask.request))));
            }
            if let Some(event) = self.state_change() {
                sent = sent.and(tx.send(Msg::Domain(event)));
            }
            if sent.is_err() {
                break; // the loop has ended
            }
        }
    }

    fn info(&self) -> ControlsInfo {
        let held = self.lease.is_some();
        let holder = if held { Some(self.who.short()) } else { holder(&self.dir).map(|h| h.who.short()) };
        let asked_by = if held {
            pending_request(&self.dir)
                .filter(|r| r.state == RequestState::Pending && !r.who.is_this_process())
                .map(|r| r.who.short())
        } else {
            None
        };
        ControlsInfo { held, holder, observers: observers(&self.dir), asked_by, shared: true }
    }

    fn op(&mut self, op: ControlsOp) -> Option<String> {
        if self.read_only {
            return Some("read-only: this instance never takes the controls".into());
        }
        let done = match op {
            ControlsOp::Take => self.take(),
            ControlsOp::HandOver => self.hand_over(),
            ControlsOp::Decline => decline_request(&self.dir, &self.who).map(|()| None).map_err(|e| e.to_string()),
        };
        done.unwrap_or_else(|e| Some(format!("controls: {e}")))
    }

    fn take(&mut self) -> Result<Option<String>, String> {
        if self.lease.is_some() {
            return Ok(None);
        }
        match Lease::try_acquire(&self.dir, &self.who).map_err(|e| e.to_string())? {
            Acquire::Acquired(l) => {
                self.lease = Some(l);
                self.observer = None;
                self.asked = false;
                Ok(Some("the controls were free: taken".into()))
            }
            Acquire::Held { by } => {
                request_handover(&self.dir, &self.who).map_err(|e| e.to_string())?;
                self.asked = true;
                let by = by.map_or_else(|| "their holder".to_string(), |h| h.who.short());
                Ok(Some(format!("asked {by} for the controls")))
            }
        }
    }

    fn hand_over(&mut self) -> Result<Option<String>, String> {
        let request = pending_request(&self.dir).filter(|r| r.state == RequestState::Pending);
        let (Some(request), Some(lease)) = (request, self.lease.take()) else {
            return Ok(Some("the request for the controls is gone: nothing handed over".into()));
        };
        lease.hand_over(&request).map_err(|e| e.to_string())?;
        self.observer = Some(Observer::join(&self.dir, &self.who).map_err(|e| e.to_string())?);
        Ok(Some(format!("you handed the controls to {}", request.who.short())))
    }

    /// Our own request: granted → take the lease; declined or gone → say so.
    fn follow_request(&mut self) -> Option<String> {
        if !self.asked {
            return None;
        }
        let request = pending_request(&self.dir);
        let note = match request {
            Some(r) if r.who.is_this_process() => match r.state {
                RequestState::Pending => return None,
                RequestState::Granted { by, .. } => match Lease::try_acquire(&self.dir, &self.who) {
                    Ok(Acquire::Acquired(l)) => {
                        self.lease = Some(l);
                        self.observer = None;
                        let _ = clear_request(&self.dir);
                        format!("{} handed you the controls", by.short())
                    }
                    // Granted a moment before the lock is released: try again next round.
                    Ok(Acquire::Held { .. }) => return None,
                    Err(e) => format!("the controls were handed over but cannot be taken: {e}"),
                },
                RequestState::Declined { by, .. } => {
                    let _ = clear_request(&self.dir);
                    format!("{} keeps the controls", by.short())
                }
                RequestState::Taken { .. } => return None,
            },
            Some(r) => format!("{} asked for the controls after you: your request was replaced", r.who.short()),
            None => "your request for the controls expired without an answer".into(),
        };
        self.asked = false;
        Some(note)
    }

    /// On the holder: someone took the controls without asking (`--take-controls` from a shell):
    /// let go at once, watch from now on, and tell the operator who and why.
    fn follow_taken(&mut self) -> Option<Event> {
        self.lease.as_ref()?;
        let r = pending_request(&self.dir).filter(|r| !r.who.is_this_process())?;
        let RequestState::Taken { reason } = r.state else { return None };
        if let Some(lease) = self.lease.take()
            && let Err(e) = lease.release()
        {
            tracing::error!("{e}");
        }
        self.observer = Observer::join(&self.dir, &self.who).map_err(|e| tracing::error!("{e}")).ok();
        Some(Event::ControlsTaken { by: r.who.short(), reason })
    }

    /// Someone deleted `controls.lock` under us: a second instance could lock a new one.
    fn check_lease(&mut self) -> Option<String> {
        if self.lease.as_ref().is_none_or(Lease::still_held) {
            return None;
        }
        self.lease = None;
        self.observer = Observer::join(&self.dir, &self.who).ok();
        Some(format!(
            "{} was removed: the controls are lost, press t to take them",
            self.dir.controls_lock_path().display()
        ))
    }

    /// `state.json` written by another process since we last looked.
    fn state_change(&mut self) -> Option<Event> {
        if !self.dir.changed_since() {
            return None;
        }
        match self.dir.load::<PersistedState>() {
            Ok(Some(loaded)) if loaded.meta.writer.as_ref().is_some_and(Who::is_this_process) => None,
            Ok(Some(loaded)) => Some(Event::StateLoaded {
                state: Box::new(loaded.state),
                by: loaded.meta.writer.as_ref().map(Who::short),
                generation: loaded.meta.generation,
            }),
            Ok(None) => None,
            Err(e) => {
                tracing::error!("cannot follow the state file: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::Cockpit;

    fn temp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("cutover-controls-io-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    fn controls(path: &Path) -> Controls {
        let dir = StateDir::open(path).unwrap();
        Controls { dir, who: Who::current(), read_only: false, lease: None, observer: None, asked: false }
    }

    #[test]
    fn state_written_by_another_process_is_news_and_our_own_is_not() {
        let path = temp("state");
        let mut c = controls(&path);
        let mut writer = StateDir::open(&path).unwrap();
        let state = Cockpit::new("go-live", "prod").persisted();
        assert!(c.state_change().is_none(), "nothing written yet");
        writer.save(&state, &Who::new("alice", "ops1", 1)).unwrap();
        match c.state_change() {
            Some(Event::StateLoaded { by, .. }) => assert_eq!(by.as_deref(), Some("alice@ops1")),
            other => panic!("{other:?}"),
        }
        assert!(c.state_change().is_none(), "reported once");
        writer.save(&state, &Who::from_env()).unwrap();
        assert!(c.state_change().is_none(), "our own write is not news");
        let _ = std::fs::remove_dir_all(&path);
    }

    #[test]
    fn a_request_is_answered_and_the_requester_takes_the_controls() {
        let path = temp("handover");
        let mut holder = controls(&path);
        holder.lease = match Lease::try_acquire(&holder.dir, &holder.who).unwrap() {
            Acquire::Acquired(l) => Some(l),
            Acquire::Held { .. } => panic!("free"),
        };
        // The requester is a second instance; in one process its lock conflicts all the same.
        let mut asker = controls(&path);
        assert_eq!(asker.take().unwrap().as_deref().map(|n| n.starts_with("asked ")), Some(true));
        assert!(asker.asked);
        // Our own PID asks, so the holder does not see it as someone else's request.
        assert_eq!(holder.info().asked_by, None);
        assert_eq!(holder.hand_over().unwrap().map(|n| n.contains("you handed the controls")), Some(true));
        assert!(holder.lease.is_none() && holder.observer.is_some());
        let note = asker.follow_request().unwrap();
        assert!(note.ends_with("handed you the controls"), "{note}");
        assert!(asker.lease.is_some() && asker.info().held);
        assert_eq!(asker.info().observers, 1, "the old holder watches now");
        let _ = std::fs::remove_dir_all(&path);
    }
}

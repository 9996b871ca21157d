//! The loop itself. Pollers run as tasks and send owned messages into one
//! channel; the loop awaits one, drains the rest, updates, carries out the
//! commands in tasks, and draws once if anything changed. Nothing on the
//! drawing path waits on the network.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tui_logger::TuiLoggerWidget;

use super::exit::{Signals, Stop};
use super::terminal::TerminalGuard;
use super::{App, Msg, logging};
use crate::actuators::{ActuatorSpec, Chain};
use crate::domain::cockpit::merge::{Side, merge};
use crate::domain::cockpit::{Cockpit, Command, ControlsOp, Event, Level, PersistedState};
use crate::domain::runbook::Task;
use crate::keymap::Keymap;
use crate::sources::plan::SourcePlan;
use crate::sources::{self, Sink};
use crate::store::runbook_file::RunbookFile;
use crate::store::{ActionLock, AuditEntry, StateDir, Who};
use crate::ui::{self, Screen, theme::Theme};

/// What the loop is started with.
pub struct Setup {
    pub cockpit: Cockpit,
    pub sources: SourcePlan,
    /// The demo fleet's admin base URL, where faults are posted.
    pub fault_admin: Option<String>,
    /// The runbook file ticks are written to, when there is one.
    pub runbook_file: Option<RunbookFile>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Problems found while starting (a broken theme or keymap): shown in the log, never fatal.
    pub notices: Vec<String>,
    pub log_file: Option<PathBuf>,
    /// Where the traffic stage, trigger states and audit log are kept; `None`: nothing is kept.
    pub state_dir: Option<StateDir>,
    /// What moves traffic, in order.
    pub actuators: Vec<ActuatorSpec>,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `q`, or the last message source closed.
    Quit,
    Signal(Stop),
}

pub async fn run(setup: Setup) -> Result<Ended> {
    if let Some(path) = &setup.log_file {
        super::exit::set_log_file(path.clone());
    }
    if let Some(n) = logging::init(setup.log_file.as_deref()) {
        tracing::warn!("{n}");
    }
    for n in &setup.notices {
        tracing::warn!("{n}");
    }
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let client = sources::client();
    let sink: Sink = {
        let tx = tx.clone();
        Arc::new(move |e: Event| {
            let _ = tx.send(Msg::Domain(e));
        })
    };
    // A viewer's loop (the cockpit is read-only): follow only: never take the controls, never
    // register as an observer, no actuators, no writes of any kind.
    let read_only = setup.cockpit.read_only;
    let chain = match super::traffic_io::build_chain(&setup.actuators) {
        // A viewer has nothing that could move traffic, not even a readback.
        _ if read_only => Chain::default(),
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}; traffic cannot be moved from this cockpit");
            Chain::default()
        }
    };
    let chain = Arc::new(chain);
    // The weights poller already reads the router; a readback of the same URL would be double work.
    let reconcile = match super::traffic_io::read_url(&chain) {
        Some(url) => setup.sources.weights_url.as_deref() != Some(url.as_str()),
        None => !chain.actuators.is_empty(),
    };
    let mut tasks: Vec<JoinHandle<()>> = setup.sources.spawn(&client, &sink);
    if setup.cockpit.traffic.interrupted.is_some() && !read_only {
        tasks.push(spawn_settle_interrupted(chain.clone(), tx.clone()));
    }
    if reconcile {
        tasks.push(spawn_reconcile(chain.clone(), tx.clone()));
    }
    let state_path = setup.state_dir.as_ref().map(|d| d.path().to_path_buf());
    let mut cockpit = setup.cockpit;
    let mut controls = None;
    let mut action_dir = None;
    if let Some(path) = &state_path {
        match super::controls_io::start(path, read_only, tx.clone()) {
            Ok((info, ops)) => {
                cockpit.controls_held = info.held;
                cockpit.controls = info;
                controls = Some(ops);
            }
            Err(e) => {
                tracing::error!("{e}: the controls cannot be shared; this instance does not move traffic");
                cockpit.controls_held = false;
            }
        }
        if !read_only {
            action_dir = StateDir::open(path).map(Arc::new).map_err(|e| tracing::error!("{e}")).ok();
        }
    }
    // What is on disk now is where this cockpit starts from: the base of every later merge.
    if let Some(dir) = &setup.state_dir {
        cockpit.synced = Some((dir.generation(), cockpit.persisted()));
    }
    let base = cockpit.persisted();
    let (store, writer) = match setup.state_dir.filter(|_| !read_only) {
        Some(dir) => {
            let (store, writer) = spawn_store_writer(dir, base, tx.clone());
            (Some(store), Some(writer))
        }
        None => (None, None),
    };
    let runbook_file = setup.runbook_file.map(|f| Arc::new(Mutex::new(f)));
    if let Some(file) = &runbook_file {
        tasks.push(spawn_runbook_watch(file.clone(), tx.clone()));
    }
    tasks.push(spawn_ticker(tx.clone()));
    tasks.push(spawn_signals(tx.clone())?);
    tasks.push(spawn_terminal_events(tx.clone()));

    let mut app = App::new(cockpit, setup.keymap, setup.theme);
    let log_theme = app.theme.clone();
    let exec = Executor {
        client: client.clone(),
        fault_admin: setup.fault_admin,
        runbook_file,
        tx: tx.clone(),
        chain,
        apply_lock: Arc::new(tokio::sync::Mutex::new(())),
        store,
        who: Who::current(),
        read_only,
        controls,
        action_dir,
        action_lock: RefCell::new(None),
        in_flight: Arc::new(AtomicUsize::new(0)),
    };
    let mut test_panic = std::env::var(super::exit::TEST_PANIC_VAR).ok();
    let mut guard = TerminalGuard::enter().wrap_err("cannot set up the terminal")?;
    let mut clock = local_clock();
    let mut dirty = true;
    let log_widget = |f: &mut ratatui::Frame, area: ratatui::layout::Rect, block: ratatui::widgets::Block| {
        let w = TuiLoggerWidget::default()
            .block(block)
            .output_target(false)
            .output_file(false)
            .output_line(false)
            .output_timestamp(Some("%H:%M:%S".into()))
            .style_error(log_theme.crit)
            .style_warn(log_theme.warn)
            .style_info(log_theme.text);
        f.render_widget(w, area);
    };
    // For tests and measurements: `CUTOVER_FRAME_LOG=FILE` appends a line per frame drawn
    // (milliseconds since the epoch), so a test can see the loop keep drawing.
    let mut frame_log = std::env::var_os("CUTOVER_FRAME_LOG")
        .and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
    loop {
        if dirty && !super::exit::panicked() {
            let screen = Screen {
                cockpit: &app.cockpit,
                view: &app.view,
                theme: &app.theme,
                keymap: &app.keymap,
                clock: &clock,
                log: Some(&log_widget),
            };
            guard.terminal.draw(|f| ui::draw(f, &screen)).wrap_err("cannot draw")?;
            if let Some(f) = frame_log.as_mut() {
                use std::io::Write as _;
                let _ = writeln!(f, "{}", sources::now().0);
            }
        }
        match test_panic.take().as_deref() {
            None => {}
            Some("task") => drop(tokio::spawn(async {
                panic!("deliberate panic in a task ({}=task)", super::exit::TEST_PANIC_VAR)
            })),
            Some(other) => panic!("deliberate panic in the event loop ({}={other})", super::exit::TEST_PANIC_VAR),
        }
        let Some(first) = rx.recv().await else { break };
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        // Unbound keys change nothing on screen; everything else does.
        dirty = batch.iter().any(|m| match m {
            Msg::Key(k) => app.view.overlay.is_some() || app.keymap.action(k).is_some(),
            _ => true,
        });
        for msg in batch {
            if matches!(msg, Msg::Domain(Event::Tick)) {
                clock = local_clock();
            }
            exec.handle(&mut app, msg);
        }
        if app.quit {
            break;
        }
    }
    if let Some(stop) = app.stopped {
        // What already arrived is carried out (an actuator's outcome is recorded, not lost); a
        // change still under way is recorded as interrupted before the process ends.
        while let Ok(msg) = rx.try_recv() {
            if matches!(msg, Msg::Domain(_) | Msg::Action { .. }) {
                exec.handle(&mut app, msg);
            }
        }
        if exec.in_flight.load(Ordering::SeqCst) > 0 && !read_only {
            for cmd in app.cockpit.stop_in_flight(stop.name()) {
                exec.execute(cmd, &app.cockpit);
            }
        }
    }
    for t in tasks {
        t.abort();
    }
    drop(guard);
    // Every save and audit line queued so far reaches the disk before the process ends.
    drop(exec);
    if let Some(writer) = writer {
        let deadline = std::time::Instant::now() + WRITER_WAIT;
        while !writer.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(app.stopped.map_or(Ended::Quit, Ended::Signal))
}

/// How long leaving waits for the state dir's writer to finish what it was given.
const WRITER_WAIT: Duration = Duration::from_secs(5);

fn local_clock() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Carries out the cockpit's commands. Anything that waits (network, disk) runs
/// in a task; its outcome comes back as a message or a log line.
struct Executor {
    client: reqwest::Client,
    /// The demo fleet's admin base URL, where faults are posted.
    fault_admin: Option<String>,
    runbook_file: Option<Arc<Mutex<RunbookFile>>>,
    tx: UnboundedSender<Msg>,
    chain: Arc<Chain>,
    /// One traffic change at a time.
    apply_lock: Arc<tokio::sync::Mutex<()>>,
    /// The state dir's writer thread.
    store: Option<std::sync::mpsc::Sender<StoreJob>>,
    who: Who,
    /// Drops every command that would act (the cockpit already refuses; this is the second wall).
    read_only: bool,
    /// The controls poller, which carries out take, hand over and decline.
    controls: Option<std::sync::mpsc::Sender<ControlsOp>>,
    /// Where the action lock is taken (none without a writable state dir).
    action_dir: Option<Arc<StateDir>>,
    /// The action lock of the traffic change being settled, until its state is saved.
    action_lock: RefCell<Option<ActionLock>>,
    /// Traffic changes whose task has not yet sent its outcome.
    in_flight: Arc<AtomicUsize>,
}

/// How long a traffic change waits for a CLI verb's action to finish before giving up.
const ACTION_WAIT: Duration = Duration::from_secs(2);

/// Work for the thread that owns the state dir: writes happen in order, off the loop.
enum StoreJob {
    /// The state, and the action lock to release once it is written.
    Save(Box<PersistedState>, Option<ActionLock>),
    Audit(Box<AuditEntry>),
    /// Answered once every job sent before it is done, with how the last save went: a traffic
    /// change waits on it so its intent is on disk before the actuators are called.
    Barrier(tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// The writer thread, and the channel to it: the thread ends once every sender is dropped and
/// every job before that is done.
fn spawn_store_writer(
    mut dir: StateDir,
    mut base: PersistedState,
    loop_tx: UnboundedSender<Msg>,
) -> (std::sync::mpsc::Sender<StoreJob>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel::<StoreJob>();
    let who = Who::current();
    let writer = std::thread::spawn(move || {
        let mut last_save = Ok(());
        while let Ok(job) = rx.recv() {
            match job {
                StoreJob::Save(state, _lock) => match save_merged(&mut dir, &who, &base, &state) {
                    Ok((written, generation)) => {
                        last_save = Ok(());
                        let _ = loop_tx.send(Msg::Domain(Event::StateSaved { state: Box::new(written), generation }));
                        base = *state;
                    }
                    Err(e) => {
                        tracing::error!("the traffic state was NOT saved: {e}");
                        last_save = Err(e.to_string());
                    }
                },
                StoreJob::Barrier(done) => {
                    let _ = done.send(last_save.clone());
                }
                StoreJob::Audit(entry) => {
                    if let Err(e) = dir.append_audit(&entry) {
                        tracing::error!("audit log: {} NOT recorded: {e}", entry.what);
                    }
                }
            }
        }
    });
    (tx, writer)
}

/// Saves `ours` as a compare-and-swap; when someone else wrote meanwhile (a shell `rollback`),
/// re-reads and merges three ways from `base`, this cockpit's previous save: what only they
/// changed is kept, what only this cockpit changed is applied on top, and a part both changed is
/// taken as they wrote it (said in the log). Returns what was written and its generation.
fn save_merged(
    dir: &mut StateDir,
    who: &Who,
    base: &PersistedState,
    ours: &PersistedState,
) -> Result<(PersistedState, u64), crate::store::StoreError> {
    let mut state = ours.clone();
    let mut tries = 0;
    loop {
        let expected = dir.generation();
        match dir.save_if(&state, who, expected) {
            Ok(saved) => {
                saved.warnings.iter().for_each(|w| tracing::warn!("{w}"));
                return Ok((state, saved.generation));
            }
            Err(crate::store::StoreError::Conflict { by, .. }) if tries < 100 => {
                tries += 1;
                let Some(theirs) = dir.load::<PersistedState>()?.map(|l| l.state) else { continue };
                let m = merge(base, ours, &theirs, Side::Theirs);
                let by = by.unwrap_or_else(|| "another cutover".into());
                if m.conflicts.is_empty() {
                    tracing::info!("state.json was changed meanwhile by {by}: both changes kept");
                } else {
                    tracing::warn!(
                        "state.json was changed meanwhile by {by}: {} kept as written there; this cockpit's own \
                         change to it is dropped",
                        m.conflicts.join(", ")
                    );
                }
                state = m.state;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `state.json` still asks for change `seq` (to `weights`), else who replaced it.
fn still_intended(path: &std::path::Path, seq: u64, weights: crate::domain::env::Weights) -> Result<(), String> {
    let loaded =
        StateDir::open_read_only(path).and_then(|mut d| d.load::<PersistedState>()).map_err(|e| e.to_string())?;
    let Some(l) = loaded else { return Ok(()) };
    if l.state
        .traffic
        .pending
        .as_ref()
        .is_some_and(|p| p.seq == seq && crate::domain::traffic::weights_for(p.to) == weights)
    {
        return Ok(());
    }
    let by = l.meta.writer.as_ref().map_or_else(|| "another cutover".to_string(), Who::short);
    Err(format!("{by} changed the traffic while this change waited for the action lock"))
}

/// Reads the router once at start-up to settle a change found interrupted (see
/// [`Event::Reconcile`]); never applies anything.
fn spawn_settle_interrupted(chain: Arc<Chain>, tx: UnboundedSender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let read = super::traffic_io::read_back(&chain).await;
        let _ = tx.send(Msg::Domain(Event::Reconcile(read)));
    })
}

/// Reads the router's weights back through the actuators every few seconds (reconciliation).
fn spawn_reconcile(chain: Arc<Chain>, tx: UnboundedSender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let read = super::traffic_io::read_back(&chain).await;
            if tx.send(Msg::Domain(Event::ActualWeights(read))).is_err() {
                break;
            }
        }
    })
}

impl Executor {
    /// One message into the app, and its commands carried out.
    fn handle(&self, app: &mut App, msg: Msg) {
        // An actuator's outcome carries the action lock: the state save it leads to keeps it.
        let msg = match msg {
            Msg::Action { event, lock } => {
                *self.action_lock.borrow_mut() = lock;
                Msg::Domain(event)
            }
            m => m,
        };
        for cmd in app.handle(msg, sources::now()) {
            self.execute(cmd, &app.cockpit);
        }
        self.action_lock.borrow_mut().take();
    }

    fn execute(&self, cmd: Command, cockpit: &Cockpit) {
        if self.read_only
            && let Some(what) = acting(&cmd)
        {
            tracing::warn!("read-only: {what} dropped");
            return;
        }
        match cmd {
            Command::Log(Level::Info, m) => tracing::info!("{}", crate::text::scrub(&m)),
            Command::Log(Level::Warn, m) => tracing::warn!("{}", crate::text::scrub(&m)),
            Command::Log(Level::Error, m) => tracing::error!("{}", crate::text::scrub(&m)),
            Command::WriteTask { task, done } => self.write_task(task, done),
            Command::Bell => {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07").and_then(|_| out.flush());
            }
            Command::SetWeights { seq, weights, stage } => self.apply(seq, weights, stage, 0),
            Command::ContinueWeights { seq, weights, stage, from_step } => self.apply(seq, weights, stage, from_step),
            // Only the holder of the controls writes the state; observers follow it.
            Command::Persist if !cockpit.controls_held => {}
            Command::Persist => {
                if let Some(store) = &self.store {
                    let lock = self.action_lock.borrow_mut().take();
                    let _ = store.send(StoreJob::Save(Box::new(cockpit.persisted()), lock));
                }
            }
            Command::SendTriggerRequest(r) => {
                let Some(dir) = self.action_dir.clone() else {
                    tracing::warn!("no state dir: the request cannot reach the holder");
                    return;
                };
                let who = self.who.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = crate::store::send_trigger_request(&dir, &who, &r) {
                        tracing::error!("the request did not reach the holder: {e}");
                    }
                });
            }
            Command::Controls(op) => match &self.controls {
                Some(c) => {
                    let _ = c.send(op);
                }
                None => tracing::warn!("no state dir: the controls are not shared"),
            },
            Command::Audit { what, stage, detail } => {
                let entry = AuditEntry::new(sources::now(), self.who.clone(), what).stage(stage).detail(detail);
                match &self.store {
                    Some(store) => {
                        let _ = store.send(StoreJob::Audit(Box::new(entry)));
                    }
                    None => tracing::warn!("no state dir: audit entry {:?} not recorded", entry.what),
                }
            }
            Command::PostFault(spec) => {
                let Some(admin) = &self.fault_admin else {
                    tracing::warn!("no fleet to inject a fault into");
                    return;
                };
                let req = self.client.post(format!("{admin}/faults")).timeout(ADMIN_TIMEOUT).json(&spec);
                spawn_admin_call(req, "inject the fault", self.tx.clone());
            }
            Command::ClearFaults => {
                let Some(admin) = &self.fault_admin else { return };
                let req = self.client.delete(format!("{admin}/faults")).timeout(ADMIN_TIMEOUT);
                spawn_admin_call(req, "clear the faults", self.tx.clone());
            }
        }
    }

    /// Runs change `seq` through the actuators from step `from` in a task, one change at a time.
    fn apply(&self, seq: u64, weights: crate::domain::env::Weights, stage: String, from: usize) {
        let (chain, lock, tx) = (self.chain.clone(), self.apply_lock.clone(), self.tx.clone());
        let (dir, who) = (self.action_dir.clone(), self.who.clone());
        let state_path = self.action_dir.as_ref().map(|d| d.path().to_path_buf());
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, Ordering::SeqCst);
        // Write-ahead: the Persist before this command must be on disk before traffic moves.
        let saved = self.store.as_ref().map(|store| {
            let (done, wait) = tokio::sync::oneshot::channel();
            let _ = store.send(StoreJob::Barrier(done));
            wait
        });
        tokio::spawn(async move {
            let _one_at_a_time = lock.lock().await;
            let not_saved = match saved {
                None => None,
                Some(wait) => match wait.await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(_) => Some("the state dir's writer stopped".to_string()),
                },
            };
            if let Some(e) = not_saved {
                let _ = tx.send(Msg::Domain(super::traffic_io::not_recorded(seq, &e)));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            // Never interleave with a CLI verb (`cutover advance` from a shell).
            let action = match dir {
                Some(dir) => {
                    let what = format!("a traffic change to {}/{}", weights.blue, weights.green);
                    tokio::task::spawn_blocking(move || ActionLock::acquire(&dir, &who, &what, ACTION_WAIT))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map(Some).map_err(|e| e.to_string()))
                }
                None => Ok(None),
            };
            // Under the lock, the change must still be the one on disk: a shell `rollback` that ran
            // while this change waited may have replaced it, and the router must not be moved
            // back over it.
            let superseded = match (&action, &state_path) {
                (Ok(Some(_)), Some(path)) if seq != 0 => still_intended(path, seq, weights).err(),
                _ => None,
            };
            let msg = match action {
                Ok(_) if superseded.is_some() => Msg::Domain(Event::ApplyFailed {
                    seq,
                    error: format!("{}; nothing was changed", superseded.unwrap_or_default()),
                    steps_done: Vec::new(),
                }),
                Ok(lock) => {
                    let event = super::traffic_io::apply(&chain, seq, weights, stage, from).await;
                    Msg::Action { event, lock }
                }
                Err(e) => Msg::Domain(Event::ApplyFailed {
                    seq,
                    error: format!("{e}; nothing was changed"),
                    steps_done: Vec::new(),
                }),
            };
            // Counted down only once the outcome is in the channel, where leaving still finds it.
            let _ = tx.send(msg);
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Writes one checkbox on a blocking thread; the runbook as written comes back.
    fn write_task(&self, task: Task, done: bool) {
        let Some(file) = self.runbook_file.clone() else {
            tracing::warn!("the runbook is not backed by a file: the tick is not kept");
            return;
        };
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let label = task.id.clone().unwrap_or_else(|| task.text.clone());
            let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
            let event = match f.tick_task(&task, done) {
                Ok(outcome) => {
                    let verb = if done { "ticked" } else { "unticked" };
                    let mut note = format!("{label} {verb} (line {})", outcome.line);
                    if outcome.concurrent_edit {
                        note.push_str("; the file had changed on disk: the tick was applied to the new version, the other edit kept");
                    }
                    Event::Runbook { runbook: f.runbook().clone(), note: Some(note) }
                }
                Err(e) => {
                    Event::RunbookFailed(format!("{label} not {}: {e}", if done { "ticked" } else { "unticked" }))
                }
            };
            let _ = tx.send(Msg::Domain(event));
        });
    }
}

/// What a command that acts on the world is, for the read-only executor; `None` for log lines and
/// the bell.
pub fn acting(cmd: &Command) -> Option<&'static str> {
    match cmd {
        Command::WriteTask { .. } => Some("a runbook tick"),
        Command::PostFault(_) => Some("a fault"),
        Command::ClearFaults => Some("clearing the faults"),
        Command::SetWeights { .. } | Command::ContinueWeights { .. } => Some("a traffic change"),
        Command::Persist => Some("saving the state"),
        Command::Audit { .. } => Some("an audit entry"),
        Command::Controls(_) => Some("the controls"),
        Command::SendTriggerRequest(_) => Some("a trigger request"),
        Command::Log(..) | Command::Bell => None,
    }
}

fn spawn_admin_call(req: reqwest::RequestBuilder, what: &'static str, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        match req.send().await {
            Ok(r) if r.status().is_success() => tracing::info!("fleet: {what}: done"),
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                tracing::error!("fleet: cannot {what}: HTTP {status} {}", body.trim());
            }
            Err(e) => tracing::error!("fleet: cannot {what}: {e}"),
        }
        // Wake the loop so the log line shows now.
        let _ = tx.send(Msg::Resize);
    });
}

/// Notices edits made to the runbook behind the cockpit's back (a `git pull`, an editor).
fn spawn_runbook_watch(file: Arc<Mutex<RunbookFile>>, tx: UnboundedSender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error: Option<String> = None;
        loop {
            tick.tick().await;
            let file = file.clone();
            let checked = tokio::task::spawn_blocking(move || {
                let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                match f.changed_on_disk().and_then(|changed| if changed { f.reload() } else { Ok(false) }) {
                    Ok(true) => Ok(Some(f.runbook().clone())),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await;
            let event = match checked {
                Ok(Ok(Some(runbook))) => {
                    Event::Runbook { runbook, note: Some("runbook changed on disk: reloaded".into()) }
                }
                Ok(Ok(None)) => {
                    last_error = None;
                    continue;
                }
                Ok(Err(e)) if last_error.as_deref() != Some(e.as_str()) => {
                    last_error = Some(e.clone());
                    Event::RunbookFailed(e)
                }
                _ => continue,
            };
            if tx.send(Msg::Domain(event)).is_err() {
                break;
            }
        }
    })
}

fn spawn_ticker(tx: UnboundedSender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.send(Msg::Domain(Event::Tick)).is_err() {
                break;
            }
        }
    })
}

fn spawn_signals(tx: UnboundedSender<Msg>) -> Result<JoinHandle<()>> {
    let mut signals = Signals::new()?;
    Ok(tokio::spawn(async move {
        let stop = signals.recv().await;
        let _ = tx.send(Msg::Signal(stop));
    }))
}

fn spawn_terminal_events(tx: UnboundedSender<Msg>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(ev) = events.next().await {
            let msg = match ev {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(TermEvent::Resize(..)) => Msg::Resize,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input: {e}");
                    break;
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })
}

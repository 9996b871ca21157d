//! What `cutover advance` and `cutover rollback` share: the action lock, the state, a fresh look
//! at the sources, the typed confirmation, and carrying the cockpit's commands out in order.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::actuators::Chain;
use crate::app::Setup;
use crate::app::exit::{Signals, Stop};
use crate::app::traffic_io;
use crate::config::Config;
use crate::domain::cockpit::merge::{Side, merge};
use crate::domain::cockpit::{Cockpit, Command, Event, Level, PersistedState};
use crate::domain::time::parse_duration_ms;
use crate::domain::traffic::{Confirmation, Verdict, confirm};
use crate::store::cockpit_state::resolve;
use crate::store::{Acquire, ActionLock, AuditEntry, Lease, StateDir, StoreError, Who};

/// A cockpit loaded from the state dir, with the action lock held until it is dropped.
pub struct Session {
    pub verb: &'static str,
    pub config: Config,
    pub setup: Setup,
    pub dir: StateDir,
    pub who: Who,
    /// The state as read (or last written) by this session, at [`StateDir::generation`]: the base
    /// of the three-way merge when someone else wrote meanwhile.
    base: PersistedState,
    /// The controls, when taken with `--take-controls` (released when the verb ends).
    _controls: Option<Lease>,
    _lock: ActionLock,
    /// Listened for from the first traffic change on; before that a signal ends the verb at once,
    /// with nothing in flight to record.
    signals: Option<Signals>,
    /// The signal that stopped a traffic change; the verb ends with its exit status.
    stopped: Option<Stop>,
}

/// The one verb a cockpit holding the controls never stops.
const ALWAYS_ALLOWED: &str = "rollback";

/// How long `--take-controls` waits for the holder's cockpit to let go.
const TAKE_WAIT: Duration = Duration::from_secs(3);

pub fn fail(verb: &str, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cutover {verb}: {msg}");
    ExitCode::FAILURE
}

impl Session {
    /// Loads the config, takes the action lock (a second action at the same time is refused at
    /// once, naming who runs what), then reads the state. Read-only (the flag, the environment or
    /// the config) is refused before any lock is taken or any file touched.
    pub fn open(
        verb: &'static str,
        config_args: &crate::cli::ConfigArgs,
        state_dir: Option<&Path>,
        read_only: bool,
    ) -> Result<Session, ExitCode> {
        if read_only {
            return Err(refuse_read_only(verb, "--read-only or CUTOVER_READ_ONLY"));
        }
        let config = super::load_config_in(config_args, state_dir).map_err(|e| fail(verb, e))?;
        if config.read_only {
            let why = format!("read_only = true in {}", config.file.display());
            return Err(refuse_read_only(verb, &why));
        }
        let path = resolve(state_dir, &config.deployment, false)
            .ok_or_else(|| fail(verb, "no default state dir (no home folder?); pass --state-dir DIR"))?;
        let mut dir = StateDir::open(&path).map_err(|e| fail(verb, e))?;
        let who = Who::current();
        // Every verb but rollback respects the controls: a cockpit holding them is asked, or
        // they are taken from it with a reason.
        let controls = if verb == ALWAYS_ALLOWED {
            if let (Some(_), Some(h)) = (&config_args.take_controls, crate::store::holder(&dir)) {
                eprintln!(
                    "cutover {verb}: --take-controls is not needed: a rollback always goes through; the controls \
                     stay with {}",
                    h.who.short()
                );
            }
            None
        } else {
            respect_controls(verb, &dir, &who, config_args.take_controls.as_deref())?
        };
        let lock = ActionLock::acquire(&dir, &who, verb, Duration::ZERO).map_err(|e| fail(verb, e))?;
        let mut setup = super::cockpit::setup(&config, config.runbook.as_deref(), false);
        setup.cockpit.traffic = config.traffic_state();
        setup.cockpit.operator = who.short();
        // A look at the sources must not start a rollback by itself.
        setup.cockpit.auto_rollback = false;
        match dir.load() {
            Ok(Some(l)) => {
                l.warnings.iter().for_each(|w| eprintln!("cutover {verb}: warning: {w}"));
                let w = setup.cockpit.restore(l.state);
                w.iter().for_each(|w| eprintln!("cutover {verb}: warning: {w}"));
                // The action lock is ours: nobody else is applying what the state marks in flight.
                if let Some(w) = setup.cockpit.take_over_in_flight() {
                    eprintln!("cutover {verb}: warning: {w}");
                }
            }
            Ok(None) => {}
            Err(e) => return Err(fail(verb, e)),
        }
        let base = setup.cockpit.persisted();
        let mut s =
            Session { verb, config, setup, dir, who, base, _controls: None, _lock: lock, signals: None, stopped: None };
        if let Some((lease, from, reason)) = controls {
            s._controls = lease;
            let detail = serde_json::json!({ "from": from, "reason": reason, "by": s.who.short() });
            let entry = AuditEntry::new(crate::sources::now(), s.who.clone(), "take-controls")
                .stage(s.setup.cockpit.stage_label())
                .detail(detail);
            if let Err(e) = s.dir.append_audit(&entry) {
                eprintln!("audit log: take-controls NOT recorded: {e}");
            }
            println!("took the controls from {from}: {reason}");
        }
        Ok(s)
    }

    /// Saves the cockpit's state as a compare-and-swap on the generation read. When someone else
    /// wrote meanwhile (the holder's cockpit raising a trigger, say), their state is read again
    /// and this verb's change re-applied on top of it by a three-way merge; a part both changed
    /// differently is refused with a message, except that a rollback keeps its traffic.
    fn save(&mut self) -> Result<(), String> {
        let ours = self.setup.cockpit.persisted();
        let mut expected = self.dir.generation();
        let mut state = ours.clone();
        for _ in 0..100 {
            match self.dir.save_if(&state, &self.who, expected) {
                Ok(saved) => {
                    saved.warnings.iter().for_each(|w| eprintln!("cutover {}: warning: {w}", self.verb));
                    if state != ours {
                        // What the other writer changed is now this cockpit's state too.
                        let _ = self.setup.cockpit.restore(state.clone());
                    }
                    self.base = state;
                    return Ok(());
                }
                Err(StoreError::Conflict { by, .. }) => {
                    let theirs = match self.dir.load::<PersistedState>() {
                        Ok(Some(l)) => l.state,
                        Ok(None) => self.base.clone(),
                        Err(e) => return Err(e.to_string()),
                    };
                    expected = self.dir.generation();
                    let prefer = if self.verb == ALWAYS_ALLOWED { Side::Ours } else { Side::Theirs };
                    let merged = merge(&self.base, &ours, &theirs, prefer);
                    let by = by.unwrap_or_else(|| "another cutover".into());
                    if !merged.conflicts.is_empty() {
                        if prefer == Side::Theirs {
                            return Err(format!(
                                "state.json was changed meanwhile by {by}, and that change conflicts with this one \
                                 ({}): refused; run it again to start from the new state",
                                merged.conflicts.join(", ")
                            ));
                        }
                        eprintln!(
                            "cutover {}: warning: state.json was changed meanwhile by {by} ({}): the rollback keeps \
                             its own",
                            self.verb,
                            merged.conflicts.join(", ")
                        );
                    } else {
                        eprintln!("cutover {}: state.json was changed meanwhile by {by}: both changes kept", self.verb);
                    }
                    state = merged.state;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("state.json keeps changing under this verb: not saved".into())
    }

    /// Polls every source once so triggers and SLOs are judged on fresh readings.
    pub fn look(&mut self, rt: &tokio::runtime::Runtime, wait: Option<&str>) -> Result<(), ExitCode> {
        let wait = match wait.map(parse_duration_ms) {
            None => super::status::default_wait(&self.config),
            Some(Ok(ms)) if ms >= 0 => Duration::from_millis(ms as u64),
            Some(_) => return Err(fail(self.verb, "--wait: write it like 5s or 1m")),
        };
        let plan = std::mem::replace(
            &mut self.setup.sources,
            crate::sources::plan::SourcePlan {
                scrape: None,
                health: Vec::new(),
                interval: self.config.interval,
                timeout: self.config.timeout,
                weights_url: None,
                prometheus: None,
                alerts: None,
                backfill: false,
            },
        );
        rt.block_on(super::status::one_shot(plan, &mut self.setup.cockpit, wait));
        self.setup.cockpit.now = crate::sources::now();
        Ok(())
    }

    /// Reads the router's split back through the actuators (when no router source did), so the
    /// gates and an adopt start from the router's reading; then counts this look toward the
    /// soak and saves it (a refused advance still leaves the observation behind).
    pub fn read_router_and_observe(&mut self, rt: &tokio::runtime::Runtime) -> Result<(), String> {
        rt.block_on(super::status::read_router(&self.config.actuators, &mut self.setup.cockpit));
        self.run(rt, Event::Tick)
    }

    /// A change found interrupted (the intent saved, the outcome not) is settled against the
    /// router's reading and recorded; nothing is sent to the actuators. Returns the verdict, `None`
    /// when nothing was interrupted.
    pub fn reconcile(&mut self, rt: &tokio::runtime::Runtime) -> Result<Option<Verdict>, String> {
        if self.setup.cockpit.traffic.interrupted.is_none() {
            return Ok(None);
        }
        let chain = traffic_io::build_chain(&self.config.actuators)?;
        let read = rt.block_on(traffic_io::read_back(&chain));
        let mut out = Vec::new();
        let verdict = self.setup.cockpit.reconcile_interrupted(&read, crate::sources::now(), &mut out);
        self.execute(rt, &chain, out)?;
        Ok(verdict)
    }

    pub fn cockpit(&self) -> &Cockpit {
        &self.setup.cockpit
    }

    /// Applies `event` and carries out everything that follows, in order, until nothing is left:
    /// the actuators, the state file, the audit log, runbook ticks.
    pub fn run(&mut self, rt: &tokio::runtime::Runtime, event: Event) -> Result<(), String> {
        let chain = traffic_io::build_chain(&self.config.actuators)?;
        let out = self.setup.cockpit.update(event, crate::sources::now());
        self.execute(rt, &chain, out)
    }

    /// Carries out `commands` and whatever follows from them, in order. The actuators are only
    /// called once the state saved just before (the change marked pending) is on disk.
    fn execute(&mut self, rt: &tokio::runtime::Runtime, chain: &Chain, commands: Vec<Command>) -> Result<(), String> {
        let mut queue: VecDeque<Command> = commands.into();
        let mut saved = Ok(());
        let mut last_save: Result<(), String> = Ok(());
        while let Some(cmd) = queue.pop_front() {
            match cmd {
                Command::Log(Level::Info, m) => println!("{m}"),
                Command::Log(_, m) => eprintln!("{m}"),
                Command::SetWeights { seq, weights, stage } => {
                    match self.apply_after_save(rt, chain, &last_save, seq, weights, stage, 0) {
                        Ok(ev) => queue.extend(self.outcome(rt, ev)),
                        Err(stop) => queue = self.stop(stop).into(),
                    }
                }
                Command::ContinueWeights { seq, weights, stage, from_step } => {
                    match self.apply_after_save(rt, chain, &last_save, seq, weights, stage, from_step) {
                        Ok(ev) => queue.extend(self.outcome(rt, ev)),
                        Err(stop) => queue = self.stop(stop).into(),
                    }
                }
                Command::Persist => {
                    last_save = self.save();
                    if let Err(e) = &last_save {
                        saved = Err(format!("the new state was NOT saved: {e}"));
                    }
                }
                Command::Audit { what, stage, detail } => {
                    let entry =
                        AuditEntry::new(crate::sources::now(), self.who.clone(), what).stage(stage).detail(detail);
                    if let Err(e) = self.dir.append_audit(&entry) {
                        eprintln!("audit log: {} NOT recorded: {e}", entry.what);
                    }
                }
                Command::WriteTask { task, done } => {
                    if let Some(f) = self.setup.runbook_file.as_mut() {
                        let label = task.id.clone().unwrap_or_else(|| task.text.clone());
                        match f.tick_task(&task, done) {
                            Ok(_) => println!("{label} ticked in {}", f.path().display()),
                            Err(e) => eprintln!("{label} not ticked: {e}"),
                        }
                    }
                }
                Command::Bell
                | Command::PostFault(_)
                | Command::ClearFaults
                | Command::Controls(_)
                | Command::SendTriggerRequest(_) => {}
            }
        }
        if let Some(stop) = self.stopped {
            return Err(format!("stopped by {}", stop.name()));
        }
        saved
    }

    /// A signal arrived while the router was being changed: what is left to do is dropped, and
    /// the change is recorded as interrupted (saved and audited) instead.
    fn stop(&mut self, stop: Stop) -> Vec<Command> {
        self.stopped = Some(stop);
        self.setup.cockpit.stop_in_flight(stop.name())
    }

    /// Ends the verb with `msg`: with the signal's exit status (130 for SIGINT…) when one stopped
    /// it, else a plain failure.
    pub fn fail(&self, msg: impl std::fmt::Display) -> ExitCode {
        match self.stopped {
            Some(stop) => {
                // After SIGHUP there may be no terminal to write to.
                let _ = writeln!(std::io::stderr(), "cutover {}: {msg}", self.verb);
                ExitCode::from(stop.exit_code())
            }
            None => fail(self.verb, msg),
        }
    }

    /// Runs change `seq` through the chain from step `from`, but only if the state saved just
    /// before (the change marked pending) is on disk; a signal meanwhile stops it.
    #[allow(clippy::too_many_arguments)]
    fn apply_after_save(
        &mut self,
        rt: &tokio::runtime::Runtime,
        chain: &Chain,
        last_save: &Result<(), String>,
        seq: u64,
        weights: crate::domain::env::Weights,
        stage: String,
        from: usize,
    ) -> Result<Event, Stop> {
        if let Err(e) = last_save {
            return Ok(traffic_io::not_recorded(seq, e));
        }
        let signals = &mut self.signals;
        let verb = self.verb;
        rt.block_on(async move {
            if signals.is_none() {
                *signals = Signals::new()
                    .map_err(|e| eprintln!("cutover {verb}: warning: cannot listen for signals: {e}"))
                    .ok();
            }
            let apply = traffic_io::apply(chain, seq, weights, stage, from);
            match signals.as_mut() {
                Some(sig) => tokio::select! {
                    ev = apply => Ok(ev),
                    stop = sig.recv() => Err(stop),
                },
                None => Ok(apply.await),
            }
        })
    }

    /// What the actuators did, into the cockpit; a manual step is asked for on the terminal.
    fn outcome(&mut self, rt: &tokio::runtime::Runtime, ev: Event) -> Vec<Command> {
        let manual = match &ev {
            Event::NeedsConfirmation { instruction, .. } => Some(instruction.clone()),
            _ => None,
        };
        let mut out = self.setup.cockpit.update(ev, crate::sources::now());
        if let Some(instruction) = manual.filter(|_| self.setup.cockpit.manual_wait.is_some()) {
            let next = match ask_manual(rt, self.signals.as_mut(), &instruction) {
                Ok(Ok(())) => Event::ConfirmManual,
                Ok(Err(why)) => Event::AbandonManual { why },
                Err(stop) => {
                    out.extend(self.stop(stop));
                    return out;
                }
            };
            out.extend(self.setup.cockpit.update(next, crate::sources::now()));
        }
        out
    }
}

/// A manual actuator step: the operator does it elsewhere and types `done` here. A signal while
/// waiting stops the verb (`Err`).
fn ask_manual(
    rt: &tokio::runtime::Runtime,
    signals: Option<&mut Signals>,
    instruction: &str,
) -> Result<Result<(), String>, Stop> {
    if !std::io::stdin().is_terminal() {
        return Ok(Err("stdin is not a terminal, so nobody can confirm it".into()));
    }
    println!("MANUAL STEP: {instruction}");
    print!("type done once it is done (anything else gives the change up): ");
    let _ = std::io::stdout().flush();
    // A plain thread, not the runtime's blocking pool: the runtime must not wait for a line
    // nobody types once a signal has ended the verb.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let answer = |read: Result<Result<String, std::io::Error>, _>| match read {
        Ok(Ok(line)) if line.trim() == "done" => Ok(()),
        Ok(Ok(line)) => Err(format!("the operator typed {:?} instead of done", line.trim())),
        Ok(Err(e)) => Err(format!("cannot read the terminal: {e}")),
        Err(_) => Err("cannot read the terminal".to_string()),
    };
    rt.block_on(async move {
        match signals {
            Some(sig) => tokio::select! {
                read = rx => Ok(answer(read)),
                stop = sig.recv() => Err(stop),
            },
            None => Ok(answer(rx.await)),
        }
    })
}

/// Refuses the verb while a cockpit holds the controls, unless `take` says why they are taken:
/// then the holder is told, lets go (within [`TAKE_WAIT`]) and the lease is held by this verb.
/// Returns the lease, whom it was taken from and why.
#[allow(clippy::type_complexity)]
fn respect_controls(
    verb: &str,
    dir: &StateDir,
    who: &Who,
    take: Option<&str>,
) -> Result<Option<(Option<Lease>, String, String)>, ExitCode> {
    let Some(h) = crate::store::holder(dir).filter(|h| !h.who.is_this_process()) else { return Ok(None) };
    let Some(reason) = take.map(str::trim) else {
        return Err(fail(verb, format!("{}; ask for them, or pass --take-controls REASON", holder_line(&h))));
    };
    if reason.is_empty() {
        return Err(fail(verb, "--take-controls must say why"));
    }
    crate::store::take_over(dir, who, reason).map_err(|e| fail(verb, e))?;
    let deadline = std::time::Instant::now() + TAKE_WAIT;
    loop {
        match Lease::try_acquire(dir, who).map_err(|e| fail(verb, e))? {
            Acquire::Acquired(lease) => {
                let _ = crate::store::clear_request(dir);
                return Ok(Some((Some(lease), h.who.short(), reason.to_string())));
            }
            Acquire::Held { .. } if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Acquire::Held { by } => {
                let _ = crate::store::clear_request(dir);
                let by = by.map_or_else(|| h.who.short(), |b| b.who.short());
                return Err(fail(
                    verb,
                    format!(
                        "the cockpit of {by} did not let go of the controls within {}s (is it hung? end it, \
                         or roll back, which never waits); nothing was changed",
                        TAKE_WAIT.as_secs()
                    ),
                ));
            }
        }
    }
}

/// `alice@ops1 holds the controls since 14:02 (cockpit on pts/3)`.
fn holder_line(h: &crate::store::HolderInfo) -> String {
    let since = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(h.since.0)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M").to_string())
        .unwrap_or_else(|| "?".into());
    let on = match &h.who.tty {
        Some(t) => format!("cockpit on {}", t.strip_prefix("/dev/").unwrap_or(t)),
        None => format!("cockpit, pid {}", h.who.pid),
    };
    format!("{} holds the controls since {since} ({on})", h.who.short())
}

/// `cutover advance: read-only: …`, naming what made this process read-only.
fn refuse_read_only(verb: &str, why: &str) -> ExitCode {
    fail(verb, format!("read-only: refused, nothing was changed ({why})"))
}

/// Asks for the typed confirmation on the terminal. Refuses when stdin is not one.
pub fn ask(verb: &str, what: &str, c: Confirmation) -> Result<(), ExitCode> {
    if !std::io::stdin().is_terminal() {
        return Err(fail(verb, "stdin is not a terminal, so the typed confirmation cannot be asked: use --yes"));
    }
    println!("{what}");
    print!("{}: ", c.prompt());
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || !confirm(c, &line) {
        return Err(fail(
            verb,
            format!("not confirmed (expected {:?}); nothing changed", crate::domain::traffic::expected_confirmation(c)),
        ));
    }
    Ok(())
}

/// `blue 25% / green 75%`.
pub fn split(c: &Cockpit) -> String {
    let w = c.traffic.expected_weights();
    format!("{} {}% / {} {}%", c.env_names.0[0], w.blue, c.env_names.0[1], w.green)
}

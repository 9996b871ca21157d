//! The event loop: one channel in, update, draw when something changed.

mod controls_io;
pub mod exit;
mod logging;
mod run;
mod terminal;
pub mod traffic_io;

use crossterm::event::{KeyCode, KeyEvent};

pub use run::{Ended, Setup, acting, run};

use crate::domain::cockpit::{Cockpit, Command, ControlsOp, Event, Level, NOT_HOLDER};
use crate::domain::fault::FaultPreset;
use crate::domain::time::Ts;
use crate::domain::traffic::{Confirmation, Refusal, StepKind, confirm};
use crate::keymap::{Action, Keymap};
use crate::ui::theme::Theme;
use crate::view::{self, Field, Focus, Overlay, TrafficDialog, ViewState};

/// Everything the loop receives.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize,
    Domain(Event),
    /// An actuator's outcome, with the action lock held since before the call: released once
    /// the state it leads to is saved.
    Action {
        event: Event,
        lock: Option<crate::store::ActionLock>,
    },
    /// SIGTERM, SIGHUP, SIGINT: end the same clean way as `q`, with the signal's exit status.
    Signal(exit::Stop),
}

/// The cockpit's state plus what the operator is looking at.
pub struct App {
    pub cockpit: Cockpit,
    pub view: ViewState,
    pub keymap: Keymap,
    pub theme: Theme,
    pub quit: bool,
    /// The signal that ended the loop, if one did.
    pub stopped: Option<exit::Stop>,
}

impl App {
    pub fn new(cockpit: Cockpit, keymap: Keymap, theme: Theme) -> Self {
        App { cockpit, view: ViewState::default(), keymap, theme, quit: false, stopped: None }
    }

    /// Handles one message; returns the commands to carry out.
    pub fn handle(&mut self, msg: Msg, now: Ts) -> Vec<Command> {
        match msg {
            Msg::Key(key) => self.key(key, now),
            Msg::Resize => Vec::new(),
            Msg::Domain(mut event) | Msg::Action { mut event, .. } => {
                // Scrubbed and bounded before the cockpit keeps, shows, logs or saves any of it.
                event.outside_texts(&mut crate::text::outside);
                let out = self.cockpit.update(event, now);
                self.view.clamp_to(self.cockpit.runbook.as_ref());
                out
            }
            Msg::Signal(stop) => {
                self.quit = true;
                self.stopped = Some(stop);
                vec![Command::Log(Level::Warn, format!("{} received: leaving", stop.name()))]
            }
        }
    }

    fn key(&mut self, key: KeyEvent, now: Ts) -> Vec<Command> {
        let action = self.keymap.action(&key);
        match &self.view.overlay {
            Some(Overlay::Faults { selected }) => return self.fault_menu_key(key, action, *selected, now),
            Some(Overlay::Reason { trigger, raise, text }) => {
                let (trigger, raise, text) = (*trigger, *raise, text.clone());
                self.view.dialog_error = None;
                return self.reason_key(key, trigger, raise, text, now);
            }
            Some(Overlay::Find { query }) => {
                let query = query.clone();
                return self.find_key(key, query);
            }
            Some(Overlay::Traffic(d)) => {
                let d = d.clone();
                return self.traffic_key(key, d, now);
            }
            Some(Overlay::Resume { text }) => {
                let text = text.clone();
                self.view.dialog_error = None;
                return self.resume_key(key, text, now);
            }
            Some(Overlay::Manual { text }) => {
                let text = text.clone();
                self.view.dialog_error = None;
                return self.manual_key(key, text, now);
            }
            Some(Overlay::Adopt { text }) => {
                let text = text.clone();
                return self.adopt_key(key, text, now);
            }
            _ => {}
        }
        // Someone asks for the controls: y and n answer, whatever else they are bound to.
        if self.cockpit.controls_held && self.cockpit.controls.asked_by.is_some() {
            match self.keymap.prompt_action(&key) {
                Some(Action::HandOver) => return self.cockpit.update(Event::ControlsKey(ControlsOp::HandOver), now),
                Some(Action::KeepControls) => return self.cockpit.update(Event::ControlsKey(ControlsOp::Decline), now),
                _ => {}
            }
        }
        // An observer asks for a trigger action: y does it, n declines.
        if self.cockpit.controls_held && self.cockpit.trigger_request.is_some() {
            match self.keymap.prompt_action(&key) {
                Some(Action::HandOver) => return self.cockpit.update(Event::AnswerTriggerRequest(true), now),
                Some(Action::KeepControls) => return self.cockpit.update(Event::AnswerTriggerRequest(false), now),
                _ => {}
            }
        }
        // A popup (the controls taken, a rollback from elsewhere) is closed first.
        if self.cockpit.notice.is_some() && self.view.overlay.is_none() && action == Some(Action::Close) {
            return self.cockpit.update(Event::DismissNotice, now);
        }
        if matches!(self.view.overlay, Some(Overlay::Help | Overlay::SloDetail { .. } | Overlay::TriggerDetail { .. }))
            && matches!(action, Some(Action::Close | Action::Help | Action::Detail))
        {
            self.view.overlay = None;
            return Vec::new();
        }
        let Some(action) = action else { return Vec::new() };
        if self.cockpit.read_only && self.keymap.acts(action) {
            return vec![Command::Log(Level::Warn, format!("read-only: {} is not available", what(action)))];
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.view.overlay = Some(Overlay::Help),
            Action::Close => self.view.overlay = None,
            Action::Down => self.view.move_by(1, self.cockpit.runbook.as_ref(), self.rows()),
            Action::Up => self.view.move_by(-1, self.cockpit.runbook.as_ref(), self.rows()),
            Action::PageDown => self.view.move_by(10, self.cockpit.runbook.as_ref(), self.rows()),
            Action::PageUp => self.view.move_by(-10, self.cockpit.runbook.as_ref(), self.rows()),
            Action::Detail => match self.view.focus {
                Focus::Slos if self.view.slo < self.cockpit.slos.len() => {
                    self.view.overlay = Some(Overlay::SloDetail { slo: self.view.slo })
                }
                Focus::Triggers if self.view.trigger < self.cockpit.triggers.len() => {
                    self.view.overlay = Some(Overlay::TriggerDetail { trigger: self.view.trigger })
                }
                _ => {}
            },
            Action::Acknowledge => {
                let Some(i) = self.selected_trigger() else {
                    return vec![Command::Log(
                        Level::Info,
                        "select a trigger to acknowledge: tab to the triggers".into(),
                    )];
                };
                return self.cockpit.update(Event::AckTrigger(i), now);
            }
            Action::RaiseManual => {
                let Some(i) = self.selected_trigger() else {
                    return vec![Command::Log(Level::Info, "select a manual trigger: tab to the triggers".into())];
                };
                if !self.cockpit.triggers.specs[i].is_manual() {
                    let name = &self.cockpit.triggers.specs[i].name;
                    return vec![Command::Log(
                        Level::Info,
                        format!("{name:?} is not a manual trigger; it fires by itself"),
                    )];
                }
                let raise = !self.cockpit.triggers.states[i].phase().is_firing();
                self.view.overlay = Some(Overlay::Reason { trigger: i, raise, text: String::new() });
            }
            Action::FocusNext => self.view.toggle_focus(),
            Action::Expand => self.view.expand(self.cockpit.runbook.as_ref()),
            Action::Collapse => self.view.collapse(self.cockpit.runbook.as_ref()),
            Action::Tick if self.view.focus == Focus::Traffic => {
                let Some(kind) = StepKind::ALL.get(self.view.step).copied() else { return Vec::new() };
                if kind == StepKind::Document && self.reason_missing() && self.cockpit.controls_held {
                    self.view.overlay = Some(Overlay::Traffic(TrafficDialog::rollback_reason()));
                    return Vec::new();
                }
                return self.cockpit.update(Event::TickRollbackStep(kind), now);
            }
            Action::Advance | Action::Rollback | Action::ConfirmManual | Action::Adopt
                if !self.cockpit.controls_held =>
            {
                return vec![Command::Log(Level::Warn, NOT_HOLDER.into())];
            }
            Action::Advance => {
                let preview = match self.cockpit.preview_advance(None) {
                    Ok(p) => p,
                    Err(Refusal::RolledBack) => return self.ask_resume(),
                    Err(refusal) => return vec![Command::Log(Level::Warn, refusal.to_string())],
                };
                let needs_reason = !preview.failing.is_empty();
                self.view.overlay = Some(Overlay::Traffic(TrafficDialog {
                    rollback: false,
                    to: preview.to,
                    needs_reason,
                    field: if needs_reason { Field::Reason } else { Field::Confirm },
                    reason: String::new(),
                    confirm: String::new(),
                    error: None,
                    after: false,
                }));
            }
            // Rolled back without a reason (traffic first): R asks for it, rather than again.
            Action::Rollback if self.reason_missing() => {
                self.view.overlay = Some(Overlay::Traffic(TrafficDialog::rollback_reason()));
            }
            Action::Rollback => {
                self.view.overlay = Some(Overlay::Traffic(TrafficDialog {
                    rollback: true,
                    to: 0,
                    needs_reason: false,
                    field: Field::Confirm,
                    reason: String::new(),
                    confirm: String::new(),
                    error: None,
                    after: false,
                }));
            }
            Action::Revert => return self.cockpit.update(Event::Revert, now),
            Action::Adopt => {
                if self.cockpit.drift.is_none() && self.cockpit.traffic.interrupted.is_none() {
                    return vec![Command::Log(
                        Level::Info,
                        "no drift: the router agrees with the recorded split, nothing to adopt".into(),
                    )];
                }
                self.view.overlay = Some(Overlay::Adopt { text: String::new() });
            }
            Action::TakeControls => return self.cockpit.update(Event::ControlsKey(ControlsOp::Take), now),
            // Heard only while a handover request is shown (above).
            Action::HandOver | Action::KeepControls => {}
            Action::ConfirmManual => {
                if self.cockpit.manual_wait.is_none() {
                    return vec![Command::Log(Level::Info, "no manual traffic step is waiting".into())];
                }
                self.view.overlay = Some(Overlay::Manual { text: String::new() });
            }
            Action::Tick => {
                let Some(task) = self.view.selected_task(self.cockpit.runbook.as_ref()) else {
                    return vec![Command::Log(Level::Info, "select a task to tick: tab moves to the task list".into())];
                };
                return self.cockpit.update(Event::ToggleTask(task.clone()), now);
            }
            Action::Find => self.view.overlay = Some(Overlay::Find { query: String::new() }),
            Action::NextOpen => {
                if !self.view.select_next(self.cockpit.runbook.as_ref(), |t| !t.done) {
                    return vec![Command::Log(Level::Info, "no open task left".into())];
                }
            }
            Action::OpenOnly => {
                let keep = self.view.selected_task(self.cockpit.runbook.as_ref()).map(|t| t.line);
                self.view.open_only = !self.view.open_only;
                self.view.task = 0;
                if let Some(line) = keep {
                    // Stay on the same task when it is still listed.
                    self.view.select_next(self.cockpit.runbook.as_ref(), |t| t.line == line);
                }
                self.view.clamp_to(self.cockpit.runbook.as_ref());
            }
            Action::Faults => {
                if self.cockpit.demo {
                    self.view.overlay = Some(Overlay::Faults { selected: 0 });
                } else {
                    return vec![Command::Log(Level::Warn, "faults can only be injected into the demo fleet".into())];
                }
            }
        }
        Vec::new()
    }

    fn rows(&self) -> (usize, usize) {
        (self.cockpit.slos.len(), self.cockpit.triggers.len())
    }

    fn selected_trigger(&self) -> Option<usize> {
        (self.view.focus == Focus::Triggers && self.view.trigger < self.cockpit.triggers.len())
            .then_some(self.view.trigger)
    }

    /// Typing the reason for raising or lowering a manual trigger: Enter with an
    /// empty reason is refused, Esc gives up.
    fn reason_key(&mut self, key: KeyEvent, trigger: usize, raise: bool, mut text: String, now: Ts) -> Vec<Command> {
        match key.code {
            KeyCode::Esc => self.view.overlay = None,
            KeyCode::Enter if text.trim().is_empty() => {
                return self.refuse_in_dialog("a reason is needed; it goes to the log".into());
            }
            KeyCode::Enter => {
                self.view.overlay = None;
                let reason = text.trim().to_string();
                let event = if raise {
                    Event::RaiseTrigger { trigger, reason }
                } else {
                    Event::LowerTrigger { trigger, reason }
                };
                return self.cockpit.update(event, now);
            }
            _ if edit(&mut text, &key) => self.view.overlay = Some(Overlay::Reason { trigger, raise, text }),
            _ => {}
        }
        Vec::new()
    }

    /// Typing into a traffic dialog. An advance past failing gates asks for the override reason
    /// first, then the percent; a rollback asks for ROLLBACK, then the reason. Esc cancels.
    fn traffic_key(&mut self, key: KeyEvent, mut d: TrafficDialog, now: Ts) -> Vec<Command> {
        let target = if d.rollback { Confirmation::Rollback } else { Confirmation::Stage(d.to) };
        match key.code {
            KeyCode::Esc if d.after => {
                self.view.overlay = None;
                let msg = format!(
                    "the rollback's reason is not given yet: \"{}\" stays open; {} asks again",
                    StepKind::Document.label(),
                    self.keymap.first_key(Action::Rollback).unwrap_or_default()
                );
                return vec![Command::Log(Level::Warn, msg)];
            }
            KeyCode::Esc => {
                self.view.overlay = None;
                let what = if d.rollback { "rollback" } else { "advance" };
                return vec![Command::Log(Level::Info, format!("{what} cancelled: nothing changed"))];
            }
            KeyCode::Enter => match d.field {
                Field::Reason if d.reason.trim().is_empty() => {
                    let why = "a reason is needed; it goes to the audit log".to_string();
                    d.error = Some(why.clone());
                    self.view.overlay = Some(Overlay::Traffic(d));
                    return vec![Command::Log(Level::Warn, why)];
                }
                Field::Reason if d.rollback => {
                    self.view.overlay = None;
                    return self.cockpit.update(Event::RollbackReason { reason: d.reason.trim().to_string() }, now);
                }
                Field::Reason => match self.cockpit.override_rule.check(&d.reason) {
                    Ok(()) => {
                        d.field = Field::Confirm;
                        d.error = None;
                    }
                    Err(why) => {
                        d.error = Some(why.clone());
                        self.view.overlay = Some(Overlay::Traffic(d));
                        return vec![Command::Log(Level::Warn, why)];
                    }
                },
                Field::Confirm if !confirm(target, &d.confirm) => {
                    let why = format!("not confirmed: {}", target.prompt());
                    d.confirm.clear();
                    d.error = Some(why.clone());
                    self.view.overlay = Some(Overlay::Traffic(d));
                    return vec![Command::Log(Level::Warn, why)];
                }
                // Traffic moves at once; the reason is asked after the actuators were started.
                Field::Confirm if d.rollback => {
                    let out = self.cockpit.update(Event::Rollback { reason: String::new() }, now);
                    self.view.overlay = Some(Overlay::Traffic(TrafficDialog::rollback_reason()));
                    return out;
                }
                Field::Confirm => {
                    self.view.overlay = None;
                    let override_reason = d.needs_reason.then(|| d.reason.trim().to_string());
                    return self.cockpit.update(Event::Advance { to: Some(d.to), override_reason }, now);
                }
            },
            _ => {
                edit(if d.field == Field::Reason { &mut d.reason } else { &mut d.confirm }, &key);
            }
        }
        self.view.overlay = Some(Overlay::Traffic(d));
        Vec::new()
    }

    /// A dialog refuses what was typed: it says why inside itself, and in the log.
    fn refuse_in_dialog(&mut self, why: String) -> Vec<Command> {
        self.view.dialog_error = Some(why.clone());
        vec![Command::Log(Level::Warn, why)]
    }

    /// A rollback ran without its reason and nothing about it is still in flight.
    fn reason_missing(&self) -> bool {
        let c = &self.cockpit;
        c.traffic.rollback.as_ref().is_some_and(|r| r.reason.is_none())
            && c.traffic.pending.is_none()
            && c.apply_failure.is_none()
    }

    /// `a` after a rollback (by the holder of the controls): once its procedure is complete, the
    /// go-live may start again from 0 % with a reason; before that, what is still open is named.
    fn ask_resume(&mut self) -> Vec<Command> {
        let open = self.cockpit.traffic.rollback.as_ref().map(|r| r.open()).unwrap_or_default();
        if !open.is_empty() {
            return vec![Command::Log(
                Level::Warn,
                format!("{}; then a resumes the go-live", Refusal::ProcedureOpen(open)),
            )];
        }
        self.view.overlay = Some(Overlay::Resume { text: String::new() });
        Vec::new()
    }

    /// Typing the reason to resume after a rollback: Enter with none is refused, Esc gives up.
    fn resume_key(&mut self, key: KeyEvent, mut text: String, now: Ts) -> Vec<Command> {
        match key.code {
            KeyCode::Esc => {
                self.view.overlay = None;
                return vec![Command::Log(Level::Info, "resume cancelled: nothing changed".into())];
            }
            KeyCode::Enter if text.trim().is_empty() => {
                return self.refuse_in_dialog("a reason is needed; it goes to the audit log".into());
            }
            KeyCode::Enter => {
                self.view.overlay = None;
                return self.cockpit.update(Event::Resume { reason: text.trim().to_string() }, now);
            }
            _ => {
                edit(&mut text, &key);
            }
        }
        self.view.overlay = Some(Overlay::Resume { text });
        Vec::new()
    }

    /// Typing the reason to adopt the router's split: Enter with none is refused, Esc gives up.
    fn adopt_key(&mut self, key: KeyEvent, mut text: String, now: Ts) -> Vec<Command> {
        match key.code {
            KeyCode::Esc => {
                self.view.overlay = None;
                return vec![Command::Log(Level::Info, "adopt cancelled: nothing changed".into())];
            }
            KeyCode::Enter if text.trim().is_empty() => {
                return vec![Command::Log(Level::Warn, "a reason is needed; it goes to the audit log".into())];
            }
            KeyCode::Enter => {
                self.view.overlay = None;
                return self.cockpit.update(Event::Adopt { reason: text.trim().to_string() }, now);
            }
            _ => {
                edit(&mut text, &key);
            }
        }
        self.view.overlay = Some(Overlay::Adopt { text });
        Vec::new()
    }

    /// Typing into the manual-step dialog: `done` confirms, `abandon` gives the change up, anything
    /// else is refused; Esc closes it and the step keeps waiting.
    fn manual_key(&mut self, key: KeyEvent, mut text: String, now: Ts) -> Vec<Command> {
        match key.code {
            KeyCode::Esc => {
                self.view.overlay = None;
                return vec![Command::Log(Level::Info, "the manual step is still waiting: c when it is done".into())];
            }
            KeyCode::Enter => {
                let event = match text.trim() {
                    "done" => Event::ConfirmManual,
                    "abandon" => Event::AbandonManual { why: format!("given up by {}", self.cockpit.operator) },
                    other => {
                        self.view.overlay = Some(Overlay::Manual { text: String::new() });
                        return self
                            .refuse_in_dialog(format!("{other:?} is neither done nor abandon: nothing changed"));
                    }
                };
                self.view.overlay = None;
                return self.cockpit.update(event, now);
            }
            _ => {
                edit(&mut text, &key);
            }
        }
        self.view.overlay = Some(Overlay::Manual { text });
        Vec::new()
    }

    /// Typing into the find prompt: Enter jumps to the next match, Esc gives up.
    fn find_key(&mut self, key: KeyEvent, mut query: String) -> Vec<Command> {
        match key.code {
            KeyCode::Esc => self.view.overlay = None,
            KeyCode::Enter => {
                self.view.overlay = None;
                let found = self.view.select_next(self.cockpit.runbook.as_ref(), |t| view::task_matches(t, &query));
                if !found {
                    return vec![Command::Log(Level::Info, format!("no task matches {query:?}"))];
                }
            }
            _ if edit(&mut query, &key) => self.view.overlay = Some(Overlay::Find { query }),
            KeyCode::Char('c') => self.view.overlay = None,
            _ => {}
        }
        Vec::new()
    }

    fn fault_menu_key(&mut self, key: KeyEvent, action: Option<Action>, selected: usize, now: Ts) -> Vec<Command> {
        let n = FaultPreset::ALL.len();
        let choose = |i: usize| FaultPreset::ALL.get(i).copied();
        let chosen = match (key.code, action) {
            (KeyCode::Char(c @ '1'..='9'), _) => choose(c as usize - '1' as usize),
            (KeyCode::Enter, _) => choose(selected),
            (_, Some(Action::Down)) => {
                self.view.overlay = Some(Overlay::Faults { selected: (selected + 1) % n });
                None
            }
            (_, Some(Action::Up)) => {
                self.view.overlay = Some(Overlay::Faults { selected: (selected + n - 1) % n });
                None
            }
            (_, Some(Action::Close | Action::Faults | Action::Quit)) => {
                self.view.overlay = None;
                None
            }
            _ => None,
        };
        match chosen {
            Some(preset) => {
                self.view.overlay = None;
                self.cockpit.update(Event::Fault(preset), now)
            }
            None => Vec::new(),
        }
    }
}

/// Backspace and printable characters edit a typed field; `true` when the key was one of them.
fn edit(text: &mut String, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
            true
        }
        KeyCode::Char(c) if !key.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) => {
            text.push(c);
            true
        }
        _ => false,
    }
}

/// An acting key's name for the read-only refusal.
fn what(action: Action) -> &'static str {
    match action {
        Action::Tick => "ticking",
        Action::Advance => "advance",
        Action::Rollback => "rollback",
        Action::Revert => "revert",
        Action::Adopt => "adopting the router's split",
        Action::Acknowledge => "acknowledge",
        Action::RaiseManual => "raising a manual trigger",
        Action::Faults => "the fault menu",
        Action::ConfirmManual => "confirming a manual step",
        Action::TakeControls => "taking the controls",
        Action::HandOver | Action::KeepControls => "answering a request for the controls",
        _ => "this key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn app() -> App {
        let mut c = Cockpit::new("go-live", "demo");
        c.demo = true;
        App::new(c, Keymap::builtin(), Theme::builtin())
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
        app.handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), Ts(0))
    }

    #[test]
    fn the_fault_menu_posts_the_chosen_fault() {
        let mut a = app();
        key(&mut a, KeyCode::Char('F'));
        assert_eq!(a.view.overlay, Some(Overlay::Faults { selected: 0 }));
        let out = key(&mut a, KeyCode::Char('1'));
        assert!(out.iter().any(|c| matches!(c, Command::PostFault(f) if f.error_ratio > 0.05)), "{out:?}");
        assert_eq!(a.view.overlay, None);
        key(&mut a, KeyCode::Char('F'));
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Down);
        let out = key(&mut a, KeyCode::Enter);
        assert!(out.contains(&Command::ClearFaults), "{out:?}");
    }

    #[test]
    fn esc_cancels_the_fault_menu_without_a_fault() {
        let mut a = app();
        key(&mut a, KeyCode::Char('F'));
        assert!(key(&mut a, KeyCode::Esc).is_empty());
        assert_eq!(a.view.overlay, None);
        assert!(!a.quit);
    }

    #[test]
    fn q_quits_and_signals_quit() {
        let mut a = app();
        key(&mut a, KeyCode::Char('q'));
        assert!(a.quit);
        let mut a = app();
        a.handle(Msg::Signal(exit::Stop::Hup), Ts(0));
        assert!(a.quit);
        assert_eq!(a.stopped, Some(exit::Stop::Hup));
    }

    #[test]
    fn acting_keys_only_log_in_read_only_mode() {
        let mut a = with_runbook();
        a.cockpit.read_only = true;
        key(&mut a, KeyCode::Tab);
        for c in [' ', 'a', 'R', 'V', 'A', '!', 'F'] {
            let out = key(&mut a, KeyCode::Char(c));
            assert!(
                matches!(&out[..], [Command::Log(Level::Warn, m)] if m.starts_with("read-only: ") && m.ends_with(" is not available")),
                "{c}: {out:?}"
            );
            assert_eq!(a.view.overlay, None, "{c} opened nothing");
        }
        key(&mut a, KeyCode::Char('?'));
        assert_eq!(a.view.overlay, Some(Overlay::Help), "watching keys still work");
    }

    #[test]
    fn help_opens_and_closes() {
        let mut a = app();
        key(&mut a, KeyCode::Char('?'));
        assert_eq!(a.view.overlay, Some(Overlay::Help));
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.view.overlay, None);
    }

    fn with_runbook() -> App {
        let mut a = app();
        a.cockpit.runbook = Some(
            crate::domain::runbook::parse(b"## A\n- [ ] T1 alpha\n- [ ] T2 beta\n## B\n- [x] T3 gamma\n").unwrap(),
        );
        a
    }

    fn typed(a: &mut App, text: &str) {
        for c in text.chars() {
            key(a, KeyCode::Char(c));
        }
    }

    #[test]
    fn space_ticks_the_selected_task_through_the_domain() {
        let mut a = with_runbook();
        let out = key(&mut a, KeyCode::Char(' '));
        assert!(matches!(&out[..], [Command::Log(Level::Info, _)]), "no task selected yet: {out:?}");
        key(&mut a, KeyCode::Tab);
        key(&mut a, KeyCode::Down);
        let out = key(&mut a, KeyCode::Char(' '));
        assert!(
            matches!(&out[..], [Command::WriteTask { task, done: true }, Command::Audit { .. }] if task.id.as_deref() == Some("T2")),
            "{out:?}"
        );
    }

    #[test]
    fn find_jumps_to_a_match_and_says_when_there_is_none() {
        let mut a = with_runbook();
        key(&mut a, KeyCode::Char('/'));
        typed(&mut a, "gamx");
        key(&mut a, KeyCode::Backspace);
        assert_eq!(a.view.overlay, Some(Overlay::Find { query: "gam".into() }));
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, None);
        assert_eq!(a.view.selected_task(a.cockpit.runbook.as_ref()).unwrap().id.as_deref(), Some("T3"));
        key(&mut a, KeyCode::Char('/'));
        typed(&mut a, "q");
        assert!(!a.quit, "q inside the prompt is text, not quit");
        let out = key(&mut a, KeyCode::Enter);
        assert!(matches!(&out[..], [Command::Log(Level::Info, m)] if m.contains("no task matches")), "{out:?}");
    }

    #[test]
    fn open_only_hides_done_tasks_and_n_finds_the_next_open_one() {
        let mut a = with_runbook();
        key(&mut a, KeyCode::Char('n'));
        assert_eq!(a.view.selected_task(a.cockpit.runbook.as_ref()).unwrap().id.as_deref(), Some("T1"));
        key(&mut a, KeyCode::Char('o'));
        assert!(a.view.open_only);
        assert_eq!(a.view.selected_task(a.cockpit.runbook.as_ref()).unwrap().id.as_deref(), Some("T1"));
        a.view.phase = 1;
        a.view.clamp_to(a.cockpit.runbook.as_ref());
        assert_eq!(a.view.selected_task(a.cockpit.runbook.as_ref()), None, "phase B has no open task");
    }

    #[test]
    fn enter_on_an_slo_opens_its_detail_and_esc_closes_it() {
        let mut a = app();
        for name in ["error rate", "p95 latency"] {
            a.cockpit.slos.push(crate::domain::slo::SloRow::new(crate::domain::slo::SloSpec {
                name: name.into(),
                objective: "< 1".parse().unwrap(),
                judge: crate::domain::slo::Judge::PerEnv,
                interval_ms: 1000,
            }));
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, None, "enter does nothing outside the SLO panel");
        key(&mut a, KeyCode::Tab);
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.view.focus, Focus::Slos);
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Down);
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, Some(Overlay::SloDetail { slo: 1 }), "clamped to the last row");
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.view.overlay, None);
    }

    #[test]
    fn no_fault_menu_outside_the_demo() {
        let mut a = app();
        a.cockpit.demo = false;
        let out = key(&mut a, KeyCode::Char('F'));
        assert_eq!(a.view.overlay, None);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, _)]));
    }

    #[test]
    fn d_adopts_the_routers_split_after_drift_with_a_reason() {
        use crate::domain::env::Weights;
        let mut a = app();
        let out = key(&mut a, KeyCode::Char('D'));
        assert!(matches!(&out[..], [Command::Log(Level::Info, m)] if m.contains("no drift")), "{out:?}");
        assert_eq!(a.view.overlay, None);
        a.cockpit.update(Event::ActualWeights(Ok(Some(Weights { blue: 25, green: 75 }))), Ts(10_000));
        assert!(a.cockpit.drift.is_some());
        key(&mut a, KeyCode::Char('D'));
        assert_eq!(a.view.overlay, Some(Overlay::Adopt { text: String::new() }));
        let out = key(&mut a, KeyCode::Enter);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("reason")), "{out:?}");
        typed(&mut a, "ops moved it");
        let out = key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, None);
        assert_eq!((a.cockpit.traffic.blue_percent, a.cockpit.drift), (25, None));
        assert!(out.iter().any(|c| matches!(c, Command::Audit { what, .. } if what == "adopt")), "{out:?}");
    }

    #[test]
    fn advance_asks_for_an_override_reason_then_the_exact_percent() {
        let mut a = with_runbook();
        a.cockpit.gates = vec![crate::domain::automation::Gate { stage: 10, tasks: vec!["T1".into()] }];
        key(&mut a, KeyCode::Char('a'));
        assert!(matches!(&a.view.overlay, Some(Overlay::Traffic(d)) if d.to == 10 && d.field == Field::Reason));
        let out = key(&mut a, KeyCode::Enter);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("reason")), "{out:?}");
        typed(&mut a, "CAB-7");
        let out = key(&mut a, KeyCode::Enter);
        assert!(
            matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("at least 10")),
            "too short a reason is refused: {out:?}"
        );
        typed(&mut a, " ok'd");
        key(&mut a, KeyCode::Enter);
        typed(&mut a, "1");
        let out = key(&mut a, KeyCode::Enter);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("type 10")), "1 is not 10: {out:?}");
        typed(&mut a, "10");
        let out = key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, None);
        assert!(out.iter().any(|c| matches!(c, Command::SetWeights { seq: 1, .. })), "{out:?}");
        assert_eq!(a.cockpit.traffic.pending.as_ref().unwrap().reason.as_deref(), Some("CAB-7 ok'd"));
    }

    #[test]
    fn an_observer_is_told_to_ask_and_a_holder_answers_a_request_with_y_or_n() {
        use crate::domain::cockpit::ControlsInfo;
        let mut a = with_runbook();
        let info = |held: bool, asked: Option<&str>| ControlsInfo {
            held,
            holder: Some("alice@ops1".into()),
            observers: 1,
            asked_by: asked.map(str::to_string),
            shared: true,
        };
        a.handle(Msg::Domain(Event::Controls { info: info(false, None), note: None }), Ts(0));
        for k in ['a', 'R'] {
            let out = key(&mut a, KeyCode::Char(k));
            assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m == NOT_HOLDER), "{k}: {out:?}");
            assert_eq!(a.view.overlay, None);
        }
        assert_eq!(key(&mut a, KeyCode::Char('t')), vec![Command::Controls(ControlsOp::Take)]);
        a.handle(Msg::Domain(Event::Controls { info: info(true, Some("bob@ops2")), note: None }), Ts(1));
        let out = key(&mut a, KeyCode::Char('n'));
        assert!(out.contains(&Command::Controls(ControlsOp::Decline)), "{out:?}");
        key(&mut a, KeyCode::Char('n'));
        assert_eq!(a.view.selected_task(a.cockpit.runbook.as_ref()).unwrap().id.as_deref(), Some("T1"), "n: next open");
        a.handle(Msg::Domain(Event::Controls { info: info(true, Some("bob@ops2")), note: None }), Ts(2));
        let out = key(&mut a, KeyCode::Char('y'));
        assert!(out.contains(&Command::Controls(ControlsOp::HandOver)), "{out:?}");
    }

    #[test]
    fn after_a_rollback_a_names_the_open_steps_then_resumes_with_a_reason() {
        let mut a = app();
        let out = a.cockpit.update(Event::Rollback { reason: "errors".into() }, Ts(0));
        let seq = out.iter().find_map(|c| match c {
            Command::SetWeights { seq, .. } => Some(*seq),
            _ => None,
        });
        a.cockpit.update(Event::Applied { seq: seq.unwrap(), detail: "ok".into() }, Ts(1000));
        let out = key(&mut a, KeyCode::Char('a'));
        assert_eq!(a.view.overlay, None);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("announce")), "{out:?}");
        // The whole procedure done (how each step gets ticked is the stage machine's own test).
        let r = a.cockpit.traffic.rollback.as_mut().unwrap();
        r.steps.iter_mut().for_each(|s| s.done_at = s.done_at.or(Some(Ts(2000))));
        key(&mut a, KeyCode::Char('a'));
        assert_eq!(a.view.overlay, Some(Overlay::Resume { text: String::new() }));
        let out = key(&mut a, KeyCode::Enter);
        assert!(matches!(&out[..], [Command::Log(Level::Warn, m)] if m.contains("reason")), "{out:?}");
        typed(&mut a, "fix in 1.4.2");
        let out = key(&mut a, KeyCode::Enter);
        assert_eq!(a.view.overlay, None);
        assert!(!a.cockpit.traffic.is_rolled_back(), "{out:?}");
        assert!(out.iter().any(|c| matches!(c, Command::Audit { what, .. } if what == "resume")), "{out:?}");
    }

    #[test]
    fn an_empty_reason_keeps_the_dialog_open_and_says_why_in_it() {
        let mut a = app();
        a.view.overlay = Some(Overlay::Reason { trigger: 0, raise: true, text: String::new() });
        let out = key(&mut a, KeyCode::Enter);
        assert!(out.iter().any(|c| matches!(c, Command::Log(Level::Warn, _))), "{out:?}");
        assert!(matches!(a.view.overlay, Some(Overlay::Reason { .. })));
        assert!(a.view.dialog_error.as_deref().is_some_and(|e| e.contains("a reason is needed")));
        typed(&mut a, "x");
        assert_eq!(a.view.dialog_error, None, "typing again clears the complaint");
    }

    #[test]
    fn rollback_moves_traffic_on_rollback_typed_and_asks_the_reason_after() {
        let mut a = app();
        key(&mut a, KeyCode::Char('R'));
        assert!(key(&mut a, KeyCode::Esc).iter().all(|c| matches!(c, Command::Log(Level::Info, _))));
        assert_eq!(a.view.overlay, None);
        key(&mut a, KeyCode::Char('R'));
        typed(&mut a, "rollback");
        key(&mut a, KeyCode::Enter);
        // Refused, and the dialog says why itself.
        assert!(
            matches!(&a.view.overlay, Some(Overlay::Traffic(d)) if d.field == Field::Confirm && d.confirm.is_empty()
                && d.error.as_deref().is_some_and(|e| e.contains("ROLLBACK")))
        );
        typed(&mut a, "ROLLBACK");
        let out = key(&mut a, KeyCode::Enter);
        // Traffic moves at once, before any reason.
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::SetWeights { weights, .. } if weights.blue == 0 && weights.green == 100)),
            "{out:?}"
        );
        assert!(a.cockpit.traffic.is_rolled_back());
        assert!(matches!(&a.view.overlay, Some(Overlay::Traffic(d)) if d.after && d.field == Field::Reason));
        // An empty reason is refused inside the dialog; esc leaves the document step open.
        key(&mut a, KeyCode::Enter);
        assert!(matches!(&a.view.overlay, Some(Overlay::Traffic(d)) if d.error.is_some()));
        key(&mut a, KeyCode::Esc);
        assert_eq!(a.view.overlay, None);
        let r = a.cockpit.traffic.rollback.clone().unwrap();
        assert_eq!(r.reason, None);
        assert!(r.open().contains(&StepKind::Document));
        assert!(a.cockpit.traffic.tick_step(StepKind::Document, "x", None, Ts(1)).is_err(), "no reason, no tick");
        // Once the router confirmed, R asks for the reason (it does not roll back again).
        let seq = a.cockpit.traffic.pending.as_ref().unwrap().seq;
        a.cockpit.update(Event::Applied { seq, detail: "ok".into() }, Ts(1));
        key(&mut a, KeyCode::Char('R'));
        assert!(matches!(&a.view.overlay, Some(Overlay::Traffic(d)) if d.after));
        typed(&mut a, "error spike");
        let out = key(&mut a, KeyCode::Enter);
        assert!(!out.iter().any(|c| matches!(c, Command::SetWeights { .. })), "{out:?}");
        let r = a.cockpit.traffic.rollback.clone().unwrap();
        assert_eq!(r.reason.as_deref(), Some("error spike"));
        assert!(a.cockpit.traffic.tick_step(StepKind::Document, "x", None, Ts(2)).is_ok());
    }
}

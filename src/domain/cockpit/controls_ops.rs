//! The controls as the cockpit sees them: who holds them, how many watch, who asks for them,
//! and following the state the holder (or a CLI verb) wrote. The lease itself lives in the app
//! layer; this side only decides and reports.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::merge::{Side, merge};
use super::{Cockpit, Command, Event, Level, Notice, PersistedState};
use crate::domain::time::Ts;
use crate::domain::traffic::MoveKind;

/// Said when an observer presses a key that would change production.
pub const NOT_HOLDER: &str = "you do not hold the controls: press t to ask for them";

/// What the controls poller last saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlsInfo {
    /// This instance holds the controls.
    pub held: bool,
    /// Who holds them (`alice@ops1`), if anyone; this instance included.
    pub holder: Option<String>,
    /// Live observers (the holder is not one).
    pub observers: usize,
    /// Someone asks this holder for the controls (`bob@ops2`).
    pub asked_by: Option<String>,
    /// The state dir has a lease at all (a cockpit without a state dir has nothing to share).
    pub shared: bool,
}

/// What the operator asks of the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlsOp {
    /// Take them when free, else ask the holder.
    Take,
    /// Hand them to whoever asked.
    HandOver,
    /// Keep them: decline the request.
    Decline,
}

/// What an observer asks the holder to do with a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TriggerAction {
    Raise { reason: String },
    Lower { reason: String },
    Acknowledge,
}

/// An observer's request, carried to the holder through the state dir (`trigger.request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRequest {
    /// The trigger's name (indices may differ between two configs).
    pub trigger: String,
    #[serde(flatten)]
    pub action: TriggerAction,
    /// `bob@ops2`.
    pub by: String,
    pub at: Ts,
}

impl TriggerRequest {
    /// `raise "data corruption" (rows lost)`.
    pub fn describe(&self) -> String {
        match &self.action {
            TriggerAction::Raise { reason } => format!("raise {:?} ({reason})", self.trigger),
            TriggerAction::Lower { reason } => format!("lower {:?} ({reason})", self.trigger),
            TriggerAction::Acknowledge => format!("acknowledge {:?}", self.trigger),
        }
    }
}

/// What an observer may write to the audit log: its requests and its own runbook ticks.
const OBSERVER_AUDIT: [&str; 3] = ["trigger-request", "tick", "untick"];

impl Cockpit {
    /// Another cockpit holds the controls of a shared state dir: this one watches and asks.
    pub fn is_observer(&self) -> bool {
        self.controls.shared && !self.controls_held && !self.read_only
    }

    /// On an observer, the second wall: nothing of the state and nothing of the audit but its
    /// requests and its ticks leave this cockpit, whatever an event asked for.
    pub(super) fn observer_writes_only_its_own(&self, out: &mut Vec<Command>) {
        if self.is_observer() {
            out.retain(|c| match c {
                Command::Persist => false,
                Command::Audit { what, .. } => OBSERVER_AUDIT.contains(&what.as_str()),
                _ => true,
            });
        }
    }

    /// On an observer, `!` and `A` become a request to the holder; `None` for other events.
    pub(super) fn as_trigger_request(&self, event: &Event, now: Ts) -> Option<TriggerRequest> {
        if !self.is_observer() {
            return None;
        }
        let (i, action) = match event {
            Event::AckTrigger(i) => (*i, TriggerAction::Acknowledge),
            Event::RaiseTrigger { trigger, reason } => (*trigger, TriggerAction::Raise { reason: reason.clone() }),
            Event::LowerTrigger { trigger, reason } => (*trigger, TriggerAction::Lower { reason: reason.clone() }),
            _ => return None,
        };
        let trigger = self.triggers.specs.get(i)?.name.clone();
        Some(TriggerRequest { trigger, action, by: self.operator.clone(), at: now })
    }

    /// The observer's side: send the request, say so, audit it under its own name.
    pub(super) fn send_trigger_request(&self, r: TriggerRequest, out: &mut Vec<Command>) {
        let holder = self.controls.holder.clone().unwrap_or_else(|| "the holder".into());
        out.push(Command::Log(Level::Info, format!("asked {holder} to {}", r.describe())));
        self.audit("trigger-request", json!({ "trigger": r.trigger, "request": r.describe(), "to": holder }), out);
        out.push(Command::SendTriggerRequest(r));
    }

    /// The holder's side: show the request until it is answered, with the bell.
    pub(super) fn trigger_requested(&mut self, r: TriggerRequest, _now: Ts, out: &mut Vec<Command>) {
        if !self.controls_held {
            return;
        }
        out.push(Command::Log(Level::Warn, format!("{} asks you to {}: y does it, n declines", r.by, r.describe())));
        out.push(Command::Bell);
        self.trigger_request = Some(r);
    }

    /// `y` carries the request out as the holder's own action (audited, naming who asked); `n`
    /// declines it.
    pub(super) fn answer_trigger_request(&mut self, yes: bool, now: Ts, out: &mut Vec<Command>) {
        let Some(r) = self.trigger_request.take() else {
            out.push(Command::Log(Level::Info, "no trigger request to answer".into()));
            return;
        };
        if !yes {
            out.push(Command::Log(Level::Info, format!("declined: {} asked to {}", r.by, r.describe())));
            self.audit("decline-trigger-request", json!({ "trigger": r.trigger, "requester": r.by }), out);
            return;
        }
        let Some(i) = self.triggers.specs.iter().position(|s| s.name == r.trigger) else {
            out.push(Command::Log(
                Level::Warn,
                format!("{} asked about {:?}, which is not configured here", r.by, r.trigger),
            ));
            return;
        };
        let asked = |reason: &str| format!("{reason} (asked by {})", r.by);
        let event = match &r.action {
            TriggerAction::Acknowledge => Event::AckTrigger(i),
            TriggerAction::Raise { reason } => Event::RaiseTrigger { trigger: i, reason: asked(reason) },
            TriggerAction::Lower { reason } => Event::LowerTrigger { trigger: i, reason: asked(reason) },
        };
        out.extend(self.apply(event, now));
    }

    /// Someone took the controls without asking: a popup, the bell, and this cockpit observes.
    pub(super) fn controls_taken(&mut self, by: &str, reason: &str, now: Ts, out: &mut Vec<Command>) {
        let text = format!("{by} took the controls from a shell: {reason}; you are observing now");
        out.push(Command::Log(Level::Warn, text.clone()));
        out.push(Command::Bell);
        self.controls_held = false;
        self.controls.held = false;
        self.trigger_request = None;
        self.notice = Some(Notice { at: now, title: "controls taken".into(), text });
    }

    /// The poller's news: a change of holder is logged (and audited when this instance took them).
    pub(super) fn controls_changed(&mut self, info: ControlsInfo, note: Option<String>, out: &mut Vec<Command>) {
        if let Some(n) = note {
            out.push(Command::Log(Level::Info, n));
        }
        if info.held && !self.controls_held {
            out.push(Command::Log(Level::Info, "you hold the controls".into()));
            self.controls_held = true;
            self.audit("take-controls", json!({ "observers": info.observers }), out);
        } else if !info.held && self.controls_held {
            out.push(Command::Log(Level::Warn, "you no longer hold the controls: observing".into()));
            self.controls_held = false;
        }
        if info.asked_by.is_some() && info.asked_by != self.controls.asked_by && info.held {
            let who = info.asked_by.as_deref().unwrap_or("someone");
            out.push(Command::Log(Level::Warn, format!("{who} asks for the controls: y hands over, n keeps them")));
            out.push(Command::Bell);
        }
        self.controls = info;
    }

    /// `t`, `y`, `n`: checked here, carried out by the app's controls thread.
    pub(super) fn controls_op(&mut self, op: ControlsOp, out: &mut Vec<Command>) {
        if !self.controls.shared {
            out.push(Command::Log(Level::Info, "no shared state dir: these controls are yours alone".into()));
            return;
        }
        match op {
            ControlsOp::Take if self.controls_held => {
                out.push(Command::Log(Level::Info, "you already hold the controls".into()));
            }
            ControlsOp::Take => out.push(Command::Controls(op)),
            ControlsOp::HandOver | ControlsOp::Decline if !self.controls_held || self.controls.asked_by.is_none() => {
                out.push(Command::Log(Level::Info, "nobody asks for the controls".into()));
            }
            ControlsOp::HandOver => {
                let to = self.controls.asked_by.take().unwrap_or_default();
                self.audit("hand-over", json!({ "to": to }), out);
                out.push(Command::Controls(op));
            }
            ControlsOp::Decline => {
                let to = self.controls.asked_by.take().unwrap_or_default();
                out.push(Command::Log(Level::Info, format!("you keep the controls; {to} is told")));
                self.audit("decline-controls", json!({ "requester": to }), out);
                out.push(Command::Controls(op));
            }
        }
    }

    /// The state file changed under this instance (the holder wrote it, or a CLI verb did):
    /// follow it. A reading older than what this cockpit already knows is ignored. The holder
    /// merges it with its own changes not yet on disk (three ways, from the last state it knew on
    /// disk), so a trigger it just raised survives a rollback made from a shell meanwhile.
    pub(super) fn state_loaded(
        &mut self,
        state: PersistedState,
        by: Option<String>,
        generation: u64,
        out: &mut Vec<Command>,
    ) {
        self.follow(state, by, generation, false, out);
    }

    /// This holder's own save reached the disk, perhaps merged with a change made elsewhere.
    pub(super) fn state_saved(&mut self, state: PersistedState, generation: u64, out: &mut Vec<Command>) {
        self.follow(state, None, generation, true, out);
    }

    fn follow(
        &mut self,
        state: PersistedState,
        by: Option<String>,
        generation: u64,
        own: bool,
        out: &mut Vec<Command>,
    ) {
        if self.synced.as_ref().is_some_and(|(g, _)| generation <= *g) {
            return; // already known, or older than what is known
        }
        let base = self.synced.replace((generation, state.clone())).map(|(_, s)| s);
        let ours = self.persisted();
        let next = match base {
            Some(base) if self.controls_held => {
                let m = merge(&base, &ours, &state, Side::Theirs);
                // The writer already said so for this cockpit's own save.
                if !m.conflicts.is_empty() && !own {
                    let by = by.as_deref().unwrap_or("another cutover");
                    out.push(Command::Log(
                        Level::Warn,
                        format!(
                            "state.json was changed by {by} at the same time as here: {} taken as written there",
                            m.conflicts.join(", ")
                        ),
                    ));
                }
                m.state
            }
            _ => state,
        };
        if next == ours {
            return;
        }
        let before = self.stage_label();
        let known = self.traffic.history.clone();
        for w in self.restore(next) {
            out.push(Command::Log(Level::Warn, w));
        }
        self.announce_moves_made_elsewhere(&known, out);
        let after = self.stage_label();
        if before != after || (self.controls_held && !own) {
            let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
            out.push(Command::Log(Level::Info, format!("state changed{by}: blue {after}")));
        }
    }

    /// A rollback someone else made (a shell, another cockpit) is a popup and the bell on the
    /// holder, naming who and why.
    fn announce_moves_made_elsewhere(
        &mut self,
        known: &[crate::domain::traffic::HistoryEntry],
        out: &mut Vec<Command>,
    ) {
        let new: Vec<_> = self
            .traffic
            .history
            .iter()
            .filter(|e| !known.iter().any(|k| k.seq == e.seq && k.at == e.at && k.kind == e.kind))
            .filter(|e| e.kind == MoveKind::Rollback)
            .cloned()
            .collect();
        for e in new {
            let why = e.reason.as_deref().unwrap_or("no reason given");
            let text = format!("{} rolled back {}% → 0%: {why}", e.by, e.from);
            out.push(Command::Log(Level::Error, text.clone()));
            if self.controls_held {
                out.push(Command::Bell);
                self.notice = Some(Notice { at: e.at, title: "ROLLED BACK elsewhere".into(), text });
            }
        }
    }

    /// Refuses a production-changing action on an observer.
    pub(super) fn refuse_unless_held(&self, out: &mut Vec<Command>) -> bool {
        if self.controls_held {
            return false;
        }
        out.push(Command::Log(Level::Warn, NOT_HOLDER.into()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::Event;
    use crate::domain::time::Ts;

    fn shared(held: bool) -> ControlsInfo {
        ControlsInfo { held, holder: Some("alice@ops1".into()), observers: 1, asked_by: None, shared: true }
    }

    fn logs(out: &[Command]) -> Vec<&str> {
        out.iter()
            .filter_map(|c| match c {
                Command::Log(_, m) => Some(m.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_observer_cannot_move_traffic_and_is_told_how_to_ask() {
        let mut c = Cockpit::new("go-live", "prod");
        c.update(Event::Controls { info: shared(false), note: None }, Ts(0));
        assert!(!c.controls_held);
        for e in [
            Event::Advance { to: None, override_reason: None },
            Event::Rollback { reason: "x".into() },
            Event::Revert,
            Event::Resume { reason: "x".into() },
            Event::TickRollbackStep(crate::domain::traffic::StepKind::ALL[0]),
            Event::ConfirmManual,
            Event::AbandonManual { why: "x".into() },
        ] {
            let out = c.update(e.clone(), Ts(1));
            assert_eq!(logs(&out), vec![NOT_HOLDER], "{e:?}");
            assert!(!out.iter().any(|c| matches!(c, Command::SetWeights { .. } | Command::Persist)), "{e:?}");
        }
        assert_eq!(c.traffic.blue_percent, 0);
    }

    #[test]
    fn only_the_holder_ticks_linked_tasks() {
        use crate::domain::automation::{Link, When};
        let mut c = Cockpit::new("go-live", "prod");
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1217 route 10%\n").unwrap());
        c.links = vec![Link { task: "T1217".into(), when: When::Stage(10) }];
        c.update(Event::Controls { info: shared(false), note: None }, Ts(0));
        assert!(c.happened(&When::Stage(10)).is_empty(), "an observer leaves it to the holder");
        c.update(Event::Controls { info: shared(true), note: None }, Ts(1));
        assert!(c.happened(&When::Stage(10)).iter().any(|x| matches!(x, Command::WriteTask { .. })));
    }

    #[test]
    fn taking_asking_and_handing_over() {
        let mut c = Cockpit::new("go-live", "prod");
        let out = c.update(Event::ControlsKey(ControlsOp::Take), Ts(0));
        assert!(logs(&out)[0].contains("no shared state dir"), "{out:?}");
        c.update(Event::Controls { info: shared(false), note: None }, Ts(0));
        let out = c.update(Event::ControlsKey(ControlsOp::Take), Ts(0));
        assert_eq!(out, vec![Command::Controls(ControlsOp::Take)]);
        let out = c.update(Event::Controls { info: shared(true), note: Some("granted".into()) }, Ts(1));
        assert!(c.controls_held);
        assert!(out.iter().any(|c| matches!(c, Command::Audit { what, .. } if what == "take-controls")), "{out:?}");
        let out = c.update(Event::ControlsKey(ControlsOp::HandOver), Ts(2));
        assert_eq!(logs(&out), vec!["nobody asks for the controls"]);
        let asked = ControlsInfo { asked_by: Some("bob@ops2".into()), ..shared(true) };
        let out = c.update(Event::Controls { info: asked.clone(), note: None }, Ts(3));
        assert!(logs(&out).iter().any(|m| m.contains("bob@ops2 asks for the controls")), "{out:?}");
        let out = c.update(Event::ControlsKey(ControlsOp::Decline), Ts(4));
        assert!(out.iter().any(|c| matches!(c, Command::Audit { what, .. } if what == "decline-controls")));
        assert!(out.contains(&Command::Controls(ControlsOp::Decline)));
        c.update(Event::Controls { info: asked, note: None }, Ts(5));
        let out = c.update(Event::ControlsKey(ControlsOp::HandOver), Ts(6));
        assert!(out.iter().any(|c| matches!(c, Command::Audit { what, .. } if what == "hand-over")));
        assert!(out.contains(&Command::Controls(ControlsOp::HandOver)));
        let out = c.update(Event::Controls { info: shared(false), note: None }, Ts(7));
        assert!(!c.controls_held);
        assert!(logs(&out).iter().any(|m| m.contains("no longer hold")), "{out:?}");
    }

    #[test]
    fn an_observer_follows_the_state_it_is_given() {
        let mut holder = Cockpit::new("go-live", "prod");
        let out = holder.update(Event::Advance { to: None, override_reason: None }, Ts(0));
        let seq = out
            .iter()
            .find_map(|c| match c {
                Command::SetWeights { seq, .. } => Some(*seq),
                _ => None,
            })
            .unwrap();
        holder.update(Event::Applied { seq, detail: "ok".into() }, Ts(10));
        let mut observer = Cockpit::new("go-live", "prod");
        observer.update(Event::Controls { info: shared(false), note: None }, Ts(0));
        let out = observer.update(
            Event::StateLoaded { state: Box::new(holder.persisted()), by: Some("alice@ops1".into()), generation: 1 },
            Ts(11),
        );
        assert_eq!(observer.traffic.blue_percent, 10);
        assert!(logs(&out).iter().any(|m| m.contains("by alice@ops1") && m.contains("10%")), "{out:?}");
        let again = observer
            .update(Event::StateLoaded { state: Box::new(holder.persisted()), by: None, generation: 2 }, Ts(12));
        assert!(logs(&again).is_empty(), "the same state again is not news: {again:?}");
    }

    fn with_manual_trigger(held: bool) -> Cockpit {
        use crate::domain::trigger::{Tier, TriggerSpec, Triggers};
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = if held { "alice@ops1".into() } else { "bob@ops2".into() };
        c.triggers = Triggers::new(vec![TriggerSpec::manual("data corruption", Tier::Planned)]);
        c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1 check\n").unwrap());
        c.update(Event::Controls { info: shared(held), note: None }, Ts(0));
        c
    }

    fn audits(out: &[Command]) -> Vec<&str> {
        out.iter()
            .filter_map(|c| match c {
                Command::Audit { what, .. } => Some(what.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_observer_asks_the_holder_and_writes_nothing_but_its_requests_and_ticks() {
        let mut c = with_manual_trigger(false);
        let out = c.update(Event::RaiseTrigger { trigger: 0, reason: "rows lost".into() }, Ts(1));
        let sent = out.iter().find_map(|x| match x {
            Command::SendTriggerRequest(r) => Some(r.clone()),
            _ => None,
        });
        let sent = sent.expect("a request for the holder");
        assert_eq!(sent.action, TriggerAction::Raise { reason: "rows lost".into() });
        assert_eq!((sent.trigger.as_str(), sent.by.as_str()), ("data corruption", "bob@ops2"));
        assert_eq!(audits(&out), vec!["trigger-request"], "{out:?}");
        assert!(logs(&out).iter().any(|m| m.contains("asked alice@ops1 to raise")), "{out:?}");
        assert!(!out.contains(&Command::Persist));
        assert!(c.triggers.states[0].raised.is_none(), "nothing raised on the observer alone");
        for e in [Event::AckTrigger(0), Event::LowerTrigger { trigger: 0, reason: "fine".into() }] {
            let out = c.update(e.clone(), Ts(2));
            assert!(out.iter().any(|x| matches!(x, Command::SendTriggerRequest(_))), "{e:?}: {out:?}");
            assert_eq!(audits(&out), vec!["trigger-request"], "{e:?}");
        }
        // Its own runbook ticks are allowed, audited under its name.
        let task = c.runbook.as_ref().unwrap().find("T1").unwrap().clone();
        let out = c.update(Event::ToggleTask(task), Ts(3));
        assert!(out.iter().any(|x| matches!(x, Command::WriteTask { done: true, .. })));
        assert_eq!(audits(&out), vec!["tick"]);
    }

    #[test]
    fn the_holder_answers_a_trigger_request_with_y_or_n() {
        let mut c = with_manual_trigger(true);
        let ask =
            |action| TriggerRequest { trigger: "data corruption".into(), action, by: "bob@ops2".into(), at: Ts(1) };
        let out = c.update(Event::TriggerRequest(ask(TriggerAction::Raise { reason: "rows lost".into() })), Ts(1));
        assert!(out.contains(&Command::Bell), "{out:?}");
        assert!(logs(&out).iter().any(|m| m.contains("bob@ops2 asks you to raise")), "{out:?}");
        assert!(c.trigger_request.is_some());
        let out = c.update(Event::AnswerTriggerRequest(true), Ts(2));
        let raised = c.triggers.states[0].raised.as_ref().expect("raised by the holder");
        assert_eq!(raised.by, "alice@ops1");
        assert_eq!(raised.reason, "rows lost (asked by bob@ops2)");
        assert_eq!(audits(&out), vec!["trigger-raise"]);
        assert!(out.contains(&Command::Persist));
        assert!(c.trigger_request.is_none());
        c.update(Event::TriggerRequest(ask(TriggerAction::Lower { reason: "false alarm".into() })), Ts(3));
        let out = c.update(Event::AnswerTriggerRequest(false), Ts(4));
        assert_eq!(audits(&out), vec!["decline-trigger-request"]);
        assert!(c.triggers.states[0].raised.is_some(), "declined: still raised");
    }

    #[test]
    fn a_rollback_made_elsewhere_is_merged_in_and_shown_on_the_holder() {
        let mut holder = with_manual_trigger(true);
        holder.synced = Some((1, holder.persisted()));
        let mut shell = holder.clone();
        shell.operator = "carol@ops3".into();
        // The holder raises (its save not on disk yet) while a shell rolls back.
        holder.update(Event::RaiseTrigger { trigger: 0, reason: "rows lost".into() }, Ts(10));
        shell.update(Event::Rollback { reason: "p95 doubled".into() }, Ts(11));
        let out = holder.update(
            Event::StateLoaded { state: Box::new(shell.persisted()), by: Some("carol@ops3".into()), generation: 2 },
            Ts(12),
        );
        assert!(holder.traffic.is_rolled_back(), "the shell's rollback is followed");
        assert!(holder.triggers.states[0].raised.is_some(), "the raise not yet on disk survives");
        assert!(out.contains(&Command::Bell), "{out:?}");
        let n = holder.notice.clone().expect("a popup");
        assert!(n.text.contains("carol@ops3") && n.text.contains("p95 doubled"), "{n:?}");
        // An older reading arriving late changes nothing.
        let stale = Cockpit::new("go-live", "prod").persisted();
        holder.update(Event::StateLoaded { state: Box::new(stale), by: None, generation: 1 }, Ts(13));
        assert!(holder.traffic.is_rolled_back() && holder.triggers.states[0].raised.is_some());
        holder.update(Event::DismissNotice, Ts(14));
        assert!(holder.notice.is_none());
    }

    #[test]
    fn controls_taken_from_a_shell_are_a_popup_and_the_holder_observes() {
        let mut c = with_manual_trigger(true);
        let out = c.update(Event::ControlsTaken { by: "bob@ops2".into(), reason: "CAB-7".into() }, Ts(5));
        assert!(out.contains(&Command::Bell));
        assert!(!c.controls_held);
        assert!(c.notice.as_ref().is_some_and(|n| n.text.contains("bob@ops2") && n.text.contains("CAB-7")));
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(6));
        assert_eq!(logs(&out), vec![NOT_HOLDER]);
    }
}

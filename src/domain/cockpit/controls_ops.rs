//! The controls as the cockpit sees them: who holds them, how many watch, who asks for them,
//! and following the state the holder (or a CLI verb) wrote. The lease itself lives in the app
//! layer; this side only decides and reports.

use serde_json::json;

use super::{Cockpit, Command, Level, PersistedState};

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

impl Cockpit {
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
    /// follow it.
    pub(super) fn state_loaded(&mut self, state: PersistedState, by: Option<String>, out: &mut Vec<Command>) {
        if state == self.persisted() {
            return;
        }
        let before = self.stage_label();
        for w in self.restore(state) {
            out.push(Command::Log(Level::Warn, w));
        }
        let after = self.stage_label();
        if before != after || self.controls_held {
            let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
            out.push(Command::Log(Level::Info, format!("state changed{by}: blue {after}")));
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
        let out = observer
            .update(Event::StateLoaded { state: Box::new(holder.persisted()), by: Some("alice@ops1".into()) }, Ts(11));
        assert_eq!(observer.traffic.blue_percent, 10);
        assert!(logs(&out).iter().any(|m| m.contains("by alice@ops1") && m.contains("10%")), "{out:?}");
        let again = observer.update(Event::StateLoaded { state: Box::new(holder.persisted()), by: None }, Ts(12));
        assert!(logs(&again).is_empty(), "the same state again is not news: {again:?}");
    }
}

//! The cockpit's side of a change found interrupted at start-up: the router's reading settles it,
//! the audit log and the log pane say how, and nothing is sent to the actuators.

use serde_json::json;

use super::{Cockpit, Command};
use crate::domain::automation::When;
use crate::domain::env::Weights;
use crate::domain::time::Ts;
use crate::domain::traffic::{MoveKind, Verdict};

impl Cockpit {
    /// Settles [`crate::domain::traffic::TrafficState::interrupted`] with the router's reading
    /// (`Ok(None)`: no actuator can read it back). Returns the verdict, `None` if nothing was
    /// interrupted.
    pub fn reconcile_interrupted(
        &mut self,
        read: &Result<Option<Weights>, String>,
        now: Ts,
        out: &mut Vec<Command>,
    ) -> Option<Verdict> {
        let p = self.traffic.interrupted.clone()?;
        let (actual, error) = match read {
            Ok(w) => (*w, None),
            Err(e) => (None, Some(e.as_str())),
        };
        let (next, effects, verdict) = self.traffic.resolve_interrupted(actual, error, now)?;
        self.traffic = next;
        self.effects(effects, out);
        let what = match verdict {
            Verdict::Applied => "reconciled-applied",
            Verdict::NotApplied => "reconciled-not-applied",
            Verdict::Unknown => "reconciled-unknown",
        };
        let router = actual.map(|w| format!("{}/{}", w.blue, w.green));
        let detail = json!({
            "seq": p.seq,
            "kind": p.kind,
            "from": p.from,
            "to": p.to,
            "requested_at_ms": p.requested_at.0,
            "by": p.by,
            "router": router,
            "router_error": error,
        });
        self.audit(what, detail, out);
        if verdict == Verdict::Applied && p.kind == MoveKind::Advance {
            self.stage_changed(now, out);
            out.extend(self.happened(&When::Stage(self.traffic.blue_percent)));
        }
        if verdict == Verdict::Unknown {
            out.push(Command::Bell);
        }
        out.push(Command::Persist);
        Some(verdict)
    }
}

impl Cockpit {
    /// The process is stopping (`signal` names why) while a change may be in flight: the change
    /// becomes interrupted, and is saved and audited as such, so it is never left half done
    /// without a record; the next cutover settles it from the router's reading. Nothing when no
    /// change is in flight.
    pub fn stop_in_flight(&mut self, signal: &str) -> Vec<Command> {
        let Some(p) = self.traffic.pending.clone() else { return Vec::new() };
        self.traffic.interrupt();
        self.manual_wait = None;
        let change = crate::domain::traffic::describe(&p);
        let mut out = vec![Command::Log(
            super::Level::Warn,
            format!(
                "{signal}: {change} was in flight: recorded as interrupted; the next cutover checks it against \
                 the router and never repeats it"
            ),
        )];
        let detail = json!({
            "seq": p.seq,
            "kind": p.kind,
            "from": p.from,
            "to": p.to,
            "requested_at_ms": p.requested_at.0,
            "by": p.by,
            "signal": signal,
        });
        self.audit("interrupted", detail, &mut out);
        out.push(Command::Persist);
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::cockpit::{Cockpit, Command, Event, Level};
    use crate::domain::env::Weights;
    use crate::domain::time::Ts;
    use crate::domain::traffic::weights_for;

    fn cockpit() -> Cockpit {
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        c
    }

    /// A cockpit that asked for 0 % → 10 % and was killed before the outcome was saved, restarted.
    fn restarted() -> Cockpit {
        let mut c = cockpit();
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(0));
        let persist = out.iter().position(|x| *x == Command::Persist).expect("Persist");
        let set = out.iter().position(|x| matches!(x, Command::SetWeights { .. })).expect("SetWeights");
        let audit = out.iter().position(|x| matches!(x, Command::Audit { .. })).expect("Audit");
        assert!(audit < set && persist < set, "the intent is recorded before the actuators run: {out:?}");
        let saved = c.persisted();
        assert!(saved.traffic.pending.is_some(), "the saved intent");
        let mut fresh = cockpit();
        assert!(fresh.restore(saved).is_empty());
        assert!(fresh.traffic.pending.is_some(), "a viewer sees it still moving");
        let warning = fresh.take_over_in_flight().expect("a warning");
        assert!(warning.contains("advance 0% → 10% was in flight") && warning.contains("never repeated"), "{warning}");
        assert!(fresh.take_over_in_flight().is_none());
        fresh
    }

    fn audits(out: &[Command]) -> Vec<String> {
        out.iter()
            .filter_map(|x| match x {
                Command::Audit { what, .. } => Some(what.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_rollback_is_saved_before_it_is_routed() {
        let mut c = cockpit();
        let out = c.update(Event::Rollback { reason: "x".into() }, Ts(0));
        let persist = out.iter().position(|x| *x == Command::Persist).unwrap();
        let set = out.iter().position(|x| matches!(x, Command::SetWeights { .. })).unwrap();
        assert!(persist < set, "{out:?}");
    }

    #[test]
    fn restart_with_the_router_at_the_target_records_the_change_and_moves_nothing() {
        let mut c = restarted();
        assert_eq!(c.traffic.next_up(Ts(1)).label("green"), "INTERRUPTED 0% → 10%");
        let out = c.update(Event::Reconcile(Ok(Some(weights_for(10)))), Ts(9000));
        assert_eq!((c.traffic.blue_percent, c.traffic.stage_started), (10, Some(Ts(9000))));
        assert!(c.traffic.interrupted.is_none());
        assert_eq!(audits(&out), vec!["reconciled-applied"]);
        assert!(out.iter().all(|x| !matches!(x, Command::SetWeights { .. })), "{out:?}");
        assert!(out.contains(&Command::Persist));
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Info, m) if m.contains("recorded as applied"))));
        assert_eq!(c.weights.map(|(_, w)| w), Some(weights_for(10)), "the reading is kept");
        assert_eq!(c.drift, None);
    }

    #[test]
    fn restart_with_the_router_unchanged_records_nothing_applied() {
        let mut c = restarted();
        let out = c.update(Event::Reconcile(Ok(Some(Weights { blue: 0, green: 100 }))), Ts(9000));
        assert_eq!((c.traffic.blue_percent, c.traffic.interrupted.is_none()), (0, true));
        assert_eq!(audits(&out), vec!["reconciled-not-applied"]);
        assert!(
            out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m)
                if m == "advance 0% → 10% was interrupted before the router changed; nothing was repeated; press a to try again")),
            "{out:?}"
        );
    }

    #[test]
    fn restart_with_the_router_unreadable_keeps_it_shown_and_v_reverts() {
        let mut c = restarted();
        let out = c.update(Event::Reconcile(Err("connection refused".into())), Ts(9000));
        assert!(c.traffic.interrupted.is_some());
        assert_eq!(audits(&out), vec!["reconciled-unknown"]);
        assert!(out.contains(&Command::Bell));
        // V sets the router back to the recorded split; once done, the interruption is over.
        let out = c.update(Event::Revert, Ts(10_000));
        assert!(
            out.iter().any(|x| matches!(x, Command::SetWeights { seq: 0, weights, .. } if *weights == weights_for(0)))
        );
        let out = c.update(Event::Applied { seq: 0, detail: "ok".into() }, Ts(11_000));
        assert!(c.traffic.interrupted.is_none());
        assert!(out.contains(&Command::Persist));
    }

    #[test]
    fn a_retries_an_interrupted_change() {
        // The router at a third split is drift: no retry, no override, until it is resolved.
        let mut c = restarted();
        c.update(Event::Reconcile(Ok(Some(Weights { blue: 50, green: 50 }))), Ts(9000));
        assert!(c.traffic.interrupted.is_some());
        let out = c
            .update(Event::Advance { to: None, override_reason: Some("the change ticket says go".into()) }, Ts(10_000));
        assert!(!out.iter().any(|x| matches!(x, Command::SetWeights { .. })), "{out:?}");
        assert!(out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m) if m.contains("drift"))), "{out:?}");
        // With no actuator reading the router back, trying the same change again is the way out.
        let mut c = restarted();
        c.update(Event::Reconcile(Ok(None)), Ts(9000));
        assert!(c.traffic.interrupted.is_some());
        let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(10_000));
        assert!(out.iter().any(|x| matches!(x, Command::SetWeights { weights, .. } if *weights == weights_for(10))));
        assert!(c.traffic.interrupted.is_none());
    }

    #[test]
    fn without_an_interrupted_change_a_reconcile_is_a_reading() {
        let mut c = cockpit();
        let out = c.update(Event::Reconcile(Ok(Some(weights_for(0)))), Ts(9000));
        assert!(audits(&out).is_empty());
        assert_eq!(c.weights.map(|(_, w)| w), Some(weights_for(0)));
    }

    #[test]
    fn a_signal_during_a_change_records_it_interrupted_and_the_restart_settles_it() {
        let mut c = cockpit();
        c.update(Event::Advance { to: None, override_reason: None }, Ts(0));
        assert!(c.traffic.pending.is_some());
        let out = c.stop_in_flight("SIGHUP");
        assert_eq!(audits(&out), vec!["interrupted"]);
        assert_eq!(out.last(), Some(&Command::Persist), "saved after the audit line: {out:?}");
        assert!(
            out.iter().any(|x| matches!(x, Command::Log(Level::Warn, m)
            if m.starts_with("SIGHUP: advance 0% → 10% was in flight"))),
            "{out:?}"
        );
        assert!(c.traffic.pending.is_none() && c.traffic.interrupted.is_some());
        let saved = c.persisted();
        assert!(saved.traffic.interrupted.is_some(), "the record is in the saved state");
        let mut fresh = cockpit();
        assert!(fresh.restore(saved).is_empty());
        let out = fresh.update(Event::Reconcile(Ok(Some(weights_for(10)))), Ts(9000));
        assert_eq!(audits(&out), vec!["reconciled-applied"]);
        assert_eq!(fresh.traffic.blue_percent, 10);
    }

    #[test]
    fn a_signal_with_nothing_in_flight_records_nothing() {
        let mut c = cockpit();
        assert!(c.stop_in_flight("SIGTERM").is_empty());
        assert!(c.traffic.interrupted.is_none());
    }
}

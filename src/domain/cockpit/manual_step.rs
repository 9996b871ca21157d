//! A manual actuator step: the chain stops, the operator moves traffic elsewhere (a console, a
//! ticket) and says so here; only then do the steps after it run. Giving up drops the change the
//! same way an actuator failure does.

use serde_json::json;

use super::{Cockpit, Command, Level};
use crate::domain::env::Weights;
use crate::domain::time::Ts;

/// A change waiting for the operator to confirm a manual step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualWait {
    pub seq: u64,
    pub weights: Weights,
    /// The actuators' `{stage}` placeholder, for the steps after this one.
    pub stage: String,
    /// The step to run next once confirmed.
    pub next_step: usize,
    pub instruction: String,
    /// Actuators that did their part before the manual step.
    pub steps_done: Vec<String>,
    pub since: Ts,
}

impl Cockpit {
    /// The chain stopped at a manual step of change `seq`.
    pub(super) fn manual_needed(&mut self, wait: ManualWait, out: &mut Vec<Command>) {
        let Some(p) = self.traffic.pending.as_ref().filter(|p| p.seq == wait.seq) else {
            out.push(Command::Log(
                Level::Warn,
                format!("a manual step for change #{} is no longer needed: that change is over", wait.seq),
            ));
            return;
        };
        let what = crate::domain::traffic::describe(p);
        out.push(Command::Log(
            Level::Warn,
            format!("MANUAL STEP for {what}: {} — waiting for the operator to confirm it is done", wait.instruction),
        ));
        out.push(Command::Bell);
        self.audit(
            "manual-step-waiting",
            json!({ "seq": wait.seq, "instruction": wait.instruction, "steps_done": wait.steps_done }),
            out,
        );
        self.manual_wait = Some(wait);
    }

    /// The operator says the manual step is done: the rest of the chain runs.
    pub(super) fn confirm_manual(&mut self, out: &mut Vec<Command>) {
        let Some(w) = self.take_wait(out) else { return };
        out.push(Command::Log(Level::Info, format!("manual step confirmed by {}: {}", self.operator, w.instruction)));
        self.audit("manual-step-confirmed", json!({ "seq": w.seq, "instruction": w.instruction }), out);
        out.push(Command::ContinueWeights { seq: w.seq, weights: w.weights, stage: w.stage, from_step: w.next_step });
    }

    /// The operator gives the manual step up: the change fails, the recorded stage stays.
    pub(super) fn abandon_manual(&mut self, why: &str, now: Ts, out: &mut Vec<Command>) {
        let Some(w) = self.take_wait(out) else { return };
        let error = format!("manual step not done ({why}): {}", w.instruction);
        self.apply_failed(w.seq, &error, w.steps_done, now, out);
    }

    fn take_wait(&mut self, out: &mut Vec<Command>) -> Option<ManualWait> {
        let seq = self.traffic.pending.as_ref().map(|p| p.seq);
        match self.manual_wait.take() {
            Some(w) if Some(w.seq) == seq => Some(w),
            _ => {
                out.push(Command::Log(Level::Info, "no manual traffic step is waiting".into()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::Event;
    use crate::domain::traffic::weights_for;

    fn waiting() -> (Cockpit, u64) {
        let mut c = Cockpit::new("go-live", "prod");
        c.operator = "alice".into();
        let out = c.update(Event::Advance { to: None, override_reason: Some("drill".into()) }, Ts(0));
        let seq = out
            .iter()
            .find_map(|x| match x {
                Command::SetWeights { seq, .. } => Some(*seq),
                _ => None,
            })
            .expect("SetWeights");
        let out = c.update(
            Event::NeedsConfirmation {
                seq,
                weights: weights_for(10),
                stage: "1".into(),
                next_step: 1,
                instruction: "set the F5 pool to 10/90".into(),
                steps_done: vec![],
            },
            Ts(1000),
        );
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "manual-step-waiting")));
        assert!(c.manual_wait.is_some());
        (c, seq)
    }

    #[test]
    fn confirming_runs_the_rest_of_the_chain_and_the_stage_commits_when_applied() {
        let (mut c, seq) = waiting();
        assert_eq!(c.traffic.blue_percent, 0, "nothing is committed while the operator works");
        let out = c.update(Event::ConfirmManual, Ts(2000));
        assert!(out.contains(&Command::ContinueWeights {
            seq,
            weights: weights_for(10),
            stage: "1".into(),
            from_step: 1
        }));
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "manual-step-confirmed")));
        assert!(c.manual_wait.is_none());
        c.update(Event::Applied { seq, detail: "manual, webhook".into() }, Ts(3000));
        assert_eq!(c.traffic.blue_percent, 10);
    }

    #[test]
    fn abandoning_fails_the_change_and_keeps_the_stage() {
        let (mut c, _) = waiting();
        let out = c.update(Event::AbandonManual { why: "no access to the console".into() }, Ts(2000));
        assert!(out.iter().any(|x| matches!(x, Command::Audit { what, .. } if what == "advance-failed")));
        assert_eq!((c.traffic.blue_percent, c.traffic.pending.is_none()), (0, true));
        assert!(c.apply_failure.as_ref().is_some_and(|f| f.error.contains("no access to the console")));
        assert!(!out.iter().any(|x| matches!(x, Command::ContinueWeights { .. })));
    }

    #[test]
    fn confirming_with_nothing_waiting_does_nothing() {
        let mut c = Cockpit::new("go-live", "prod");
        let out = c.update(Event::ConfirmManual, Ts(0));
        assert!(out.iter().all(|x| matches!(x, Command::Log(..))), "{out:?}");
    }

    #[test]
    fn a_rollback_supersedes_a_waiting_manual_step() {
        let (mut c, _) = waiting();
        c.update(Event::Rollback { reason: "errors".into() }, Ts(2000));
        assert!(c.manual_wait.is_none());
        let out = c.update(Event::ConfirmManual, Ts(3000));
        assert!(!out.iter().any(|x| matches!(x, Command::ContinueWeights { .. })), "{out:?}");
    }

    #[test]
    fn a_late_manual_stop_for_a_finished_change_is_ignored() {
        let mut c = Cockpit::new("go-live", "prod");
        let out = c.update(
            Event::NeedsConfirmation {
                seq: 9,
                weights: weights_for(10),
                stage: "1".into(),
                next_step: 1,
                instruction: "x".into(),
                steps_done: vec![],
            },
            Ts(0),
        );
        assert!(c.manual_wait.is_none());
        assert!(out.iter().all(|x| matches!(x, Command::Log(..))), "{out:?}");
    }
}

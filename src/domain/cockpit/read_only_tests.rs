//! A read-only cockpit watches and never acts: every action is refused with a log line only, and
//! what it watches never turns into a write.

use super::*;
use crate::domain::env::Weights;
use crate::domain::slo::{Judge, SloSpec};
use crate::domain::traffic::StepKind;
use crate::domain::trigger::{Condition, Direction, Tier, TriggerSpec};

fn cockpit(read_only: bool) -> Cockpit {
    let mut c = Cockpit::new("go-live", "prod");
    c.read_only = read_only;
    // As `make_read_only` sets it up: a viewer never holds the controls.
    c.controls_held = !read_only;
    c.demo = true;
    c.slos.push(SloRow::new(SloSpec {
        name: "error rate".into(),
        objective: "< 1%".parse().unwrap(),
        judge: Judge::PerEnv,
        interval_ms: 1000,
    }));
    let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 };
    let manual = TriggerSpec::manual("stop", Tier::Planned);
    c.triggers = Triggers::new(vec![TriggerSpec::new("err>5%", Tier::Immediate, cond, 0), manual]);
    c.auto_rollback = true;
    c.runbook = Some(crate::domain::runbook::parse(b"## P\n- [ ] T1 watch\n- [ ] T2 route 10%\n").unwrap());
    c.links = vec![
        Link { task: "T1".into(), when: When::AllSlosOk { for_ms: 0 } },
        Link { task: "T2".into(), when: When::RollbackStarted },
    ];
    c
}

fn actions(c: &Cockpit) -> Vec<Event> {
    let task = c.runbook.as_ref().unwrap().find("T1").unwrap().clone();
    vec![
        Event::ToggleTask(task),
        Event::Advance { to: None, override_reason: Some("why".into()) },
        Event::Rollback { reason: "why".into() },
        Event::Revert,
        Event::Resume { reason: "why".into() },
        Event::TickRollbackStep(StepKind::ALL[0]),
        Event::AckTrigger(0),
        Event::RaiseTrigger { trigger: 1, reason: "why".into() },
        Event::LowerTrigger { trigger: 1, reason: "why".into() },
        Event::Fault(FaultPreset::ErrorSpike),
        Event::Applied { seq: 1, detail: "ok".into() },
        Event::ApplyFailed { seq: 1, error: "down".into(), steps_done: Vec::new() },
    ]
}

fn acts(out: &[Command]) -> bool {
    out.iter().any(|c| !matches!(c, Command::Log(..) | Command::Bell))
}

#[test]
fn every_action_is_refused_with_a_warning_and_changes_nothing() {
    let mut c = cockpit(true);
    for event in actions(&c) {
        let before = c.clone();
        let out = c.update(event.clone(), Ts(5_000));
        assert!(
            matches!(&out[..], [Command::Log(Level::Warn, m)] if m.starts_with("read-only: ") && m.ends_with("is not available")),
            "{event:?}: {out:?}"
        );
        assert_eq!(Cockpit { now: before.now, ..c.clone() }, before, "{event:?} changed the cockpit");
    }
}

#[test]
fn the_same_actions_do_act_when_not_read_only() {
    // Guards the test above: these events are real actions in a normal cockpit.
    let mut c = cockpit(false);
    let mut acted = 0;
    for event in actions(&c) {
        if acts(&c.update(event, Ts(5_000))) {
            acted += 1;
        }
    }
    assert!(acted >= 6, "only {acted} actions produced commands");
}

#[test]
fn readings_still_update_the_picture_but_nothing_is_written_and_no_rollback_starts() {
    let mut c = cockpit(true);
    let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.001) }, Ts(0));
    assert!(!acts(&out), "{out:?}");
    c.update(Event::Sample { slo: 0, env: Env::Green, outcome: Outcome::Value(0.001) }, Ts(0));
    let out = c.update(Event::Tick, Ts(1000));
    assert!(!acts(&out), "the linked task is not ticked: {out:?}");
    assert!(c.auto_ticked.is_empty());
    let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.2) }, Ts(2000));
    assert_eq!(c.slos[0].env_state(Env::Blue, Ts(2000)), SloState::Breach, "the reading is shown");
    assert!(c.triggers.firing().next().is_some(), "the trigger fires on screen");
    assert!(!acts(&out), "no persist, audit or weights: {out:?}");
    assert!(!c.traffic.is_rolled_back());
    let said: Vec<&String> =
        out.iter().filter_map(|c| if let Command::Log(_, m) = c { Some(m) } else { None }).collect();
    assert_eq!(said.iter().filter(|m| m.contains("automatic rollback") && m.contains("NOT started")).count(), 1);
    let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.3) }, Ts(3000));
    assert!(!out.iter().any(|c| matches!(c, Command::Log(_, m) if m.contains("automatic rollback"))), "once");
    let out = c.update(Event::Weights(Ok(Weights { blue: 0, green: 100 })), Ts(3000));
    assert!(!acts(&out));
    assert_eq!(c.weights, Some((Ts(3000), Weights { blue: 0, green: 100 })));
}

#[test]
fn a_firing_trigger_is_audited_when_not_read_only() {
    let mut c = cockpit(false);
    c.auto_rollback = false;
    let out = c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: Outcome::Value(0.2) }, Ts(2000));
    assert!(
        out.iter().any(|x| matches!(x, Command::Audit { what, detail, .. }
            if what == "trigger-fired" && detail["trigger"] == "err>5%")),
        "{out:?}"
    );
}

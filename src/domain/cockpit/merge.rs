//! Three-way merge of the persisted state, for a writer whose copy of `state.json` went stale:
//! `base` is what it started from, `ours` what it wants to write, `theirs` what is on disk now.
//! A part only one side changed takes that side's version, so concurrent changes to different
//! parts (a trigger raised in the cockpit, a rollback from a shell) both survive. A part both
//! sides changed differently is a conflict: it is named, and resolved to the side the caller
//! says (a shell `rollback` wins the traffic; the cockpit gives way and says so; an `advance`
//! refuses).

use std::collections::{BTreeMap, BTreeSet};

use super::PersistedState;
use crate::domain::trigger::TriggerState;

/// Which side a conflicting part is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Ours,
    Theirs,
}

/// The merged state and the parts both sides changed differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub state: PersistedState,
    /// `the traffic stage`, `trigger "data corruption"`: resolved to the chosen side.
    pub conflicts: Vec<String>,
}

/// Merges `ours` and `theirs`, both derived from `base`; conflicts are resolved to `prefer`.
pub fn merge(base: &PersistedState, ours: &PersistedState, theirs: &PersistedState, prefer: Side) -> Merged {
    let mut conflicts = Vec::new();
    let traffic = match three_way(&base.traffic, &ours.traffic, &theirs.traffic) {
        Pick::Same(v) => v.clone(),
        Pick::Conflict => {
            conflicts.push(format!(
                "the traffic stage (on disk: {}, here: {})",
                traffic_label(&theirs.traffic),
                traffic_label(&ours.traffic)
            ));
            pick(prefer, &ours.traffic, &theirs.traffic).clone()
        }
    };
    let names: BTreeSet<&String> = ours.triggers.keys().chain(theirs.triggers.keys()).collect();
    let mut triggers = BTreeMap::new();
    for name in names {
        let (b, o, t) = (base.triggers.get(name), ours.triggers.get(name), theirs.triggers.get(name));
        let chosen = match (o, t) {
            (Some(o), Some(t)) => merge_trigger(b, o, t, prefer).unwrap_or_else(|| {
                conflicts.push(format!("trigger {name:?} (raised, lowered or acknowledged on both sides)"));
                pick(prefer, o, t).clone()
            }),
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (None, None) => continue,
        };
        triggers.insert(name.clone(), chosen);
    }
    let mut auto_ticked = theirs.auto_ticked.clone();
    auto_ticked.extend(ours.auto_ticked.difference(&base.auto_ticked).cloned());
    for gone in base.auto_ticked.difference(&ours.auto_ticked) {
        auto_ticked.remove(gone);
    }
    Merged { state: PersistedState { traffic, triggers, auto_ticked }, conflicts }
}

/// `blue 0% rolled back`, `blue 0%, 0% → 10% pending`.
fn traffic_label(t: &crate::domain::traffic::TrafficState) -> String {
    let mut s = format!("blue {}%", t.blue_percent);
    if t.is_rolled_back() {
        s.push_str(" rolled back");
    }
    if let Some(p) = &t.pending {
        s.push_str(&format!(", {}% → {}% pending", p.from, p.to));
    }
    s
}

enum Pick<'a, T> {
    Same(&'a T),
    Conflict,
}

fn three_way<'a, T: PartialEq>(base: &T, ours: &'a T, theirs: &'a T) -> Pick<'a, T> {
    if ours == theirs || ours == base {
        Pick::Same(theirs)
    } else if theirs == base {
        Pick::Same(ours)
    } else {
        Pick::Conflict
    }
}

fn pick<'a, T>(prefer: Side, ours: &'a T, theirs: &'a T) -> &'a T {
    match prefer {
        Side::Ours => ours,
        Side::Theirs => theirs,
    }
}

/// What an operator (or a firing) changes in a trigger: raised, lowered, the firing latch and its
/// acknowledgement. The rest (streak, recent readings, history) is re-derived from readings.
fn operator_part(t: &TriggerState) -> impl PartialEq + '_ {
    (&t.raised, &t.last_lowered, &t.firing)
}

/// One trigger, kept whole so its fields stay consistent: the side whose operator part changed
/// wins; when neither did, the evaluation bookkeeping of the preferred side is kept. `None`: both
/// changed the operator part differently.
fn merge_trigger(
    base: Option<&TriggerState>,
    ours: &TriggerState,
    theirs: &TriggerState,
    prefer: Side,
) -> Option<TriggerState> {
    let default = TriggerState::default();
    let base = base.unwrap_or(&default);
    let (b, o, t) = (operator_part(base), operator_part(ours), operator_part(theirs));
    if o == t || (o == b && t == b) {
        // Only bookkeeping differs: either side is right about what the operator did.
        let whole = if ours == base {
            theirs
        } else if theirs == base {
            ours
        } else {
            pick(prefer, ours, theirs)
        };
        Some(whole.clone())
    } else if o == b {
        Some(theirs.clone())
    } else if t == b {
        Some(ours.clone())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::{Cockpit, Command, Event};
    use crate::domain::time::Ts;
    use crate::domain::trigger::{Tier, TriggerSpec};

    fn cockpit() -> Cockpit {
        let mut c = Cockpit::new("go-live", "prod");
        c.triggers =
            crate::domain::trigger::Triggers::new(vec![TriggerSpec::manual("data corruption", Tier::Immediate)]);
        c
    }

    fn applied(c: &mut Cockpit, out: &[Command], at: i64) {
        let seq = out.iter().find_map(|x| match x {
            Command::SetWeights { seq, .. } => Some(*seq),
            _ => None,
        });
        c.update(Event::Applied { seq: seq.unwrap(), detail: "ok".into() }, Ts(at));
    }

    #[test]
    fn a_raise_and_a_rollback_made_apart_both_survive() {
        let mut base = cockpit();
        let out = base.update(Event::Advance { to: None, override_reason: None }, Ts(1_000));
        applied(&mut base, &out, 2_000);
        let start = base.persisted();
        // The cockpit raises; a shell rolls back from the same starting point.
        let mut holder = base.clone();
        holder.update(Event::RaiseTrigger { trigger: 0, reason: "rows lost".into() }, Ts(3_000));
        let mut shell = base.clone();
        let out = shell.update(Event::Rollback { reason: "CAB".into() }, Ts(3_100));
        applied(&mut shell, &out, 3_200);
        for (ours, theirs) in [(&shell, &holder), (&holder, &shell)] {
            let m = merge(&start, &ours.persisted(), &theirs.persisted(), Side::Theirs);
            assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
            assert!(m.state.traffic.is_rolled_back(), "the rollback survives");
            assert!(m.state.triggers["data corruption"].raised.is_some(), "the raise survives");
        }
    }

    #[test]
    fn the_same_part_changed_on_both_sides_is_named_and_resolved_as_asked() {
        let base = cockpit();
        let start = base.persisted();
        let mut a = base.clone();
        a.update(Event::RaiseTrigger { trigger: 0, reason: "rows lost".into() }, Ts(1_000));
        let out = a.update(Event::Advance { to: None, override_reason: Some("CAB-1 approved".into()) }, Ts(1_000));
        applied(&mut a, &out, 1_500);
        let mut b = base.clone();
        b.update(Event::RaiseTrigger { trigger: 0, reason: "other reason".into() }, Ts(2_000));
        let out = b.update(Event::Rollback { reason: "CAB".into() }, Ts(2_000));
        applied(&mut b, &out, 2_500);
        let m = merge(&start, &a.persisted(), &b.persisted(), Side::Ours);
        assert_eq!(m.conflicts.len(), 2, "{:?}", m.conflicts);
        assert!(m.conflicts[0].contains("traffic stage"), "{:?}", m.conflicts);
        assert!(m.conflicts[1].contains("data corruption"), "{:?}", m.conflicts);
        assert_eq!(m.state.traffic, a.traffic);
        let m = merge(&start, &a.persisted(), &b.persisted(), Side::Theirs);
        assert_eq!(m.state.traffic, b.traffic);
        assert_eq!(m.state.triggers["data corruption"].raised.as_ref().unwrap().reason, "other reason");
    }

    #[test]
    fn nothing_changed_on_one_side_is_the_other_side() {
        let base = cockpit();
        let start = base.persisted();
        let mut a = base.clone();
        a.update(Event::RaiseTrigger { trigger: 0, reason: "rows lost".into() }, Ts(1_000));
        a.auto_ticked.insert("T1".into());
        assert_eq!(merge(&start, &start, &a.persisted(), Side::Ours).state, a.persisted());
        assert_eq!(merge(&start, &a.persisted(), &start, Side::Theirs).state, a.persisted());
        // A tick removed on one side and another added on the other.
        let mut with_t1 = start.clone();
        with_t1.auto_ticked.insert("T1".into());
        let mut ours = with_t1.clone();
        ours.auto_ticked.remove("T1");
        let mut theirs = with_t1.clone();
        theirs.auto_ticked.insert("T2".into());
        let m = merge(&with_t1, &ours, &theirs, Side::Ours);
        assert_eq!(m.state.auto_ticked.iter().map(String::as_str).collect::<Vec<_>>(), vec!["T2"]);
    }
}

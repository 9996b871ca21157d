//! Ties runbook tasks to what the cockpit itself sees and does: tasks that tick
//! themselves when an event happens, tasks that gate a traffic stage, and
//! phases locked behind their predecessors.

use std::collections::HashMap;
use std::fmt;

use super::runbook::{GateState, Phase, Runbook, gate_status};

/// What makes a linked task tick itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// The traffic stage with this blue percentage was reached.
    Stage(u8),
    /// The soak of the stage with this blue percentage passed.
    SoakPassed(u8),
    RollbackStarted,
    /// Every SLO was ok in both environments, without a break, for this long.
    AllSlosOk {
        for_ms: i64,
    },
}

impl When {
    /// Reads `stage:10`, `soak:10`, `rollback:started`, `slo:all-ok` (with a duration given apart).
    pub fn parse(text: &str, for_ms: Option<i64>) -> Result<When, String> {
        let percent = |p: &str| -> Result<u8, String> {
            p.trim_end_matches('%')
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= 100)
                .ok_or_else(|| format!("{text:?}: expected a percentage from 0 to 100 after the colon"))
        };
        match text.split_once(':') {
            Some(("stage", p)) => Ok(When::Stage(percent(p)?)),
            Some(("soak", p)) => Ok(When::SoakPassed(percent(p)?)),
            Some(("rollback", "started")) => Ok(When::RollbackStarted),
            Some(("slo", "all-ok")) => match for_ms {
                Some(ms) if ms > 0 => Ok(When::AllSlosOk { for_ms: ms }),
                _ => Err(format!("{text:?} needs a `for` duration, e.g. for = \"5m\"")),
            },
            _ => Err(format!("unknown event {text:?}; use stage:N, soak:N, rollback:started or slo:all-ok")),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Stage(p) => write!(f, "stage {p}% reached"),
            When::SoakPassed(p) => write!(f, "soak at {p}% passed"),
            When::RollbackStarted => write!(f, "rollback started"),
            When::AllSlosOk { for_ms } => {
                write!(f, "every SLO ok for {}", super::time::format_age(*for_ms as f64 / 1000.0))
            }
        }
    }
}

/// A task that ticks itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub task: String,
    pub when: When,
}

/// Task IDs that must be done before traffic may move to `stage` percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub stage: u8,
    pub tasks: Vec<String>,
}

impl Gate {
    /// The gate's tasks that are not done (missing ones included: a gate on a task
    /// that is not in the runbook cannot be satisfied by accident).
    pub fn open(&self, rb: Option<&Runbook>) -> Vec<String> {
        let Some(rb) = rb else { return self.tasks.clone() };
        gate_status(rb, &self.tasks).into_iter().filter(|(_, s)| *s != GateState::Done).map(|(id, _)| id).collect()
    }
}

/// For each phase: whether a phase before it in the dependency order is incomplete.
pub fn locked_phases(rb: &Runbook) -> Vec<bool> {
    // One pass each over the phases and the order: a runbook may hold thousands of phases.
    let mut first: HashMap<&str, &Phase> = HashMap::new();
    for p in &rb.phases {
        first.entry(p.title.as_str()).or_insert(p);
    }
    // A title named in the order but holding no tasks stands for nothing left to do.
    let complete = |title: &str| {
        first.get(title).is_none_or(|p| {
            let (done, total) = p.progress();
            done == total
        })
    };
    // For each title's first place in the order: whether an incomplete phase comes before it.
    let mut blocked: HashMap<&str, bool> = HashMap::new();
    let mut incomplete_before = false;
    for title in &rb.order {
        blocked.entry(title.as_str()).or_insert(incomplete_before);
        incomplete_before = incomplete_before || !complete(title);
    }
    rb.phases.iter().map(|p| blocked.get(p.title.as_str()).copied().unwrap_or(false)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::runbook::parse;
    use proptest::prelude::*;

    /// Locked phases as computed before they were made linear.
    fn locked_phases_before(rb: &Runbook) -> Vec<bool> {
        let complete = |title: &str| {
            rb.phases.iter().find(|p| p.title == title).is_none_or(|p| {
                let (done, total) = p.progress();
                done == total
            })
        };
        rb.phases
            .iter()
            .map(|p| match rb.order.iter().position(|t| *t == p.title) {
                Some(pos) => rb.order[..pos].iter().any(|before| !complete(before)),
                None => false,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn locked_phases_are_the_same_as_before(
            phases in proptest::collection::vec((0usize..5, proptest::collection::vec(any::<bool>(), 1..4)), 1..7),
            chain in proptest::collection::vec(0usize..5, 0..6),
        ) {
            const TITLES: [&str; 5] = ["Setup", "Build", "Ship", "Verify", "Close"];
            let mut md = String::new();
            for (title, done) in &phases {
                md.push_str(&format!("## {}\n", TITLES[*title]));
                for d in done {
                    md.push_str(if *d { "- [x] t\n" } else { "- [ ] t\n" });
                }
            }
            let names: Vec<&str> = chain.iter().map(|&i| TITLES[i]).collect();
            md.push_str(&format!("## Dependencies\n{}\n", names.join(" → ")));
            let rb = parse(md.as_bytes()).unwrap();
            prop_assert_eq!(locked_phases(&rb), locked_phases_before(&rb));
        }
    }

    const RB: &[u8] = b"# T\n## A\n- [x] T1 a\n## B\n- [ ] T2 b\n## C\n- [ ] T3 c\n## Dependencies\n```\nA (T1-T1) \xe2\x86\x92 B (T2-T2)\nB \xe2\x86\x92 C (T3-T3)\n```\n";

    #[test]
    fn phases_lock_behind_incomplete_predecessors() {
        let rb = parse(RB).unwrap();
        assert_eq!(rb.order, vec!["A", "B", "C"]);
        assert_eq!(locked_phases(&rb), vec![false, false, true]);
    }

    #[test]
    fn events_parse_and_say_what_is_wrong() {
        assert_eq!(When::parse("stage:10", None), Ok(When::Stage(10)));
        assert_eq!(When::parse("soak:25%", None), Ok(When::SoakPassed(25)));
        assert_eq!(When::parse("rollback:started", None), Ok(When::RollbackStarted));
        assert_eq!(When::parse("slo:all-ok", Some(300_000)), Ok(When::AllSlosOk { for_ms: 300_000 }));
        assert!(When::parse("slo:all-ok", None).unwrap_err().contains("for"));
        assert!(When::parse("stage:150", None).unwrap_err().contains("0 to 100"));
        assert!(When::parse("lunch:now", None).unwrap_err().contains("unknown event"));
        assert_eq!(When::AllSlosOk { for_ms: 300_000 }.to_string(), "every SLO ok for 5m00s");
    }

    #[test]
    fn gates_list_open_and_missing_tasks() {
        let rb = parse(RB).unwrap();
        let g = Gate { stage: 10, tasks: vec!["T1".into(), "T2".into(), "T9".into()] };
        assert_eq!(g.open(Some(&rb)), vec!["T2".to_string(), "T9".to_string()]);
        assert_eq!(g.open(None).len(), 3);
    }
}

//! What the operator is looking at: selection, focus, filter and overlays. Not domain state.

use std::collections::BTreeSet;

use crate::domain::runbook::{Phase, Runbook, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Phases,
    Tasks,
    Slos,
    Triggers,
    /// The traffic panel: rollback procedure steps.
    Traffic,
}

/// Which field of a traffic dialog is being typed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Reason,
    Confirm,
}

/// Moving traffic: the typed confirmation, and the reason where one is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficDialog {
    /// A rollback (else an advance to `to`).
    pub rollback: bool,
    pub to: u8,
    /// An advance past failing gates needs an override reason; a rollback always asks why.
    pub needs_reason: bool,
    pub field: Field,
    pub reason: String,
    pub confirm: String,
    /// Why the last input was refused, shown inside the dialog.
    pub error: Option<String>,
    /// The rollback already ran: only its reason is asked.
    pub after: bool,
}

impl TrafficDialog {
    /// Asking the reason of a rollback that has already moved traffic.
    pub fn rollback_reason() -> TrafficDialog {
        TrafficDialog {
            rollback: true,
            to: 0,
            needs_reason: true,
            field: Field::Reason,
            reason: String::new(),
            confirm: String::new(),
            error: None,
            after: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Faults {
        selected: usize,
    },
    /// The find prompt, with what has been typed so far.
    Find {
        query: String,
    },
    /// Everything known about one SLO.
    SloDetail {
        slo: usize,
    },
    /// Why a trigger is where it is.
    TriggerDetail {
        trigger: usize,
    },
    /// Asking for the reason to raise or lower a manual trigger.
    Reason {
        trigger: usize,
        raise: bool,
        text: String,
    },
    /// Advance or rollback: preview, gates, reason, typed confirmation.
    Traffic(TrafficDialog),
    /// After a completed rollback procedure: why the go-live may start again.
    Resume {
        text: String,
    },
    /// After drift: why the router's split is to be recorded as the stage.
    Adopt {
        text: String,
    },
    /// A manual actuator step: type `done` once it is done, or `abandon` to give the change up.
    Manual {
        text: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewState {
    pub focus: Focus,
    /// Selected phase.
    pub phase: usize,
    /// Selected row among the phase's visible tasks (see [`visible_tasks`]).
    pub task: usize,
    /// Show only tasks that are not done.
    pub open_only: bool,
    /// Selected SLO row.
    pub slo: usize,
    /// Selected trigger row.
    pub trigger: usize,
    /// Tasks (by line) whose sub-tasks are folded away.
    pub collapsed: BTreeSet<usize>,
    /// Selected rollback procedure step.
    pub step: usize,
    pub overlay: Option<Overlay>,
    /// Why the open reason, resume or manual-step dialog refused the last input; shown inside it.
    pub dialog_error: Option<String>,
}

/// The tasks of a phase as listed: depth-first with their depth, done ones left
/// out when `open_only`, sub-tasks of collapsed tasks left out.
pub fn visible_tasks<'a>(phase: &'a Phase, open_only: bool, collapsed: &BTreeSet<usize>) -> Vec<(usize, &'a Task)> {
    phase.sections.iter().flat_map(|s| visible_in(&s.tasks, open_only, collapsed)).collect()
}

/// The rows [`visible_tasks`] lists for one section's tasks, in the same order.
pub fn visible_in<'a>(tasks: &'a [Task], open_only: bool, collapsed: &BTreeSet<usize>) -> Vec<(usize, &'a Task)> {
    fn walk<'a>(
        t: &'a Task,
        depth: usize,
        open_only: bool,
        collapsed: &BTreeSet<usize>,
        out: &mut Vec<(usize, &'a Task)>,
    ) {
        if !(open_only && t.done) {
            out.push((depth, t));
        }
        if !collapsed.contains(&t.line) {
            for c in &t.children {
                walk(c, depth + 1, open_only, collapsed, out);
            }
        }
    }
    let mut out = Vec::new();
    for t in tasks {
        walk(t, 0, open_only, collapsed, &mut out);
    }
    out
}

impl ViewState {
    /// Moves the selection by `delta` within the focused list, clamped to its ends.
    /// `rows` are the lengths of the SLO and trigger lists.
    pub fn move_by(&mut self, delta: isize, runbook: Option<&Runbook>, rows: (usize, usize)) {
        match self.focus {
            Focus::Slos => return self.slo = clamp(self.slo as isize + delta, rows.0),
            Focus::Triggers => return self.trigger = clamp(self.trigger as isize + delta, rows.1),
            Focus::Traffic => {
                let steps = crate::domain::traffic::StepKind::ALL.len();
                return self.step = clamp(self.step as isize + delta, steps);
            }
            _ => {}
        }
        let Some(rb) = runbook else { return };
        if rb.phases.is_empty() {
            return;
        }
        match self.focus {
            Focus::Phases => {
                let next = clamp(self.phase as isize + delta, rb.phases.len());
                if next != self.phase {
                    self.phase = next;
                    self.task = 0;
                }
            }
            Focus::Tasks => {
                let count =
                    visible_tasks(&rb.phases[self.phase.min(rb.phases.len() - 1)], self.open_only, &self.collapsed)
                        .len();
                self.task = clamp(self.task as isize + delta, count);
            }
            Focus::Slos | Focus::Triggers | Focus::Traffic => {}
        }
    }

    pub fn toggle_focus(&mut self) {
        self.focus = match self.focus {
            Focus::Phases => Focus::Tasks,
            Focus::Tasks => Focus::Slos,
            Focus::Slos => Focus::Triggers,
            Focus::Triggers => Focus::Traffic,
            Focus::Traffic => Focus::Phases,
        };
    }

    /// The task under the cursor, when the task list has the focus.
    pub fn selected_task<'a>(&self, runbook: Option<&'a Runbook>) -> Option<&'a Task> {
        let rb = runbook?;
        if self.focus != Focus::Tasks {
            return None;
        }
        visible_tasks(rb.phases.get(self.phase)?, self.open_only, &self.collapsed).get(self.task).map(|(_, t)| *t)
    }

    /// Selects the first task after the cursor (wrapping around) that `matches`.
    /// Returns false, leaving the selection, when none does.
    pub fn select_next(&mut self, runbook: Option<&Runbook>, matches: impl Fn(&Task) -> bool) -> bool {
        let Some(rb) = runbook else { return false };
        let rows: Vec<(usize, usize, &Task)> = rb
            .phases
            .iter()
            .enumerate()
            .flat_map(|(p, phase)| {
                visible_tasks(phase, self.open_only, &self.collapsed)
                    .into_iter()
                    .enumerate()
                    .map(move |(i, (_, t))| (p, i, t))
            })
            .collect();
        if rows.is_empty() {
            return false;
        }
        let here = match self.focus {
            Focus::Tasks => rows.iter().position(|(p, i, _)| *p == self.phase && *i == self.task),
            Focus::Phases | Focus::Slos | Focus::Triggers | Focus::Traffic => None,
        };
        // From the phase list, search from the top of the selected phase.
        let start = match here {
            Some(pos) => pos + 1,
            None => rows.iter().position(|(p, _, _)| *p >= self.phase).unwrap_or(0),
        };
        let found = (0..rows.len()).map(|k| (start + k) % rows.len()).find(|&k| matches(rows[k].2));
        match found {
            Some(k) => {
                self.phase = rows[k].0;
                self.task = rows[k].1;
                self.focus = Focus::Tasks;
                true
            }
            None => false,
        }
    }

    /// Keeps the selection inside the lists after the runbook or the filter changed.
    pub fn clamp_to(&mut self, runbook: Option<&Runbook>) {
        let Some(rb) = runbook else { return };
        if rb.phases.is_empty() {
            self.phase = 0;
            self.task = 0;
            return;
        }
        self.phase = self.phase.min(rb.phases.len() - 1);
        let count = visible_tasks(&rb.phases[self.phase], self.open_only, &self.collapsed).len();
        self.task = self.task.min(count.saturating_sub(1));
    }

    /// Right/`l`: from a phase into its tasks; on a task with folded sub-tasks, unfold them.
    pub fn expand(&mut self, runbook: Option<&Runbook>) {
        match self.focus {
            Focus::Phases => self.focus = Focus::Tasks,
            Focus::Tasks => {
                if let Some(t) = self.selected_task(runbook) {
                    self.collapsed.remove(&t.line);
                }
            }
            Focus::Slos | Focus::Triggers | Focus::Traffic => {}
        }
    }

    /// Left/`h`: fold the selected task's sub-tasks, or, when there is nothing to fold,
    /// go back to the phase list.
    pub fn collapse(&mut self, runbook: Option<&Runbook>) {
        if self.focus != Focus::Tasks {
            return;
        }
        match self.selected_task(runbook) {
            Some(t) if !t.children.is_empty() && !self.collapsed.contains(&t.line) => {
                self.collapsed.insert(t.line);
            }
            _ => self.focus = Focus::Phases,
        }
    }
}

/// Case-insensitive match of a query against a task's ID or text.
pub fn task_matches(task: &Task, query: &str) -> bool {
    let q = query.trim().to_lowercase();
    !q.is_empty()
        && (task.id.as_deref().is_some_and(|id| id.to_lowercase() == q || id.to_lowercase().starts_with(&q))
            || task.text.to_lowercase().contains(&q))
}

fn clamp(i: isize, len: usize) -> usize {
    if len == 0 { 0 } else { i.clamp(0, len as isize - 1) as usize }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::runbook::parse;

    const RB: &[u8] =
        b"## A\n- [x] T1 one\n- [ ] T2 two\n  - [ ] T2a two-a\n## B\n### S\n- [ ] T3 three\n- [x] T4 four\n";

    #[test]
    fn visible_tasks_nest_and_filter() {
        let rb = parse(RB).unwrap();
        let none = BTreeSet::new();
        let all: Vec<_> =
            visible_tasks(&rb.phases[0], false, &none).iter().map(|(d, t)| (*d, t.id.clone().unwrap())).collect();
        assert_eq!(all, vec![(0, "T1".into()), (0, "T2".into()), (1, "T2a".into())]);
        assert_eq!(visible_tasks(&rb.phases[0], true, &none).len(), 2);
        let folded = BTreeSet::from([rb.find("T2").unwrap().line]);
        assert_eq!(visible_tasks(&rb.phases[0], false, &folded).len(), 2, "T2a folded away");
    }

    #[test]
    fn left_folds_sub_tasks_then_goes_back_to_phases_and_right_unfolds() {
        let rb = parse(RB).unwrap();
        let mut v = ViewState::default();
        v.expand(Some(&rb));
        assert_eq!(v.focus, Focus::Tasks);
        v.move_by(1, Some(&rb), (0, 0));
        assert_eq!(v.selected_task(Some(&rb)).unwrap().id.as_deref(), Some("T2"));
        v.collapse(Some(&rb));
        assert!(v.collapsed.contains(&rb.find("T2").unwrap().line));
        v.move_by(5, Some(&rb), (0, 0));
        assert_eq!(v.selected_task(Some(&rb)).unwrap().id.as_deref(), Some("T2"), "T2a is hidden");
        v.expand(Some(&rb));
        v.move_by(1, Some(&rb), (0, 0));
        assert_eq!(v.selected_task(Some(&rb)).unwrap().id.as_deref(), Some("T2a"));
        v.collapse(Some(&rb));
        assert_eq!(v.focus, Focus::Phases, "nothing to fold under T2a: back to the phases");
    }

    #[test]
    fn next_open_and_find_wrap_across_phases() {
        let rb = parse(RB).unwrap();
        let mut v = ViewState::default();
        assert!(v.select_next(Some(&rb), |t| !t.done));
        assert_eq!((v.phase, v.task, v.focus), (0, 1, Focus::Tasks), "T2 is the first open task");
        assert!(v.select_next(Some(&rb), |t| !t.done));
        assert_eq!((v.phase, v.task), (0, 2));
        assert!(v.select_next(Some(&rb), |t| !t.done));
        assert_eq!((v.phase, v.task), (1, 0), "T3 in the next phase");
        assert!(v.select_next(Some(&rb), |t| !t.done));
        assert_eq!((v.phase, v.task), (0, 1), "wraps around");
        assert!(v.select_next(Some(&rb), |t| task_matches(t, "four")));
        assert_eq!(v.selected_task(Some(&rb)).unwrap().id.as_deref(), Some("T4"));
        assert!(!v.select_next(Some(&rb), |t| task_matches(t, "nothing like it")));
        assert_eq!(v.selected_task(Some(&rb)).unwrap().id.as_deref(), Some("T4"), "selection kept");
    }

    #[test]
    fn ids_match_exactly_or_by_prefix_and_text_anywhere() {
        let rb = parse(RB).unwrap();
        let t2 = rb.find("T2").unwrap();
        assert!(task_matches(t2, "t2"));
        assert!(task_matches(t2, "TWO"));
        assert!(!task_matches(t2, "three"));
        assert!(!task_matches(t2, "  "));
    }

    #[test]
    fn clamping_keeps_the_cursor_on_a_row() {
        let rb = parse(RB).unwrap();
        let mut v = ViewState { phase: 9, task: 9, ..Default::default() };
        v.clamp_to(Some(&rb));
        assert_eq!((v.phase, v.task), (1, 1));
    }
}

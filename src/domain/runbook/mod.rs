//! The go-live runbook: a spec-kit style `tasks.md` read into phases,
//! sections and tasks, keeping byte offsets so ticks can be written back.
//!
//! Everything here is pure: functions over bytes, no file system. Reading and
//! writing the file lives in [`crate::store::runbook_file`].
//!
//! What the parser reads (see [`parse`]):
//! - `# Title` is the runbook's title; every `##` heading that holds tasks is a
//!   phase (a `#` heading holding tasks before the first `##` is one too, and
//!   tasks before any heading go to a phase called `Tasks`); `###` and deeper
//!   headings are sections.
//! - Task lines are list items (`-`, `*`, `+`, `1.`, `1)`) with `[ ]`, `[x]`
//!   or `[X]`, then an optional ID (`T012a`, `**T002**`, `[T071]`, `T001:`),
//!   tags in any order (`[US1] [P]`; only `[P]` marks a task parallel, `[P1]`
//!   is a tag) and the text.
//! - A task indented deeper than the task above it is its sub-task (spaces,
//!   tabs as 4 columns; any deeper indent nests, at most [`MAX_DEPTH`] levels).
//! - Continuation lines, indented non-task lines under a task, belong to the
//!   nearest task above with a smaller indent: they are appended to its text
//!   with one space, as Markdown renders a soft line break.
//! - Nothing inside fenced code blocks (```` ``` ````, `~~~`) or HTML comments
//!   is a task or a heading.
//! - A `## Dependencies` section with lines like `A (T1-T9) → B (T10-T20)`
//!   gives [`Runbook::order`] (rules in `deps.rs`).

mod deps;
mod parse;
mod write;

pub use parse::{MAX_DEPTH, RunbookError, parse};
pub use write::{WriteError, find, locate, reapply, reapply_task, set_done};

use std::collections::HashMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbook {
    pub title: Option<String>,
    pub phases: Vec<Phase>,
    /// Phase titles in dependency order, from a `## Dependencies` section.
    pub order: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub title: String,
    /// 1-based line of the `##` heading.
    pub line: usize,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// `None` for tasks that stand directly under the phase heading.
    pub title: Option<String>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: Option<String>,
    /// The text after the ID and tags, continuation lines appended with a space.
    pub text: String,
    pub done: bool,
    pub parallel: bool,
    pub tags: Vec<String>,
    /// 1-based line of the checkbox.
    pub line: usize,
    /// Byte offset of the character inside `[ ]` in the file as read.
    #[serde(skip)]
    pub checkbox: usize,
    pub children: Vec<Task>,
}

impl Phase {
    /// Every task of the phase, sub-tasks included, in file order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.sections.iter().flat_map(|s| s.tasks.iter()).flat_map(Task::with_children)
    }

    /// (done, total) over every task of the phase, sub-tasks included.
    pub fn progress(&self) -> (usize, usize) {
        self.tasks().fold((0, 0), |(d, t), task| (d + task.done as usize, t + 1))
    }
}

impl Task {
    /// This task followed by all of its descendants, depth first.
    pub fn with_children(&self) -> Box<dyn Iterator<Item = &Task> + '_> {
        Box::new(std::iter::once(self).chain(self.children.iter().flat_map(Task::with_children)))
    }
}

impl Runbook {
    pub fn progress(&self) -> (usize, usize) {
        self.phases.iter().map(Phase::progress).fold((0, 0), |(d, t), (pd, pt)| (d + pd, t + pt))
    }

    /// Every task of the runbook, sub-tasks included, in file order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.phases.iter().flat_map(Phase::tasks)
    }

    /// The first task with this ID, in file order.
    pub fn find(&self, id: &str) -> Option<&Task> {
        find(self, id)
    }

    /// IDs that stand on more than one task, each with the lines it is on, in file order.
    /// Ticking such an ID is refused ([`WriteError::Ambiguous`]).
    pub fn duplicate_ids(&self) -> Vec<(String, Vec<usize>)> {
        // An index by ID keeps this linear: a runbook may hold 100 000 tasks.
        let mut at: HashMap<&str, usize> = HashMap::new();
        let mut seen: Vec<(&str, Vec<usize>)> = Vec::new();
        for task in self.tasks() {
            let Some(id) = task.id.as_deref() else { continue };
            match at.get(id) {
                Some(&i) => seen[i].1.push(task.line),
                None => {
                    at.insert(id, seen.len());
                    seen.push((id, vec![task.line]));
                }
            }
        }
        seen.into_iter().filter(|(_, lines)| lines.len() > 1).map(|(id, lines)| (id.to_string(), lines)).collect()
    }
}

/// Where a gating task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    Done,
    Open,
    /// No task with this ID in the runbook.
    Missing,
}

/// The state of each gating task ID, in the order given.
pub fn gate_status(rb: &Runbook, ids: &[String]) -> Vec<(String, GateState)> {
    ids.iter()
        .map(|id| {
            let state = match find(rb, id) {
                Some(t) if t.done => GateState::Done,
                Some(_) => GateState::Open,
                None => GateState::Missing,
            };
            (id.clone(), state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Duplicate IDs as found before the index by ID made it linear.
    fn duplicate_ids_before(rb: &Runbook) -> Vec<(String, Vec<usize>)> {
        let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
        for task in rb.tasks() {
            let Some(id) = &task.id else { continue };
            match seen.iter_mut().find(|(s, _)| s == id) {
                Some((_, lines)) => lines.push(task.line),
                None => seen.push((id.clone(), vec![task.line])),
            }
        }
        seen.retain(|(_, lines)| lines.len() > 1);
        seen
    }

    proptest! {
        #[test]
        fn duplicate_ids_are_the_same_as_before(tasks in proptest::collection::vec((0usize..3, proptest::option::of(0u8..6)), 0..40)) {
            let mut md = String::from("## P\n");
            for (depth, id) in &tasks {
                let id = id.map(|i| format!("T{i} ")).unwrap_or_default();
                md.push_str(&format!("{}- [ ] {id}task\n", "  ".repeat(*depth)));
            }
            let rb = parse(md.as_bytes()).unwrap();
            prop_assert_eq!(rb.duplicate_ids(), duplicate_ids_before(&rb));
        }
    }

    #[test]
    fn gates_are_done_open_or_missing() {
        let rb = parse(b"## P\n- [x] T1 a\n- [ ] T2 b\n  - [X] T2a c\n").unwrap();
        let ids: Vec<String> = ["T2a", "T1", "T2", "T9"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            gate_status(&rb, &ids),
            vec![
                ("T2a".to_string(), GateState::Done),
                ("T1".to_string(), GateState::Done),
                ("T2".to_string(), GateState::Open),
                ("T9".to_string(), GateState::Missing),
            ]
        );
        assert!(gate_status(&rb, &[]).is_empty());
    }

    #[test]
    fn duplicate_ids_are_reported_with_lines() {
        let rb = parse(b"## P\n- [ ] T1 a\n- [ ] T2 b\n- [ ] T1 c\n").unwrap();
        assert_eq!(rb.duplicate_ids(), vec![("T1".to_string(), vec![2, 4])]);
    }

    #[test]
    fn runbook_tasks_and_progress_cover_sub_tasks() {
        let rb = parse(b"## P\n- [x] T1 a\n  - [ ] T1a b\n## Q\n- [x] T2 c\n").unwrap();
        assert_eq!(rb.tasks().count(), 3);
        assert_eq!(rb.progress(), (2, 3));
        assert_eq!(rb.phases[0].progress(), (1, 2));
        assert_eq!(rb.find("T1a").map(|t| t.line), Some(3));
    }
}

//! The go-live runbook: a spec-kit style `tasks.md` read into phases,
//! sections and tasks, keeping byte offsets so ticks can be written back.

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
}

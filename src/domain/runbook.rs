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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, byte {offset}: {message}")]
pub struct RunbookError {
    pub line: usize,
    pub offset: usize,
    pub message: String,
}

/// Reads a tasks.md. Minimal reader: phases, sections, tasks and sub-tasks.
pub fn parse(bytes: &[u8]) -> Result<Runbook, RunbookError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        RunbookError { line, offset, message: "not valid UTF-8".into() }
    })?;
    let mut rb = Runbook { title: None, phases: Vec::new(), order: Vec::new() };
    let mut offset = 0;
    let mut fenced = false;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += raw.len();
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(t) = line.strip_prefix("# ") {
            rb.title.get_or_insert_with(|| t.trim().to_string());
        } else if let Some(t) = line.strip_prefix("## ") {
            rb.phases.push(Phase { title: t.trim().to_string(), line: i + 1, sections: Vec::new() });
        } else if let Some(t) = line.strip_prefix("### ") {
            if let Some(p) = rb.phases.last_mut() {
                p.sections.push(Section { title: Some(t.trim().to_string()), tasks: Vec::new() });
            }
        } else {
            let indent = line.len() - line.trim_start().len();
            let rest = line.trim_start();
            let Some(after) = rest.strip_prefix("- [") else { continue };
            let mut chars = after.chars();
            let (Some(mark), Some(']')) = (chars.next(), chars.next()) else { continue };
            let body = chars.as_str().trim();
            let (id, text) = match body.split_once(' ') {
                Some((w, r)) if w.starts_with('T') && w[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    (Some(w.to_string()), r.to_string())
                }
                _ => (None, body.to_string()),
            };
            let parallel = text.starts_with("[P] ");
            let text = text.strip_prefix("[P] ").unwrap_or(&text).to_string();
            let task = Task {
                id,
                text,
                done: mark == 'x' || mark == 'X',
                parallel,
                tags: Vec::new(),
                line: i + 1,
                checkbox: start + indent + 3,
                children: Vec::new(),
            };
            let Some(p) = rb.phases.last_mut() else { continue };
            if p.sections.is_empty() {
                p.sections.push(Section { title: None, tasks: Vec::new() });
            }
            let s = p.sections.last_mut().expect("a section was just ensured");
            match s.tasks.last_mut() {
                Some(parent) if indent > 0 => parent.children.push(task),
                _ => s.tasks.push(task),
            }
        }
    }
    rb.phases.retain(|p| p.tasks().next().is_some());
    Ok(rb)
}

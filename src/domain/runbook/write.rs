//! Write-back: change one checkbox character, every other byte as it was.

use super::{Runbook, RunbookError, Task, parse};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Parse(#[from] RunbookError),
    /// The bytes no longer hold this task at the offset it was read from.
    #[error("line {line} no longer holds task {task}: the runbook changed since it was read; re-read it")]
    Stale { line: usize, task: String },
    #[error("no task {task} in the runbook")]
    NotFound { task: String },
    #[error("task {task} is on lines {}; give each task its own ID", join(lines))]
    Ambiguous { task: String, lines: Vec<usize> },
}

fn join(lines: &[usize]) -> String {
    lines.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

/// How a task is named in messages: its ID, else its text in quotes.
fn describe(task: &Task) -> String {
    match &task.id {
        Some(id) => id.clone(),
        None => format!("\"{}\"", task.text),
    }
}

/// Set `task`'s checkbox in `bytes` (the file `task` was parsed from) and return the new
/// bytes: `' '` becomes `'x'` when done, `'x'`/`'X'` become `' '` when not; a done box
/// stays as it is (so `X` stays `X`). Nothing else changes.
///
/// Checks first that `bytes` still holds the same task (ID, text and line) at
/// `task.checkbox`; if not, the file changed since it was parsed and the result is
/// [`WriteError::Stale`]: re-parse, or use [`reapply`] / [`reapply_task`].
pub fn set_done(bytes: &[u8], task: &Task, done: bool) -> Result<Vec<u8>, WriteError> {
    let rb = parse(bytes)?;
    let same = rb
        .tasks()
        .find(|t| t.checkbox == task.checkbox)
        .is_some_and(|t| t.id == task.id && t.text == task.text && t.line == task.line);
    if !same {
        return Err(WriteError::Stale { line: task.line, task: describe(task) });
    }
    Ok(write_mark(bytes, task.checkbox, done))
}

/// `bytes` with the checkbox mark at `at` set; `at` must be a checkbox found by the parser.
fn write_mark(bytes: &[u8], at: usize, done: bool) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(mark) = out.get_mut(at) {
        *mark = match (done, *mark) {
            (true, b' ') => b'x',
            (true, kept) => kept,
            (false, _) => b' ',
        };
    }
    out
}

/// The first task with this ID, in file order (sub-tasks included).
pub fn find<'a>(rb: &'a Runbook, id: &str) -> Option<&'a Task> {
    rb.tasks().find(|t| t.id.as_deref() == Some(id))
}

/// The one task with this ID: [`WriteError::NotFound`] if none, [`WriteError::Ambiguous`]
/// if several (ticking one of them by ID would be a guess).
pub fn locate<'a>(rb: &'a Runbook, id: &str) -> Result<&'a Task, WriteError> {
    unique(rb.tasks().filter(|t| t.id.as_deref() == Some(id)), || id.to_string())
}

fn unique<'a>(mut found: impl Iterator<Item = &'a Task>, name: impl Fn() -> String) -> Result<&'a Task, WriteError> {
    let first = found.next().ok_or_else(|| WriteError::NotFound { task: name() })?;
    let others: Vec<usize> = found.map(|t| t.line).collect();
    if others.is_empty() {
        Ok(first)
    } else {
        Err(WriteError::Ambiguous { task: name(), lines: std::iter::once(first.line).chain(others).collect() })
    }
}

/// Parse `bytes`, find the task `id` (it must be unique) and set it: how a pending tick is
/// applied again on bytes that changed since the tick was asked for.
pub fn reapply(bytes: &[u8], id: &str, done: bool) -> Result<Vec<u8>, WriteError> {
    let rb = parse(bytes)?;
    let task = locate(&rb, id)?;
    Ok(write_mark(bytes, task.checkbox, done))
}

/// Like [`reapply`] for a task read from older bytes: found by its ID, or, for a task
/// without an ID, by its text among the tasks without an ID (it must be unique).
pub fn reapply_task(bytes: &[u8], task: &Task, done: bool) -> Result<Vec<u8>, WriteError> {
    let rb = parse(bytes)?;
    let found = match &task.id {
        Some(id) => locate(&rb, id)?,
        None => unique(rb.tasks().filter(|t| t.id.is_none() && t.text == task.text), || describe(task))?,
    };
    Ok(write_mark(bytes, found.checkbox, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD: &[u8] = b"## P\n- [ ] T1 a\n- [X] T2 b\n- [x] no id\n";

    #[test]
    fn ticks_and_unticks_one_byte() {
        let rb = parse(MD).unwrap();
        let t1 = find(&rb, "T1").unwrap();
        let ticked = set_done(MD, t1, true).unwrap();
        assert_eq!(ticked, b"## P\n- [x] T1 a\n- [X] T2 b\n- [x] no id\n");
        assert_eq!(set_done(&ticked, t1, false).unwrap(), MD);
        let t2 = find(&rb, "T2").unwrap();
        assert_eq!(set_done(MD, t2, true).unwrap(), MD, "X stays X");
        assert_eq!(set_done(MD, t2, false).unwrap(), b"## P\n- [ ] T1 a\n- [ ] T2 b\n- [x] no id\n");
        assert_eq!(set_done(MD, t1, false).unwrap(), MD);
    }

    #[test]
    fn refuses_bytes_that_moved() {
        let rb = parse(MD).unwrap();
        let t1 = find(&rb, "T1").unwrap();
        let shifted = [b"\n".as_slice(), MD].concat();
        assert_eq!(set_done(&shifted, t1, true), Err(WriteError::Stale { line: 2, task: "T1".into() }));
        let renamed = b"## P\n- [ ] T9 a\n".to_vec();
        assert!(matches!(set_done(&renamed, t1, true), Err(WriteError::Stale { .. })));
        let reworded = b"## P\n- [ ] T1 b\n".to_vec();
        assert!(matches!(set_done(&reworded, t1, true), Err(WriteError::Stale { .. })));
        assert!(matches!(set_done(b"", t1, true), Err(WriteError::Stale { .. })));
        assert!(matches!(set_done(b"\xff", t1, true), Err(WriteError::Parse(_))));
    }

    #[test]
    fn reapply_finds_by_id_after_an_edit() {
        let edited = b"# New title\n\n## P\n- [ ] T1 a\n- [X] T2 b\n- [x] no id\n";
        let out = reapply(edited, "T1", true).unwrap();
        assert_eq!(out, b"# New title\n\n## P\n- [x] T1 a\n- [X] T2 b\n- [x] no id\n");
        assert_eq!(reapply(edited, "T7", true), Err(WriteError::NotFound { task: "T7".into() }));
        let twice = b"## P\n- [ ] T1 a\n- [ ] T1 b\n";
        let err = reapply(twice, "T1", true).unwrap_err();
        assert_eq!(err, WriteError::Ambiguous { task: "T1".into(), lines: vec![2, 3] });
        assert_eq!(err.to_string(), "task T1 is on lines 2, 3; give each task its own ID");
    }

    #[test]
    fn reapply_task_finds_tasks_without_id_by_text() {
        let rb = parse(MD).unwrap();
        let no_id = rb.tasks().find(|t| t.id.is_none()).unwrap();
        let edited = b"intro\n## P\n- [ ] T1 a\n- [X] T2 b\n- [x] no id\n";
        assert_eq!(reapply_task(edited, no_id, false).unwrap(), b"intro\n## P\n- [ ] T1 a\n- [X] T2 b\n- [ ] no id\n");
        let gone = b"## P\n- [ ] T1 a\n";
        assert_eq!(reapply_task(gone, no_id, false), Err(WriteError::NotFound { task: "\"no id\"".into() }));
        let t1 = find(&rb, "T1").unwrap();
        assert_eq!(reapply_task(edited, t1, true).unwrap(), b"intro\n## P\n- [x] T1 a\n- [X] T2 b\n- [x] no id\n");
    }
}

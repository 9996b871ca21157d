//! Bytes → [`Runbook`]. One pass over the lines; nothing here can panic on any input.

use super::{Phase, Runbook, Section, Task, deps};

/// Sub-tasks nest at most this deep; a task indented deeper than that becomes a
/// sibling of the deepest allowed level (keeps hostile input from nesting without bound).
pub const MAX_DEPTH: usize = 16;

/// The title of the phase that holds tasks standing before any heading.
const IMPLICIT_PHASE: &str = "Tasks";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunbookError {
    /// The bytes are not UTF-8. `offset` is the first bad byte (0-based, in the
    /// file as given), `line` its 1-based line.
    #[error("invalid UTF-8 at byte {offset} (line {line}); save the runbook as UTF-8")]
    InvalidUtf8 { offset: usize, line: usize },
}

impl RunbookError {
    /// 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            RunbookError::InvalidUtf8 { line, .. } => *line,
        }
    }

    /// 0-based byte offset the error is at.
    pub fn offset(&self) -> usize {
        match self {
            RunbookError::InvalidUtf8 { offset, .. } => *offset,
        }
    }
}

/// Parse a `tasks.md`. Accepts a UTF-8 BOM and CRLF line ends; any valid UTF-8
/// (mojibake included) is read as it is. Fails only on invalid UTF-8.
pub fn parse(bytes: &[u8]) -> Result<Runbook, RunbookError> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let text = std::str::from_utf8(&bytes[bom..]).map_err(|e| {
        let offset = bom + e.valid_up_to();
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        RunbookError::InvalidUtf8 { offset, line }
    })?;

    let mut b = Builder::default();
    let mut start = bom;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        b.line(i + 1, start, line);
        start += raw.len() + 1;
    }
    Ok(b.finish())
}

#[derive(Default)]
struct Builder<'a> {
    title: Option<String>,
    phases: Vec<RawPhase>,
    tasks: Vec<RawTask>,
    /// Open tasks, outermost first, indents strictly increasing.
    stack: Vec<usize>,
    fence: Option<(u8, usize)>,
    in_comment: bool,
    in_deps: bool,
    deps: Vec<&'a str>,
}

struct RawPhase {
    title: String,
    line: usize,
    sections: Vec<RawSection>,
}

struct RawSection {
    title: Option<String>,
    /// Indices into `Builder::tasks` of the top-level tasks.
    tasks: Vec<usize>,
}

struct RawTask {
    task: Option<Task>,
    indent: usize,
    children: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn line(&mut self, no: usize, start: usize, line: &'a str) {
        if let Some(fence) = self.fence {
            if closes_fence(line, fence) {
                self.fence = None;
            } else if self.in_deps {
                self.deps.push(line);
            }
            return;
        }
        if self.in_comment {
            self.in_comment = !line.contains("-->");
            return;
        }
        let (indent, body_at) = indentation(line);
        let body = &line[body_at..];
        if body.trim().is_empty() {
            return;
        }
        if let Some(fence) = opens_fence(body) {
            self.fence = Some(fence);
            if indent == 0 {
                self.stack.clear();
            }
            return;
        }
        if let Some(rest) = body.strip_prefix("<!--") {
            self.in_comment = !rest.contains("-->");
            return;
        }
        if let Some((level, title)) = heading(line) {
            self.heading(no, level, title);
            return;
        }
        if self.in_deps {
            self.deps.push(body);
        }
        if let Some(tl) = task_line(line, body_at) {
            self.task(no, start + tl.checkbox, tl.mark, indent, tl.rest);
        } else if indent == 0 {
            self.stack.clear();
        } else if let Some(&owner) = self.stack.iter().rev().find(|&&i| self.tasks[i].indent < indent)
            && let Some(task) = self.tasks[owner].task.as_mut()
        {
            if !task.text.is_empty() {
                task.text.push(' ');
            }
            task.text.push_str(body.trim());
        }
    }

    fn heading(&mut self, no: usize, level: usize, title: &str) {
        self.stack.clear();
        if level <= 2 {
            if level == 1 && self.title.is_none() {
                self.title = Some(title.to_string());
            }
            self.in_deps = level == 2 && title.to_lowercase().starts_with("dependenc");
            self.phases.push(RawPhase { title: title.to_string(), line: no, sections: Vec::new() });
        } else {
            self.current_phase().sections.push(RawSection { title: Some(title.to_string()), tasks: Vec::new() });
        }
    }

    fn current_phase(&mut self) -> &mut RawPhase {
        if self.phases.is_empty() {
            self.phases.push(RawPhase { title: IMPLICIT_PHASE.to_string(), line: 1, sections: Vec::new() });
        }
        let last = self.phases.len() - 1;
        &mut self.phases[last]
    }

    fn task(&mut self, no: usize, checkbox: usize, mark: u8, indent: usize, rest: &str) {
        let head = task_head(rest);
        let task = Task {
            id: head.id,
            text: head.text.to_string(),
            done: mark != b' ',
            parallel: head.parallel,
            tags: head.tags,
            line: no,
            checkbox,
            children: Vec::new(),
        };
        while self.stack.last().is_some_and(|&top| self.tasks[top].indent >= indent) {
            self.stack.pop();
        }
        self.stack.truncate(MAX_DEPTH - 1);
        let idx = self.tasks.len();
        self.tasks.push(RawTask { task: Some(task), indent, children: Vec::new() });
        match self.stack.last() {
            Some(&parent) => self.tasks[parent].children.push(idx),
            None => {
                let phase = self.current_phase();
                if phase.sections.is_empty() {
                    phase.sections.push(RawSection { title: None, tasks: Vec::new() });
                }
                if let Some(section) = phase.sections.last_mut() {
                    section.tasks.push(idx);
                }
            }
        }
        self.stack.push(idx);
    }

    fn finish(mut self) -> Runbook {
        // Children always come after their parent: build from the back, no recursion.
        let mut built: Vec<Option<Task>> = vec![None; self.tasks.len()];
        for i in (0..self.tasks.len()).rev() {
            let raw = &mut self.tasks[i];
            if let Some(mut task) = raw.task.take() {
                task.children = raw.children.iter().filter_map(|&c| built[c].take()).collect();
                built[i] = Some(task);
            }
        }
        let phases: Vec<Phase> = self
            .phases
            .into_iter()
            .filter_map(|p| {
                let sections: Vec<Section> = p
                    .sections
                    .into_iter()
                    .filter(|s| !s.tasks.is_empty())
                    .map(|s| Section {
                        title: s.title,
                        tasks: s.tasks.iter().filter_map(|&i| built[i].take()).collect(),
                    })
                    .collect();
                (!sections.is_empty()).then_some(Phase { title: p.title, line: p.line, sections })
            })
            .collect();
        let order = deps::order(&self.deps, &phases);
        Runbook { title: self.title, phases, order }
    }
}

/// Indent width (a tab moves to the next multiple of 4) and the byte where the content starts.
fn indentation(line: &str) -> (usize, usize) {
    let mut width = 0;
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => width += 1,
            b'\t' => width = (width / 4 + 1) * 4,
            _ => return (width, i),
        }
    }
    (width, line.len())
}

/// An ATX heading: up to 3 spaces, 1–6 `#`, then a space, a tab or the end of the line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < 3 && b.get(i) == Some(&b' ') {
        i += 1;
    }
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let at = i + hashes;
    match b.get(at) {
        None => return Some((hashes, "")),
        Some(b' ' | b'\t') => {}
        _ => return None,
    }
    let title = line[at..].trim();
    // An optional closing run of `#`, if a space stands before it.
    let open = title.trim_end_matches('#');
    let title = if open.is_empty() {
        ""
    } else if open.len() < title.len() && open.ends_with([' ', '\t']) {
        open.trim_end()
    } else {
        title
    };
    Some((hashes, title))
}

/// A fence opener: 3+ backticks (no backtick after them) or 3+ tildes.
fn opens_fence(body: &str) -> Option<(u8, usize)> {
    let c = *body.as_bytes().first()?;
    if c != b'`' && c != b'~' {
        return None;
    }
    let n = body.bytes().take_while(|&x| x == c).count();
    if n < 3 || (c == b'`' && body[n..].contains('`')) {
        return None;
    }
    Some((c, n))
}

/// A closing fence: only the fence character, at least as many as opened.
fn closes_fence(line: &str, (c, n): (u8, usize)) -> bool {
    let body = line.trim();
    let m = body.bytes().take_while(|&x| x == c).count();
    m >= n && m == body.len()
}

struct TaskLine<'a> {
    /// Byte offset of the mark inside `[ ]`, within the line.
    checkbox: usize,
    mark: u8,
    /// Everything after `]`.
    rest: &'a str,
}

/// A list item (`-`, `*`, `+`, `1.`, `1)`) whose content starts with `[ ]`, `[x]` or `[X]`
/// followed by whitespace or the end of the line.
fn task_line(line: &str, body_at: usize) -> Option<TaskLine<'_>> {
    let b = line.as_bytes();
    let mut i = body_at;
    match b.get(i)? {
        b'-' | b'*' | b'+' => i += 1,
        b'0'..=b'9' => {
            let digits = b[i..].iter().take(10).take_while(|c| c.is_ascii_digit()).count();
            i += digits;
            if digits > 9 || !matches!(b.get(i), Some(b'.' | b')')) {
                return None;
            }
            i += 1;
        }
        _ => return None,
    }
    let gap = b[i..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    if gap == 0 {
        return None;
    }
    i += gap;
    let (open, mark, close) = (*b.get(i)?, *b.get(i + 1)?, *b.get(i + 2)?);
    if open != b'[' || !matches!(mark, b' ' | b'x' | b'X') || close != b']' {
        return None;
    }
    if !matches!(b.get(i + 3), None | Some(b' ' | b'\t')) {
        return None;
    }
    Some(TaskLine { checkbox: i + 1, mark, rest: &line[i + 3..] })
}

/// What stands before a task's text.
#[derive(Debug, PartialEq)]
pub(super) struct TaskHead<'a> {
    pub id: Option<String>,
    pub parallel: bool,
    pub tags: Vec<String>,
    pub text: &'a str,
}

/// Split `T1234 [P] [US1] text` into ID, `[P]`, tags and text. The ID and tags
/// may come in any order; the first ID-like token is the ID. A separator (`-`,
/// `–`, `—`, `:`) right after them is dropped.
pub(super) fn task_head(rest: &str) -> TaskHead<'_> {
    let mut s = rest.trim_start();
    let mut head = TaskHead { id: None, parallel: false, tags: Vec::new(), text: "" };
    let mut consumed = false;
    loop {
        if head.id.is_none()
            && let Some((id, after)) = take_id(s)
        {
            head.id = Some(id.to_string());
            s = after.trim_start();
            consumed = true;
            continue;
        }
        if let Some((tag, after)) = take_tag(s) {
            if tag == "P" {
                head.parallel = true;
            } else {
                head.tags.push(tag.to_string());
            }
            s = after.trim_start();
            consumed = true;
            continue;
        }
        break;
    }
    if consumed {
        for sep in ["-", "–", "—", ":"] {
            match s.strip_prefix(sep) {
                Some(after) if at_boundary(after) => {
                    s = after.trim_start();
                    break;
                }
                _ => {}
            }
        }
    }
    head.text = s.trim();
    head
}

/// Length of a task ID (`T`, digits, optional lowercase suffix) at the start of `s`, or 0.
fn id_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first() != Some(&b'T') {
        return 0;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 0;
    }
    1 + digits + b[1 + digits..].iter().take_while(|c| c.is_ascii_lowercase()).count()
}

fn at_boundary(s: &str) -> bool {
    s.is_empty() || s.starts_with(char::is_whitespace)
}

/// `T012a`, `T001:`, `**T002**`, `**T002:**`, `__T002__`, `` `T002` ``, `[T071]`, each
/// optionally followed by `:`.
fn take_id(s: &str) -> Option<(&str, &str)> {
    for (open, close) in [("**", "**"), ("__", "__"), ("`", "`"), ("[", "]")] {
        let Some(inner) = s.strip_prefix(open) else { continue };
        let n = id_len(inner);
        if n == 0 {
            continue;
        }
        let after = &inner[n..];
        let after = after.strip_prefix(':').unwrap_or(after);
        if let Some(after) = after.strip_prefix(close) {
            let after = after.strip_prefix(':').unwrap_or(after);
            if at_boundary(after) {
                return Some((&inner[..n], after));
            }
        }
    }
    let n = id_len(s);
    if n == 0 {
        return None;
    }
    let after = &s[n..];
    if let Some(after) = after.strip_prefix(':') {
        return Some((&s[..n], after));
    }
    at_boundary(after).then(|| (&s[..n], after))
}

/// `[US1]`, `[P]`, `[P1]`, `[Story]`: a bracketed word (no whitespace, at most 32 bytes)
/// followed by whitespace or the end (so `[text](url)` links are not tags).
fn take_tag(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    let tag = &inner[..close];
    if tag.is_empty() || tag.len() > 32 || tag.contains(|c: char| c.is_whitespace() || c == '[') {
        return None;
    }
    let after = &inner[close + 1..];
    at_boundary(after).then_some((tag, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str, id: Option<&str>, parallel: bool, tags: &[&str], text: &str) {
        let h = task_head(s);
        assert_eq!(h.id.as_deref(), id, "id of {s:?}");
        assert_eq!(h.parallel, parallel, "parallel of {s:?}");
        assert_eq!(h.tags, tags, "tags of {s:?}");
        assert_eq!(h.text, text, "text of {s:?}");
    }

    #[test]
    fn id_forms() {
        for s in [
            " T012a Do it",
            " **T012a** Do it",
            " **T012a:** Do it",
            " **T012a**: Do it",
            " __T012a__ Do it",
            " [T012a] Do it",
            " T012a: Do it",
            " T012a:Do it",
            " `T012a` Do it",
            " T012a - Do it",
            " T012a — Do it",
            "\tT012a\tDo it",
        ] {
            check(s, Some("T012a"), false, &[], "Do it");
        }
    }

    #[test]
    fn not_ids() {
        check(" Test the thing", None, false, &[], "Test the thing");
        check(" T12B thing", None, false, &[], "T12B thing");
        check(" TX1 thing", None, false, &[], "TX1 thing");
        check(" t12 thing", None, false, &[], "t12 thing");
        check(" **Bold** thing", None, false, &[], "**Bold** thing");
        check(" **T1 thing**", None, false, &[], "**T1 thing**");
        check(" -5% traffic", None, false, &[], "-5% traffic");
        check(" - not a separator without ID", None, false, &[], "- not a separator without ID");
        check("", None, false, &[], "");
    }

    #[test]
    fn tags_in_any_order() {
        check(" T1 [P] [US1] text", Some("T1"), true, &["US1"], "text");
        check(" T1 [US1] [P] text", Some("T1"), true, &["US1"], "text");
        check(" [P] T1 [US2] text", Some("T1"), true, &["US2"], "text");
        check(" T1 [P1] text", Some("T1"), false, &["P1"], "text");
        check(" T1 [P1] [P] [Story] text", Some("T1"), true, &["P1", "Story"], "text");
        check(" [US1] no id", None, false, &["US1"], "no id");
        check(" T1 [docs](http://x) text", Some("T1"), false, &[], "[docs](http://x) text");
        check(" T1 [two words] text", Some("T1"), false, &[], "[two words] text");
        check(" T1 [P]", Some("T1"), true, &[], "");
        // Only the first ID-like token is the ID.
        check(" T1 T2 text", Some("T1"), false, &[], "T2 text");
    }

    #[test]
    fn headings() {
        assert_eq!(heading("## Phase 1"), Some((2, "Phase 1")));
        assert_eq!(heading("   ### Sec ###"), Some((3, "Sec")));
        assert_eq!(heading("## C#"), Some((2, "C#")));
        assert_eq!(heading("##"), Some((2, "")));
        assert_eq!(heading("## ##"), Some((2, "")));
        assert_eq!(heading("##nope"), None);
        assert_eq!(heading("    ## code"), None);
        assert_eq!(heading("####### seven"), None);
    }

    #[test]
    fn fences() {
        assert_eq!(opens_fence("```rust"), Some((b'`', 3)));
        assert_eq!(opens_fence("~~~~"), Some((b'~', 4)));
        assert_eq!(opens_fence("``"), None);
        assert_eq!(opens_fence("```inline``` code"), None);
        assert!(closes_fence("  ````  ", (b'`', 3)));
        assert!(!closes_fence("``", (b'`', 3)));
        assert!(!closes_fence("~~~", (b'`', 3)));
        assert!(!closes_fence("``` x", (b'`', 3)));
    }

    #[test]
    fn task_lines() {
        let tl = task_line("  - [x] T1 a", 2).unwrap();
        assert_eq!((tl.checkbox, tl.mark, tl.rest), (5, b'x', " T1 a"));
        assert!(task_line("- [ ]", 0).is_some());
        assert!(task_line("12. [X] a", 0).is_some());
        assert!(task_line("3) [ ] a", 0).is_some());
        assert!(task_line("-[ ] a", 0).is_none());
        assert!(task_line("- [ ]a", 0).is_none());
        assert!(task_line("- [y] a", 0).is_none());
        assert!(task_line("- [  ] a", 0).is_none());
        assert!(task_line("1234567890. [ ] a", 0).is_none());
        assert!(task_line("- [", 0).is_none());
    }

    #[test]
    fn indentation_counts_tabs_to_the_next_stop() {
        assert_eq!(indentation("\t- x"), (4, 1));
        assert_eq!(indentation("  \t- x"), (4, 3));
        assert_eq!(indentation("    \t"), (8, 5));
        assert_eq!(indentation(""), (0, 0));
    }
}

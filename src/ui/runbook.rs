//! The runbook panel: phases with progress, and the tasks of the selected phase.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Screen, bar, fit, panel, styled};
use crate::domain::automation::locked_phases;
use crate::domain::runbook::{Phase, Task};
use crate::view::{Focus, visible_in};

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let Some(rb) = &s.cockpit.runbook else {
        let block = panel(" RUNBOOK ", t);
        let text = s.cockpit.runbook_error.as_deref().unwrap_or("no runbook configured");
        let style = if s.cockpit.runbook_error.is_some() { t.crit } else { t.muted };
        frame.render_widget(Paragraph::new(text).style(style).wrap(Wrap { trim: true }).block(block), area);
        return;
    };
    let (done, total) = rb.progress();
    let filter = if s.view.open_only { "· open only " } else { "" };
    let title = format!(" RUNBOOK {done}/{total} {filter}");
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rb.phases.is_empty() {
        frame.render_widget(Paragraph::new("the runbook has no tasks").style(t.muted), inner);
        return;
    }
    let gates = gate_lines(s);
    let phase_rows = (rb.phases.len() as u16).min(inner.height / 2);
    let [phases_area, gate_area, rule, tasks_area] = Layout::vertical([
        Constraint::Length(phase_rows),
        Constraint::Length(gates.len() as u16),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);

    let width = inner.width as usize;
    let selected = s.view.phase.min(rb.phases.len() - 1);
    let locked = locked_phases(rb);
    let phase_lines: Vec<Line> = rb
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| phase_line(p, i == selected, s.view.focus == Focus::Phases, locked[i], width, s))
        .collect();
    let first = scroll_start(selected, phase_lines.len(), phases_area.height as usize);
    frame.render_widget(Paragraph::new(phase_lines[first..].to_vec()), phases_area);
    frame.render_widget(Paragraph::new(gates), gate_area);

    let phase = &rb.phases[selected];
    frame.render_widget(Paragraph::new(Line::styled("─".repeat(width), t.border)), rule);

    // Rows are gathered as references, and only the ones in view become styled lines: a phase
    // may hold 100 000 tasks, and a frame must not format them all.
    enum Row<'a> {
        Title(&'a str),
        Task(usize, &'a Task, bool),
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut selected_line = 0;
    let mut task_no = 0;
    for section in &phase.sections {
        let section_rows = visible_in(&section.tasks, s.view.open_only, &s.view.collapsed);
        if section_rows.is_empty() {
            continue;
        }
        if let Some(title) = &section.title {
            rows.push(Row::Title(title));
        }
        for (depth, task) in section_rows {
            let is_sel = task_no == s.view.task;
            if is_sel {
                selected_line = rows.len();
            }
            rows.push(Row::Task(depth, task, is_sel && s.view.focus == Focus::Tasks));
            task_no += 1;
        }
    }
    let height = tasks_area.height as usize;
    let first = scroll_start(selected_line, rows.len(), height);
    let mut lines: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(height.max(1))
        .map(|row| match row {
            Row::Title(title) => Line::styled(fit(title, width), t.accent),
            Row::Task(depth, task, sel) => task_line(task, *depth, *sel, width, s),
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            if s.view.open_only { "every task of this phase is done" } else { "no tasks" },
            t.muted,
        ));
    }
    frame.render_widget(Paragraph::new(lines), tasks_area);
}

/// One line per traffic gate: which tasks still stand before that stage.
fn gate_lines<'a>(s: &Screen) -> Vec<Line<'a>> {
    let t = s.theme;
    s.cockpit
        .gates
        .iter()
        .map(|g| {
            let open = g.open(s.cockpit.runbook.as_ref());
            if open.is_empty() {
                Line::from(vec![styled(format!("gate {}%: ", g.stage), t.muted), styled("✓ all done", t.ok)])
            } else {
                Line::from(vec![
                    styled(format!("gate {}%: ", g.stage), t.muted),
                    styled(format!("{}/{} open ", open.len(), g.tasks.len()), t.warn),
                    styled(open.join(" "), t.muted),
                ])
            }
        })
        .collect()
}

/// The first line to show so that `selected` stays in view.
fn scroll_start(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    selected.saturating_sub(height - 1).min(len - height)
}

/// `Phase 10.1: Pre-Deployment Preparation` reads as `10.1 Pre-Deployment Preparation`.
pub fn short_title(title: &str) -> String {
    let t = title.strip_prefix("Phase ").unwrap_or(title);
    match t.split_once(": ") {
        Some((num, rest)) if num.chars().all(|c| c.is_ascii_digit() || c == '.') => format!("{num} {rest}"),
        _ => t.to_string(),
    }
}

fn phase_line<'a>(p: &Phase, selected: bool, focused: bool, locked: bool, width: usize, s: &Screen) -> Line<'a> {
    let t = s.theme;
    let (done, total) = p.progress();
    let counts = format!(" {:>7} ", format!("{done}/{total}"));
    let bar_w = if width >= 40 { 6 } else { 0 };
    let marker = match (selected, locked) {
        (true, _) => "▸ ",
        (false, true) => "⊘ ",
        (false, false) => "  ",
    };
    let title_w = width.saturating_sub(marker.chars().count() + counts.len() + bar_w);
    let title = fit(&short_title(&p.title), title_w);
    let complete = total > 0 && done == total;
    let mut style: Style = if complete {
        t.ok
    } else if locked {
        t.muted
    } else {
        t.text
    };
    if selected && focused {
        style = style.patch(t.selected);
    }
    let ratio = if total == 0 { 0.0 } else { done as f64 / total as f64 };
    Line::from(vec![
        styled(marker, t.accent),
        styled(format!("{title:title_w$}"), style),
        styled(counts, if complete { t.ok } else { t.muted }),
        styled(bar(ratio, bar_w), if complete { t.ok } else { t.muted }),
    ])
}

fn task_line<'a>(task: &Task, depth: usize, selected: bool, width: usize, s: &Screen) -> Line<'a> {
    let t = s.theme;
    let check = if task.done { "[x] " } else { "[ ] " };
    // A task with sub-tasks says how many and whether they are folded (▸) or shown (▾).
    let fold = match (task.children.len(), s.view.collapsed.contains(&task.line)) {
        (0, _) => String::new(),
        (n, true) => format!(" ▸{n}"),
        (n, false) => format!(" ▾{n}"),
    };
    let indent = "  ".repeat(depth);
    let id = task.id.as_deref().map(|i| format!("{i} ")).unwrap_or_default();
    let auto = task.done && task.id.as_ref().is_some_and(|i| s.cockpit.auto_ticked.contains(i));
    let auto_mark = if auto { " auto" } else { "" };
    let text_w =
        width.saturating_sub(indent.len() + check.len() + id.chars().count() + auto_mark.len() + fold.chars().count());
    let mut base = if task.done { t.muted } else { t.text };
    if selected {
        base = base.patch(t.selected);
    }
    let mut spans = vec![
        styled(indent, base),
        styled(check, if task.done { t.ok.patch(base) } else { base }),
        styled(id, t.accent.patch(if selected { t.selected } else { Style::default() })),
    ];
    let text = fit(&task.text, text_w);
    spans.push(styled(format!("{text:text_w$}"), base));
    if !fold.is_empty() {
        spans.push(styled(fold, t.accent));
    }
    if auto {
        spans.push(styled(auto_mark, t.accent));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_titles_drop_the_word_phase() {
        assert_eq!(short_title("Phase 10.1: Pre-Deployment Preparation"), "10.1 Pre-Deployment Preparation");
        assert_eq!(short_title("Validation Checklist"), "Validation Checklist");
        assert_eq!(short_title("Phase A: x"), "A: x");
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        assert_eq!(scroll_start(0, 50, 10), 0);
        assert_eq!(scroll_start(9, 50, 10), 0);
        assert_eq!(scroll_start(10, 50, 10), 1);
        assert_eq!(scroll_start(49, 50, 10), 40);
        assert_eq!(scroll_start(3, 5, 10), 0);
    }
}

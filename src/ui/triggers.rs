//! The triggers panel: every rollback trigger by tier, with a bar of how close
//! it is to firing, a countdown, its breach count and the last reading.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::{Screen, bar, fit, panel, styled};
use crate::domain::trigger::{Phase, Tier, format_span};
use crate::keymap::Action;
use crate::view::Focus;

/// Rows the panel wants: a heading per tier in use, a line per trigger, borders.
pub fn height(s: &Screen) -> u16 {
    let specs = &s.cockpit.triggers.specs;
    if specs.is_empty() {
        return 3;
    }
    let tiers = [Tier::Immediate, Tier::Planned].iter().filter(|t| specs.iter().any(|s| s.tier == **t)).count();
    (specs.len() + tiers + 2) as u16
}

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let c = s.cockpit;
    let title = match (c.auto_rollback, c.demo) {
        (true, _) => " TRIGGERS · auto-rollback on ",
        (false, true) => " TRIGGERS · demo: durations shortened ",
        (false, false) => " TRIGGERS ",
    };
    let block = panel(title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if c.triggers.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("no rollback triggers configured", t.muted)), inner);
        return;
    }
    let width = inner.width as usize;
    let now = c.now;
    let labels = c.labels();
    let focused = s.view.focus == Focus::Triggers;
    let (name_w, bar_w, status_w, count_w) = (30.min(width / 3), 8, 15, 4);
    let value_w = width.saturating_sub(name_w + bar_w + status_w + count_w + 3);
    // Short of room (80×24), the quiet triggers give way to the ones that are moving.
    let compact = height(s) > area.height && !focused;
    let shown = |i: usize| !compact || c.triggers.states[i].phase() != Phase::Inactive;
    let quiet = (0..c.triggers.len()).filter(|i| !shown(*i)).count();
    let mut lines = Vec::new();
    // Which lines are triggers (not tier headings), to count what a cut hides.
    let mut is_row = Vec::new();
    let mut selected_line = 0;
    for tier in [Tier::Immediate, Tier::Planned] {
        let rows: Vec<usize> =
            (0..c.triggers.len()).filter(|i| c.triggers.specs[*i].tier == tier && shown(*i)).collect();
        if rows.is_empty() {
            continue;
        }
        lines.push(Line::styled(tier.label().to_uppercase(), t.muted));
        is_row.push(false);
        for i in rows {
            let spec = &c.triggers.specs[i];
            let state = &c.triggers.states[i];
            let progress = state.progress(spec, now);
            let style = phase_style(progress.phase, spec.tier, t);
            let selected = focused && i == s.view.trigger;
            if selected {
                selected_line = lines.len();
            }
            let name =
                if spec.is_manual() { spec.name.clone() } else { format!("{} {}", spec.name, for_label(spec.for_ms)) };
            let name_style = if selected { t.selected } else { t.text };
            let bar_text = if spec.is_manual() { " ".repeat(bar_w) } else { bar(progress.fraction, bar_w) };
            let count = if progress.breaches > 0 { format!("{}×", progress.breaches) } else { String::new() };
            let status = progress.status_text_at(&labels);
            let mut row =
                vec![styled(format!("{:<name_w$} ", fit(&name, name_w)), name_style), styled(bar_text, style)];
            if progress.phase == Phase::Inactive && progress.input.is_some() {
                // `holding: input error since 14:02` says all the value column would: it takes it.
                let wide = status_w + count_w + 1 + value_w;
                row.push(styled(format!(" {:<wide$}", fit(&status, wide)), t.warn));
            } else {
                row.push(styled(format!(" {:<status_w$}", fit(&status, status_w)), style));
                row.push(styled(format!("{count:>count_w$} "), t.muted));
                row.push(styled(fit(&state.value_text(spec, &labels), value_w), t.muted));
            }
            lines.push(Line::from(row));
            is_row.push(true);
        }
    }
    let height = inner.height as usize;
    // Short of rows, the tier headings go before any trigger does.
    if compact && lines.len() + usize::from(quiet > 0) > height {
        let keep: Vec<bool> = is_row.clone();
        let mut k = keep.iter();
        lines.retain(|_| *k.next().unwrap_or(&true));
        selected_line = 0;
        is_row = vec![true; lines.len()];
    }
    // Every hidden trigger is counted on a last line of its own, never cut off silently.
    let (first, visible) = if lines.len() + usize::from(quiet > 0) <= height {
        (0, lines.len())
    } else {
        let room = height.saturating_sub(1);
        let first = if selected_line >= room { selected_line + 1 - room } else { 0 };
        (first, room.min(lines.len() - first))
    };
    let cut = is_row.iter().enumerate().filter(|(i, r)| **r && (*i < first || *i >= first + visible)).count();
    let mut out = lines[first..first + visible].to_vec();
    if quiet + cut > 0 {
        out.push(Line::styled(more_line(s, quiet + cut, focused), t.muted));
    }
    frame.render_widget(Paragraph::new(out), inner);
}

/// `3 more · tab lists all`, with the keys from the keymap; once focused, how to scroll.
fn more_line(s: &Screen, hidden: usize, focused: bool) -> String {
    let key = |a| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
    if focused {
        format!("{hidden} more · {} {} scroll", key(Action::Up), key(Action::Down))
    } else {
        format!("{hidden} more · {} lists all", key(Action::FocusNext))
    }
}

fn for_label(ms: i64) -> String {
    if ms > 0 { format!("for {}", format_span(ms)) } else { String::new() }
}

/// Firing immediate triggers in crit, planned ones in warn; pending in warn; acknowledged or
/// cleared ones quieter.
pub fn phase_style(phase: Phase, tier: Tier, t: &Theme) -> Style {
    match phase {
        Phase::Inactive => t.ok,
        Phase::Pending { .. } => t.warn,
        Phase::Firing { cleared_at: Some(_), .. } | Phase::Firing { acknowledged: true, .. } => t.warn,
        Phase::Firing { .. } if tier == Tier::Immediate => t.crit,
        Phase::Firing { .. } => t.warn,
    }
}

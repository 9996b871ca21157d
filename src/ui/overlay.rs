//! Pop-ups drawn over the cockpit: the help, generated from the keymap, and the demo's fault menu.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Screen, panel, styled};
use crate::domain::fault::FaultPreset;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}

pub fn help(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let mut lines = Vec::new();
    for b in &s.keymap.bindings {
        if b.keys.is_empty() {
            continue;
        }
        let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
        lines.push(Line::from(vec![
            styled(format!(" {:<14}", keys.join(" ")), t.accent),
            styled(b.desc.clone(), t.text),
        ]));
    }
    let rect = centered(area, 72, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(panel(" help · esc closes ", t)), rect);
}

pub fn faults(frame: &mut Frame, area: Rect, s: &Screen, selected: usize) {
    let t = s.theme;
    let mut lines = vec![Line::styled(" Inject a fault into the demo fleet:", t.muted)];
    for (i, p) in FaultPreset::ALL.iter().enumerate() {
        let style = if i == selected { t.selected } else { t.text };
        lines.push(Line::from(vec![styled(format!(" {} ", i + 1), t.accent), styled(p.label(), style)]));
    }
    lines.push(Line::styled(" 1-4 or ↑↓ enter · esc cancels", t.muted));
    let rect = centered(area, 52, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(panel(" faults ", t)), rect);
}

/// The find prompt, at the foot of the runbook panel.
pub fn find(frame: &mut Frame, runbook_area: Rect, s: &Screen, query: &str) {
    let t = s.theme;
    let rect = Rect {
        x: runbook_area.x,
        y: runbook_area.bottom().saturating_sub(3),
        width: runbook_area.width,
        height: 3.min(runbook_area.height),
    };
    let line = Line::from(vec![styled(" / ", t.accent), styled(query.to_string(), t.text), styled("▏", t.accent)]);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(line).block(panel(" find ID or text · enter jumps · esc ", t)), rect);
}

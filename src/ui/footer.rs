//! The bottom line: the main keys, from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Screen, styled};
use crate::app::keymap::Action;

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let mut items = vec![
        (Action::Help, "help"),
        (Action::Up, "↓ move"),
        (Action::FocusNext, "focus"),
        (Action::Tick, "tick"),
        (Action::Find, "find"),
        (Action::Advance, "advance"),
        (Action::Rollback, "rollback"),
    ];
    if s.cockpit.demo {
        items.push((Action::Faults, "faults"));
    }
    items.push((Action::Quit, "quit"));
    let read_only = s.cockpit.read_only;
    let mut spans: Vec<Span> = vec![styled(" ", s.theme.text)];
    for (action, label) in items {
        if read_only && s.keymap.acts(action) {
            continue;
        }
        if let Some(key) = s.keymap.first_key(action) {
            spans.push(styled(key, s.theme.accent));
            spans.push(styled(format!(" {label}  "), s.theme.muted));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

//! The bottom line: the main keys, from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Screen, styled};
use crate::keymap::Action;

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
    let mut shown: Vec<(Action, String, &str)> = items
        .into_iter()
        .filter(|(action, _)| !(read_only && s.keymap.acts(*action)))
        .filter_map(|(action, label)| s.keymap.first_key(action).map(|key| (action, key, label)))
        .collect();
    // Short of columns, the keys easiest to find in the help go first; quit and rollback stay.
    let width = |v: &[(Action, String, &str)]| -> usize {
        // A lead blank, then `key label` with two blanks between items (the last ones may be cut).
        (1 + v.iter().map(|(_, k, l)| k.chars().count() + l.chars().count() + 3).sum::<usize>()).saturating_sub(2)
    };
    for drop in [Action::Up, Action::Find, Action::FocusNext, Action::Tick, Action::Faults, Action::Advance] {
        if width(&shown) <= area.width as usize {
            break;
        }
        shown.retain(|(a, _, _)| *a != drop);
    }
    let mut spans: Vec<Span> = vec![styled(" ", s.theme.text)];
    for (_, key, label) in shown {
        spans.push(styled(key, s.theme.accent));
        spans.push(styled(format!(" {label}  "), s.theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

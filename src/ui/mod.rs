//! Views: they borrow state and draw. No IO, no clocks, no state changes.

mod alerts;
mod footer;
mod header;
mod health;
mod overlay;
mod runbook;
mod slo;
pub mod theme;
mod traffic;
mod triggers;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use crate::domain::cockpit::Cockpit;
use crate::keymap::Keymap;
use crate::view::{Overlay, ViewState};
use theme::Theme;

/// The smallest terminal the cockpit lays out in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the log pane into an area, inside the given block.
pub type LogPane<'a> = &'a dyn Fn(&mut Frame, Rect, Block);

/// Everything a frame is drawn from.
pub struct Screen<'a> {
    pub cockpit: &'a Cockpit,
    pub view: &'a ViewState,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    /// Local wall-clock time, formatted by the caller.
    pub clock: &'a str,
    /// Draws the log pane; the app passes tui-logger's widget, tests pass nothing.
    pub log: Option<LogPane<'a>>,
}

pub fn draw(frame: &mut Frame, s: &Screen) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, s.theme);
        return;
    }
    let log_height = if area.height >= 36 { 8 } else { 5 };
    let [header_area, main, log_area, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(log_height),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(frame, header_area, s);
    let [left, right] = Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(main);
    runbook::draw(frame, left, s);
    // SLOs first; triggers next; health takes what is left (at least its summary line).
    let slo_height = (s.cockpit.slos.len() as u16 + 3).max(5).min(right.height.saturating_sub(6));
    let rest = right.height.saturating_sub(slo_height);
    // The traffic panel before the triggers when something happened; health keeps its summary.
    let quiet = traffic::is_quiet(s.cockpit);
    let traffic_height = match traffic::height(s).min(rest.saturating_sub(6)) {
        h if h < 3 => 0,
        // Nothing has happened yet: the header says what comes next, the panel waits. History
        // only where the triggers keep five rows. A rollback or a failed change always shows.
        _ if quiet => 0,
        h if !traffic::is_urgent(s.cockpit) && rest < h + triggers::height(s).min(5) + 3 => 0,
        h => h,
    };
    let rest = rest - traffic_height;
    let alert_height = alerts::height(s).min(rest.saturating_sub(6));
    let trigger_height = triggers::height(s).min(rest.saturating_sub(3 + alert_height));
    let health_height = rest - trigger_height - alert_height;
    let [slo_area, traffic_area, trigger_area, alert_area, health_area] = Layout::vertical([
        Constraint::Length(slo_height),
        Constraint::Length(traffic_height),
        Constraint::Length(trigger_height),
        Constraint::Length(alert_height),
        Constraint::Length(health_height),
    ])
    .areas(right);
    slo::draw(frame, slo_area, s);
    traffic::draw(frame, traffic_area, s);
    triggers::draw(frame, trigger_area, s);
    alerts::draw(frame, alert_area, s);
    health::draw(frame, health_area, s);
    let log_block = panel(" log ", s.theme);
    match s.log {
        Some(draw_log) => draw_log(frame, log_area, log_block),
        None => frame.render_widget(log_block, log_area),
    }
    footer::draw(frame, footer_area, s);
    match &s.view.overlay {
        Some(Overlay::Help) => overlay::help(frame, area, s),
        Some(Overlay::Faults { selected }) => overlay::faults(frame, area, s, *selected),
        Some(Overlay::Find { query }) => overlay::find(frame, left, s, query),
        Some(Overlay::SloDetail { slo }) => overlay::slo_detail(frame, area, s, *slo),
        Some(Overlay::TriggerDetail { trigger }) => overlay::trigger_detail(frame, area, s, *trigger),
        Some(Overlay::Reason { trigger, raise, text }) => overlay::reason(frame, area, s, *trigger, *raise, text),
        Some(Overlay::Traffic(d)) => traffic::dialog(frame, area, s, d),
        Some(Overlay::Resume { text }) => traffic::resume_dialog(frame, area, s, text),
        Some(Overlay::Adopt { text }) => traffic::adopt_dialog(frame, area, s, text),
        Some(Overlay::Manual { text }) => traffic::manual_dialog(frame, area, s, text),
        None => {}
    }
    overlay::notice(frame, area, s);
    overlay::handover(frame, area, s);
    overlay::trigger_request(frame, area, s);
}

/// A bordered panel with a title, in the theme's colours.
pub fn panel<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::bordered().border_type(BorderType::Plain).border_style(theme.border).title(Line::styled(title, theme.accent))
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::from(format!("terminal too small: {}×{}", area.width, area.height)),
        Line::from(format!("needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::from("enlarge it, or press q to quit"),
    ];
    let p = Paragraph::new(lines).style(theme.warn).wrap(Wrap { trim: true });
    let y = area.height / 2;
    let rect = Rect { x: area.x, y: area.y + y.saturating_sub(1), width: area.width, height: area.height.min(3) };
    frame.render_widget(p.alignment(ratatui::layout::Alignment::Center), rect);
}

pub use crate::domain::bound::fit;

/// A bar of `width` cells filled to `ratio`.
pub fn bar(ratio: f64, width: usize) -> String {
    let filled = ((ratio.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    "█".repeat(filled) + &"░".repeat(width - filled)
}

pub fn styled<'a>(text: impl Into<std::borrow::Cow<'a, str>>, style: Style) -> ratatui::text::Span<'a> {
    ratatui::text::Span::styled(text, style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_proportion() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(2.0, 3), "███");
        assert_eq!(bar(f64::NAN, 2).chars().count(), 2);
    }
}

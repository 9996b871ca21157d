//! Prometheus's alerts that match the configured labels: firing first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{Screen, fit, panel, styled};
use crate::domain::alert::AlertState;
use crate::domain::time::format_age;

/// Rows the panel wants (at least a line, at most five alerts).
pub fn height(s: &Screen) -> u16 {
    if !s.cockpit.alerts_enabled {
        return 0;
    }
    let n = match &s.cockpit.alerts {
        Some((_, Ok(a))) => a.len().clamp(1, 5),
        _ => 1,
    };
    n as u16 + 2
}

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    if area.height == 0 {
        return;
    }
    let t = s.theme;
    let c = s.cockpit;
    let age = c.alerts.as_ref().map(|(at, _)| format_age(c.now.secs_since(*at))).unwrap_or_else(|| "–".into());
    let title = format!(" ALERTS · Prometheus · {age} ");
    let block = panel(&title, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let lines: Vec<Line> = match &c.alerts {
        None => vec![Line::styled("waiting for Prometheus", t.muted)],
        Some((_, Err(e))) => vec![Line::styled(fit(&format!("cannot read alerts: {e}"), width), t.warn)],
        Some((_, Ok(alerts))) if alerts.is_empty() => vec![Line::styled("no matching alerts", t.ok)],
        Some((_, Ok(alerts))) => alerts
            .iter()
            .map(|a| {
                let style = match a.state {
                    AlertState::Firing => t.crit,
                    AlertState::Pending => t.warn,
                    AlertState::Inactive => t.muted,
                };
                let summary = a.summary.clone().unwrap_or_default();
                Line::from(vec![
                    styled(format!("{:<8}", a.state.label()), style),
                    styled(format!("{} ", a.name), t.text),
                    styled(fit(&summary, width.saturating_sub(10 + a.name.len())), t.muted),
                ])
            })
            .collect(),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

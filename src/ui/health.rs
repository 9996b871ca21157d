//! The health panel: every service in both environments.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::{Screen, fit, panel, styled};
use crate::domain::env::Env;
use crate::domain::health::{HealthCell, HealthState};

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let cells = &s.cockpit.health;
    let names = &s.cockpit.env_names;
    let mut title: Vec<Span> = vec![styled(" HEALTH ", t.accent)];
    for env in Env::ALL {
        title.push(styled(format!(" {} ", names.name(env)), env_style(env, t)));
        for c in cells.iter().filter(|c| c.env == env) {
            let (sym, style) = dot(c, t);
            title.push(styled(sym, style));
        }
    }
    title.push(styled(" ", t.accent));
    let block = panel("", t).title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if cells.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("no health checks configured", t.muted)), inner);
        return;
    }
    let mut services: Vec<&str> = Vec::new();
    for c in cells {
        if !services.contains(&c.service.as_str()) {
            services.push(&c.service);
        }
    }
    if (inner.height as usize) < services.len() + 1 {
        frame.render_widget(Paragraph::new(summary(cells, s)), inner);
        return;
    }
    let mut services: Vec<&str> = Vec::new();
    for c in cells {
        if !services.contains(&c.service.as_str()) {
            services.push(&c.service);
        }
    }
    let name_w = 20usize.min(inner.width as usize / 3);
    let col_w = (inner.width as usize).saturating_sub(name_w) / 2;
    let mut lines = vec![Line::from(vec![
        styled(format!("{:name_w$}", ""), t.muted),
        styled(format!("{:col_w$}", names.name(Env::Blue)), t.blue),
        styled(format!("{:col_w$}", names.name(Env::Green)), t.green),
    ])];
    for svc in services {
        let mut spans = vec![styled(format!("{:name_w$}", fit(svc, name_w - 1)), t.text)];
        for env in Env::ALL {
            let text_and_style = match cells.iter().find(|c| c.service == svc && c.env == env) {
                Some(c) => describe(c, t),
                None => ("–".to_string(), t.muted),
            };
            spans.push(styled(format!("{:col_w$}", fit(&text_and_style.0, col_w - 1)), text_and_style.1));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn env_style(env: Env, t: &Theme) -> Style {
    match env {
        Env::Blue => t.blue,
        Env::Green => t.green,
    }
}

fn state_style(state: HealthState, t: &Theme) -> Style {
    match state {
        HealthState::Up => t.ok,
        HealthState::Degraded => t.warn,
        HealthState::Down | HealthState::Unreachable => t.crit,
    }
}

fn dot(c: &HealthCell, t: &Theme) -> (&'static str, Style) {
    match &c.last {
        None => ("·", t.muted),
        Some((_, o)) if o.state == HealthState::Up => ("●", t.ok),
        Some((_, o)) => ("○", state_style(o.state, t)),
    }
}

/// `● up 3ms`, `○ down 503`, `○ unreachable`; a word always, not only a colour.
fn describe(c: &HealthCell, t: &Theme) -> (String, Style) {
    let Some((_, o)) = &c.last else { return ("· waiting".into(), t.muted) };
    let sym = if o.state == HealthState::Up { "●" } else { "○" };
    let mut text = format!("{sym} {}", o.state.label());
    match (o.state, o.code, o.latency_ms) {
        (HealthState::Up, _, Some(0)) => text.push_str(" <1ms"),
        (HealthState::Up, _, Some(ms)) => text.push_str(&format!(" {ms}ms")),
        (HealthState::Unreachable, _, _) => text.push_str(&format!(" {}", o.detail)),
        (_, Some(code), _) => text.push_str(&format!(" {code}")),
        _ => {}
    }
    // Below the failure threshold the last established state stands; say that it is failing.
    if let Some((count, _)) = o.detail.split_once(" failures:")
        && matches!(o.state, HealthState::Up | HealthState::Degraded)
    {
        text.push_str(&format!(" ⚠{count}"));
        return (text, t.warn);
    }
    (text, state_style(o.state, t))
}

/// When there is no room for the table: what is not up, or that all is.
fn summary<'a>(cells: &[HealthCell], s: &Screen) -> Vec<Line<'a>> {
    let t = s.theme;
    let bad: Vec<(String, Style)> = cells
        .iter()
        .filter(|c| !matches!(&c.last, Some((_, o)) if o.state == HealthState::Up))
        .map(|c| {
            let (text, style) = describe(c, t);
            (format!("{} {} {text}", s.cockpit.env_names.name(c.env), c.service), style)
        })
        .collect();
    if bad.is_empty() {
        return vec![Line::styled(format!("all {} checks up", cells.len()), t.ok)];
    }
    let mut spans = Vec::new();
    for (i, (text, style)) in bad.into_iter().enumerate() {
        if i > 0 {
            spans.push(styled(" · ", t.muted));
        }
        spans.push(styled(text, style));
    }
    vec![Line::from(spans)]
}

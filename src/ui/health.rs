//! The health panel: every service in both environments.

use std::collections::HashMap;

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
    let (services, by_key) = index(cells);
    if (inner.height as usize) < services.len() + 1 {
        frame.render_widget(Paragraph::new(summary(cells, s, inner.height as usize)), inner);
        return;
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
            let text_and_style = match by_key.get(&(svc, env)) {
                Some(c) => describe(c, t),
                None => ("–".to_string(), t.muted),
            };
            spans.push(styled(format!("{:col_w$}", fit(&text_and_style.0, col_w - 1)), text_and_style.1));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The services in the order they first appear, and each (service, env)'s first cell: built
/// once per frame, so 1 000 health checks cost 1 000 steps, not a million.
fn index(cells: &[HealthCell]) -> (Vec<&str>, HashMap<(&str, Env), &HealthCell>) {
    let mut services = Vec::new();
    let mut by_key = HashMap::new();
    for c in cells {
        if !by_key.contains_key(&(c.service.as_str(), Env::Blue))
            && !by_key.contains_key(&(c.service.as_str(), Env::Green))
        {
            services.push(c.service.as_str());
        }
        by_key.entry((c.service.as_str(), c.env)).or_insert(c);
    }
    (services, by_key)
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

/// When there is no room for the table: each environment's count (`blue 498/500 up · 2 degraded:
/// a, b`) and every service that is not up on a line of its own, as many as the rows allow; a
/// last line counts the ones left out. With few rows the services come first.
fn summary<'a>(cells: &[HealthCell], s: &Screen, rows: usize) -> Vec<Line<'a>> {
    let t = s.theme;
    let names = &s.cockpit.env_names;
    let is_up = |c: &HealthCell| matches!(&c.last, Some((_, o)) if o.state == HealthState::Up);
    let bad: Vec<Line<'a>> = cells
        .iter()
        .filter(|c| !is_up(c))
        .map(|c| {
            let (text, style) = describe(c, t);
            Line::from(vec![
                styled(format!("{} {} ", names.name(c.env), c.service), env_style(c.env, t)),
                styled(text, style),
            ])
        })
        .collect();
    let mut counts: Vec<(bool, Line<'a>)> = Vec::new();
    for env in Env::ALL {
        let of_env: Vec<&HealthCell> = cells.iter().filter(|c| c.env == env).collect();
        if of_env.is_empty() {
            continue;
        }
        let up = of_env.iter().filter(|c| is_up(c)).count();
        let style = if up == of_env.len() { t.ok } else { t.warn };
        let mut spans = vec![styled(format!("{} {up}/{} up", names.name(env), of_env.len()), style)];
        let groups = [
            ("waiting", None),
            ("degraded", Some(HealthState::Degraded)),
            ("down", Some(HealthState::Down)),
            ("unreachable", Some(HealthState::Unreachable)),
        ];
        for (label, state) in groups {
            let members: Vec<&str> = of_env
                .iter()
                .filter(|c| c.last.as_ref().map(|(_, o)| o.state) == state)
                .map(|c| c.service.as_str())
                .collect();
            if !members.is_empty() {
                let style = state.map_or(t.muted, |st| state_style(st, t));
                spans.push(styled(format!(" · {} {label}: {}", members.len(), members.join(", ")), style));
            }
        }
        counts.push((up == of_env.len(), Line::from(spans)));
    }
    // An environment with trouble first: it is the one to read when rows are few.
    counts.sort_by_key(|(all_up, _)| *all_up);
    let counts: Vec<Line<'a>> = counts.into_iter().map(|(_, l)| l).collect();
    // Too few rows for a line per environment: all of them on one.
    let joined = |counts: Vec<Line<'a>>| -> Line<'a> {
        let mut spans = Vec::new();
        for (i, l) in counts.into_iter().enumerate() {
            if i > 0 {
                spans.push(styled(" · ", t.muted));
            }
            spans.extend(l.spans);
        }
        Line::from(spans)
    };
    if bad.is_empty() {
        return if counts.len() > rows { vec![joined(counts)] } else { counts };
    }
    if counts.len() + bad.len() <= rows {
        return counts.into_iter().chain(bad).collect();
    }
    if bad.len() <= rows {
        let room = rows - bad.len();
        return bad.into_iter().chain(counts.into_iter().take(room)).collect();
    }
    // More services down than rows: the counts name them all; then as many as fit, one a line.
    let room = rows.saturating_sub(counts.len() + 1);
    let left = bad.len() - room;
    let mut out: Vec<Line<'a>> = counts.into_iter().take(rows.saturating_sub(1).max(1)).collect();
    out.extend(bad.into_iter().take(room));
    if out.len() < rows {
        out.push(Line::styled(format!("{left} more not up"), t.muted));
    }
    out
}

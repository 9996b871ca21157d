//! Pop-ups drawn over the cockpit: the help, generated from the keymap, and the demo's fault menu.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::{Screen, panel, styled};
use crate::domain::env::Env;
use crate::domain::fault::FaultPreset;
use crate::domain::slo::Judge;
use crate::domain::time::format_age;

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}

pub fn help(frame: &mut Frame, area: Rect, s: &Screen) {
    let t = s.theme;
    let bindings: Vec<(String, &str)> = s
        .keymap
        .shown(s.cockpit.read_only)
        .map(|b| (b.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" "), b.desc.as_str()))
        .collect();
    let title = if s.cockpit.read_only {
        " help · read-only: watching keys only · esc closes "
    } else {
        " help · esc closes "
    };
    let rows = area.height.saturating_sub(2) as usize;
    if bindings.len() <= rows {
        let lines: Vec<Line> = bindings
            .iter()
            .map(|(keys, desc)| Line::from(vec![styled(format!(" {keys:<14}"), t.accent), styled(*desc, t.text)]))
            .collect();
        let rect = centered(area, 72, lines.len() as u16 + 2);
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(lines).block(panel(title, t)), rect);
        return;
    }
    // Too many for the height: two columns, descriptions cut to fit.
    let half = bindings.len().div_ceil(2);
    let rect = centered(area, area.width, half as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = panel(title, t);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
    for (column, part) in [(left, &bindings[..half]), (right, &bindings[half..])] {
        let width = column.width as usize;
        let lines: Vec<Line> = part
            .iter()
            .map(|(keys, desc)| {
                let keys = format!(" {keys:<9}");
                let room = width.saturating_sub(keys.chars().count());
                Line::from(vec![styled(keys, t.accent), styled(super::fit(desc, room), t.text)])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), column);
    }
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

/// One SLO in full: how each number is made, the recent values with their ages,
/// the last error. Ages, not clock times, so the view needs no clock.
pub fn slo_detail(frame: &mut Frame, area: Rect, s: &Screen, slo: usize) {
    let t = s.theme;
    let Some(row) = s.cockpit.slos.get(slo) else { return };
    let now = s.cockpit.now;
    let judged = match row.spec.judge {
        Judge::PerEnv => "each environment on its own",
        Judge::Sum => "on the sum over both environments",
    };
    let mut lines = vec![Line::from(vec![
        styled(format!(" objective {} ", row.spec.objective), t.accent),
        styled(format!("judged {judged}"), t.muted),
    ])];
    for env in Env::ALL {
        let how = &row.how[env.index()];
        let how = if how.is_empty() { "(source not described)" } else { how.as_str() };
        lines.push(Line::from(vec![
            styled(format!(" {:<6}", s.cockpit.env_names.name(env)), if env == Env::Blue { t.blue } else { t.green }),
            styled(how.to_string(), t.text),
        ]));
    }
    lines.push(Line::from(""));
    let col = (area.width.min(100) as usize).saturating_sub(4) / 2;
    lines.push(Line::from(vec![
        styled(format!(" {:<col$}", format!("{} · last values", s.cockpit.env_names.name(Env::Blue))), t.blue),
        styled(format!("{} · last values", s.cockpit.env_names.name(Env::Green)), t.green),
    ]));
    let recent = |env: Env| -> Vec<String> {
        row.cell(env)
            .history
            .iter()
            .rev()
            .take(10)
            .map(|(at, v)| {
                format!("{:>8} ago  {}", format_age(now.secs_since(*at)), row.spec.objective.format_value(*v))
            })
            .collect()
    };
    let (b, g) = (recent(Env::Blue), recent(Env::Green));
    for i in 0..b.len().max(g.len()).max(1) {
        let left = b.get(i).cloned().unwrap_or_else(|| if i == 0 { "no values yet".into() } else { String::new() });
        let right = g.get(i).cloned().unwrap_or_else(|| if i == 0 { "no values yet".into() } else { String::new() });
        lines.push(Line::from(vec![styled(format!(" {left:<col$}"), t.text), styled(right, t.text)]));
    }
    lines.push(Line::from(""));
    for env in Env::ALL {
        let cell = row.cell(env);
        let name = s.cockpit.env_names.name(env);
        let state = row.env_state(env, now);
        // A summed SLO has one verdict; an environment's figure is only a part of it.
        let label = match row.spec.judge {
            crate::domain::slo::Judge::Sum => "part of the sum",
            crate::domain::slo::Judge::PerEnv => state.label(),
        };
        let mut spans = vec![styled(format!(" {name}: {label} "), t.accent)];
        if let (Err(crate::domain::slo::SloState::NoData), Some(why)) =
            (cell.current(&row.spec, now), cell.why(&row.spec, now))
        {
            spans.push(styled(format!("({why}) "), t.muted));
        }
        match &cell.last_error {
            Some((at, e)) => {
                let streak = if cell.consecutive_errors > 0 {
                    format!(" ({} in a row)", cell.consecutive_errors)
                } else {
                    " (answered fine since)".into()
                };
                spans.push(styled(format!("last error {} ago{streak}: ", format_age(now.secs_since(*at))), t.warn));
                spans.push(styled(e.clone(), t.text));
            }
            None => spans.push(styled("no errors", t.muted)),
        }
        lines.push(Line::from(spans));
    }
    let height = lines.len() as u16 + 2;
    let rect = centered(area, 100, height);
    frame.render_widget(Clear, rect);
    let title = format!(" {} · esc closes ", row.spec.name);
    frame.render_widget(Paragraph::new(lines).block(panel(&title, t)), rect);
}

/// Why a trigger is where it is: the derivation, its history this stage, the
/// readings it saw with the policy that applied.
pub fn trigger_detail(frame: &mut Frame, area: Rect, s: &Screen, i: usize) {
    let t = s.theme;
    let c = s.cockpit;
    let (Some(spec), Some(state)) = (c.triggers.specs.get(i), c.triggers.states.get(i)) else { return };
    let labels = c.labels();
    let now = c.now;
    let width = area.width.min(110) as usize - 4;
    let mut lines = vec![
        Line::from(vec![
            styled(format!(" {} · ", spec.tier.label()), t.accent),
            styled(
                state.progress(spec, now).status_text_at(&labels),
                super::triggers::phase_style(state.phase(), spec.tier, t),
            ),
        ]),
        Line::styled(format!(" {}", super::fit(&state.reason(spec, &labels, now), width)), t.text),
    ];
    if !spec.is_manual() {
        lines.push(Line::styled(format!(" {}", state.history_text(now)), t.muted));
        lines.push(Line::styled(format!(" {}", spec.policies_label()), t.muted));
        lines.push(Line::from(""));
        lines.push(Line::styled(" recent readings", t.accent));
        let recent: Vec<_> = state.recent.iter().rev().take(12).collect();
        if recent.is_empty() {
            lines.push(Line::styled(" none yet", t.muted));
        }
        for seen in recent {
            lines.push(Line::styled(format!(" {}", super::fit(&seen.text(spec, &labels), width)), t.text));
        }
    }
    let keys = if s.cockpit.read_only {
        "esc closes"
    } else if spec.is_manual() {
        "! raises or lowers · esc closes"
    } else {
        "A acknowledges · esc closes"
    };
    lines.push(Line::from(""));
    lines.push(Line::styled(format!(" {keys}"), t.muted));
    let rect = centered(area, 110, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", spec.name);
    frame.render_widget(Paragraph::new(lines).block(panel(&title, t)), rect);
}

/// The prompt for the reason to raise or lower a manual trigger.
pub fn reason(frame: &mut Frame, area: Rect, s: &Screen, i: usize, raise: bool, text: &str) {
    let t = s.theme;
    let Some(spec) = s.cockpit.triggers.specs.get(i) else { return };
    let verb = if raise { "raise" } else { "lower" };
    let mut lines = vec![
        Line::styled(format!(" {verb} {:?} ({}) — why?", spec.name, spec.tier.label()), t.text),
        Line::from(vec![styled(" > ", t.accent), styled(text.to_string(), t.text), styled("▏", t.accent)]),
    ];
    lines.extend(refused(s));
    lines.push(Line::styled(" enter confirms · esc cancels · the reason goes to the log", t.muted));
    let rect = centered(area, 80, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(panel(" reason ", t)), rect);
}

/// Why the dialog refused the last input, as a line of its own (none when it did not).
pub fn refused<'a>(s: &Screen) -> Option<Line<'a>> {
    s.view.dialog_error.as_ref().map(|e| Line::styled(format!(" ✗ {e}"), s.theme.crit))
}

/// On the holder, while someone asks for the controls: who, and the keys that answer.
pub fn handover(frame: &mut Frame, area: Rect, s: &Screen) {
    use crate::keymap::Action;
    let c = s.cockpit;
    let Some(who) = c.controls.asked_by.as_deref().filter(|_| c.controls_held) else { return };
    let t = s.theme;
    let key = |a: Action| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
    let text = format!(
        " {who} asks for the controls: {} hand over, {} keep them ",
        key(Action::HandOver),
        key(Action::KeepControls)
    );
    let width = (text.chars().count() as u16 + 2).min(area.width);
    let rect = Rect { x: area.x + (area.width - width) / 2, y: area.y + 1, width, height: 3.min(area.height) };
    frame.render_widget(Clear, rect);
    let style = t.warn.add_modifier(ratatui::style::Modifier::BOLD);
    frame.render_widget(Paragraph::new(Line::styled(text, style)).block(panel(" controls ", t)), rect);
}

/// On the holder, while an observer asks for a trigger action: who, what, and the keys that answer.
pub fn trigger_request(frame: &mut Frame, area: Rect, s: &Screen) {
    use crate::keymap::Action;
    let c = s.cockpit;
    // The handover question, when there is one, is answered first.
    let Some(r) = c.trigger_request.as_ref().filter(|_| c.controls_held && c.controls.asked_by.is_none()) else {
        return;
    };
    let t = s.theme;
    let key = |a: Action| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
    let text = format!(
        " {} asks you to {}: {} do it, {} decline ",
        r.by,
        r.describe(),
        key(Action::HandOver),
        key(Action::KeepControls)
    );
    let width = (text.chars().count() as u16 + 2).min(area.width);
    let rect = Rect { x: area.x + (area.width - width) / 2, y: area.y + 1, width, height: 3.min(area.height) };
    frame.render_widget(Clear, rect);
    let style = t.warn.add_modifier(ratatui::style::Modifier::BOLD);
    frame.render_widget(Paragraph::new(Line::styled(text, style)).block(panel(" trigger request ", t)), rect);
}

/// A popup the operator must see (the controls taken, a rollback made elsewhere), until `esc`.
pub fn notice(frame: &mut Frame, area: Rect, s: &Screen) {
    use crate::keymap::Action;
    let Some(n) = s.cockpit.notice.as_ref() else { return };
    let t = s.theme;
    let close = s.keymap.first_key(Action::Close).unwrap_or_else(|| "?".into());
    let width = (n.text.chars().count() as u16 + 4).clamp(30, area.width.max(1));
    let lines = vec![
        Line::styled(format!(" {}", n.text), t.crit.add_modifier(ratatui::style::Modifier::BOLD)),
        Line::styled(format!(" {close} closes"), t.muted),
    ];
    let rect = centered(area, width, 4);
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", n.title);
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }).block(panel(&title, t)),
        rect,
    );
}

//! The traffic panel (stage history, a failed change, the rollback procedure) and the dialogs
//! that move traffic (preview, gates, reason, typed confirmation).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::overlay::centered;
use super::{Screen, fit, panel, styled};
use crate::domain::cockpit::Cockpit;
use crate::domain::time::Ts;
use crate::domain::traffic::{Confirmation, MoveKind, StepKind, format_countdown, weights_for};
use crate::keymap::Action;
use crate::view::{Field, Focus, TrafficDialog};

/// `14:02:11` in local time (the offset comes with the cockpit; the view reads no clock).
fn clock(c: &Cockpit, ts: Ts) -> String {
    let s = (ts.0.div_euclid(1000) + i64::from(c.utc_offset_secs)).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

fn lines<'a>(s: &Screen, width: usize) -> Vec<Line<'a>> {
    let c = s.cockpit;
    let t = s.theme;
    let tr = &c.traffic;
    let mut out = Vec::new();
    let key = |a: Action| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
    if tr.stage.is_some() && !tr.is_rolled_back() && tr.pending.is_none() && tr.next_stage().is_some() {
        // Only when it says why the next stage waits: the header has the plain countdown.
        let hint = c.next_hint();
        if hint.contains("blocked") || hint.contains("paused") {
            out.push(Line::styled(fit(&hint, width), t.warn));
        }
    }
    if c.drift.is_some() && !c.read_only {
        out.push(Line::styled(
            fit(
                &format!(
                    "DRIFT: {} sets the router back to {}% · {} adopts the router's split",
                    key(Action::Revert),
                    tr.blue_percent,
                    key(Action::Adopt)
                ),
                width,
            ),
            t.crit,
        ));
    }
    if let Some(p) = &tr.interrupted {
        let router = match c.weights {
            Some((_, w)) => format!("router reads {}/{}", w.blue, w.green),
            None => "router unread".to_string(),
        };
        let what = crate::domain::traffic::describe(p);
        out.push(Line::styled(
            fit(&format!("INTERRUPTED {what} at {} by {}: {router}", clock(c, p.requested_at), p.by), width),
            t.crit,
        ));
        let back = if p.kind == MoveKind::Rollback { "R rolls back again" } else { "a retries" };
        out.push(Line::styled(
            fit(&format!("nothing was repeated · {back} · V sets the router back to {}%", tr.blue_percent), width),
            t.warn,
        ));
    }
    if let Some(w) = &c.manual_wait {
        let what = match tr.pending.as_ref() {
            Some(p) if p.kind == MoveKind::Rollback => "ROLLBACK".to_string(),
            Some(p) => format!("{}% → {}%", p.from, p.to),
            None => "change".to_string(),
        };
        let since = format_countdown(c.now.0 - w.since.0);
        out.push(Line::styled(fit(&format!("MANUAL STEP {what} (waiting {since}): {}", w.instruction), width), t.crit));
        let mut keys = "c once it is done (type done, or abandon to give the change up)".to_string();
        if !w.steps_done.is_empty() {
            keys = format!("done: {} · {keys}", w.steps_done.join(", "));
        }
        out.push(Line::styled(fit(&keys, width), t.warn));
    }
    if let Some(f) = &c.apply_failure {
        let what = if f.kind == MoveKind::Rollback {
            "ROLLBACK routing".to_string()
        } else {
            format!("{}% → {}%", f.from, f.to)
        };
        out.push(Line::styled(fit(&format!("{what} FAILED: {}", f.error), width), t.crit));
        let keys = if c.read_only {
            "read-only: the operating cockpit retries or reverts".to_string()
        } else if f.steps_done.is_empty() {
            if f.kind == MoveKind::Rollback { "R retries the rollback".to_string() } else { "a retries".to_string() }
        } else {
            format!("done: {} · a retries · V sets the router back to {}%", f.steps_done.join(", "), tr.blue_percent)
        };
        out.push(Line::styled(fit(&keys, width), t.warn));
    }
    if let Some(r) = &tr.rollback {
        let why = r.reason.as_deref().unwrap_or("no reason given");
        out.push(Line::styled(
            fit(&format!("ROLLED BACK at {} by {}: {why}", clock(c, r.started), r.by), width),
            t.crit,
        ));
        let focused = s.view.focus == Focus::Traffic;
        for (i, kind) in StepKind::ALL.iter().enumerate() {
            let step = r.step(*kind);
            let mark = if step.done_at.is_some() { "[x]" } else { "[ ]" };
            let when = match (step.done_at, r.due(*kind)) {
                (Some(at), _) => format!("done {} by {}", clock(c, at), step.done_by.as_deref().unwrap_or("?")),
                (None, Some(due)) if r.overdue(*kind, c.now) => format!("OVERDUE since {}", clock(c, due)),
                (None, Some(due)) => format!("due {} (in {})", clock(c, due), format_countdown(due.0 - c.now.0)),
                (None, None) => "ongoing".to_string(),
            };
            let style = if focused && i == s.view.step {
                t.selected
            } else if r.overdue(*kind, c.now) {
                t.crit
            } else if step.done_at.is_some() {
                t.muted
            } else {
                t.text
            };
            out.push(Line::styled(fit(&format!("{mark} {:<27} {when}", kind.label()), width), style));
        }
        let hint = if c.read_only {
            "read-only: steps are ticked from the operating cockpit"
        } else if focused {
            "space ticks the selected step"
        } else {
            "tab here, space ticks a step"
        };
        out.push(Line::styled(hint, t.muted));
    }
    for h in tr.history.iter().rev().take(4) {
        let what = match h.kind {
            MoveKind::Advance => format!("{}% → {}%", h.from, h.to),
            MoveKind::Rollback => format!("ROLLBACK {}% → 0%", h.from),
            MoveKind::Resume => "resumed".to_string(),
            MoveKind::Adopt => format!("ADOPTED router's {}% (was {}%)", h.to, h.from),
        };
        let why = match (&h.reason, h.overridden.is_empty()) {
            (Some(r), false) => format!(" OVERRIDE: {r:?}"),
            (Some(r), true) => format!(": {r:?}"),
            (None, _) => String::new(),
        };
        let style = if h.overridden.is_empty() && h.kind == MoveKind::Advance { t.text } else { t.warn };
        out.push(Line::styled(fit(&format!("{} {what} by {}{why}", clock(c, h.at), h.by), width), style));
    }
    if out.is_empty() {
        let stages: Vec<String> = tr.spec.percents().iter().map(|p| p.to_string()).collect();
        out.push(Line::styled(
            fit(
                &format!(
                    "{}% on {} · stages {}{}",
                    tr.blue_percent,
                    c.env_names.0[0],
                    stages.join(" "),
                    if c.read_only { "" } else { " · a advances" }
                ),
                width,
            ),
            t.muted,
        ));
    }
    out
}

/// Nothing to show but the plan: no change made, none failed, no rollback.
pub fn is_quiet(c: &Cockpit) -> bool {
    c.drift.is_none()
        && c.traffic.history.is_empty()
        && c.traffic.rollback.is_none()
        && c.apply_failure.is_none()
        && c.traffic.pending.is_none()
        && c.traffic.interrupted.is_none()
}

/// A rollback, a failed change, an interrupted one or drift: shown whatever the room.
pub fn is_urgent(c: &Cockpit) -> bool {
    c.drift.is_some()
        || c.traffic.rollback.is_some()
        || c.apply_failure.is_some()
        || c.manual_wait.is_some()
        || c.traffic.interrupted.is_some()
}

/// Rows the panel wants.
pub fn height(s: &Screen) -> u16 {
    (lines(s, 200).len() as u16 + 2).min(10)
}

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    if area.height < 3 {
        return;
    }
    let title = if s.cockpit.demo { " TRAFFIC · demo: soaks shortened " } else { " TRAFFIC " };
    let block = panel(title, s.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines(s, inner.width as usize)), inner);
}

fn field<'a>(label: String, text: &str, active: bool, s: &Screen) -> Line<'a> {
    let t = s.theme;
    let mut spans: Vec<Span> = vec![styled(format!(" {label}: "), if active { t.accent } else { t.muted })];
    spans.push(styled(format!("> {text}"), t.text));
    if active {
        spans.push(styled("▏", t.accent));
    }
    Line::from(spans)
}

/// The advance or rollback dialog.
pub fn dialog(frame: &mut Frame, area: Rect, s: &Screen, d: &TrafficDialog) {
    let c = s.cockpit;
    let t = s.theme;
    let width = area.width.min(96);
    let inner_w = width as usize - 4;
    let (blue, green) = (c.env_names.0[0].clone(), c.env_names.0[1].clone());
    let from = c.traffic.blue_percent;
    let w = weights_for(d.to);
    let mut out = Vec::new();
    let head = if d.after {
        format!("ROLLED BACK to {from}%: traffic is going to {green}; now say why")
    } else if d.rollback {
        format!("ROLLBACK {from}% → 0%: all traffic to {green}")
    } else {
        format!("{from}% → {}%: {blue} {} / {green} {}", d.to, w.blue, w.green)
    };
    out.push(Line::styled(format!(" {head}"), if d.rollback { t.crit } else { t.accent }));
    if c.actuators.is_empty() {
        out.push(Line::styled(" no actuator configured: the change will fail; move traffic by hand", t.warn));
    }
    for (i, a) in c.actuators.iter().enumerate() {
        out.push(Line::styled(
            fit(&format!(" {}. {a}: {blue} {} {green} {}", i + 1, w.blue, w.green), inner_w),
            t.text,
        ));
    }
    if !d.rollback {
        out.push(Line::from(""));
        // The same gates, from the same readings, as the refusal, the header and `status`.
        let checks = c.preview_advance(Some(d.to)).map(|p| p.checks).unwrap_or_default();
        let drift = checks.iter().any(|g| g.gate == "drift" && !g.ok);
        for g in checks {
            let line = if g.ok {
                Line::styled(fit(&format!(" ✓ {}", g.detail), inner_w), t.ok)
            } else {
                Line::styled(fit(&format!(" ✗ {}", g.detail), inner_w), t.crit)
            };
            out.push(line);
        }
        if drift {
            let key = |a: Action| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
            let how = format!(
                " drift cannot be overridden: {} sets the router back, {} adopts the router's split",
                key(Action::Revert),
                key(Action::Adopt)
            );
            out.push(Line::styled(fit(&how, inner_w), t.crit));
        }
    }
    out.push(Line::from(""));
    let target = if d.rollback { Confirmation::Rollback } else { Confirmation::Stage(d.to) };
    let reason_label = if d.rollback {
        "why (goes to the audit log; esc: later)".to_string()
    } else {
        match &c.override_rule.pattern {
            Some(p) => format!("gates fail: override reason matching {p} (logged)"),
            None => format!("gates fail: override reason, {}+ characters (logged)", c.override_rule.min_chars),
        }
    };
    let reason = field(reason_label, &d.reason, d.field == Field::Reason, s);
    let confirm = field(target.prompt(), &d.confirm, d.field == Field::Confirm, s);
    match (d.rollback, d.after, d.needs_reason) {
        (true, true, _) => out.push(reason),
        (true, false, _) => out.push(confirm),
        (false, _, true) => out.extend([reason, confirm]),
        (false, _, false) => out.push(confirm),
    }
    // A refused input says why here, where the eyes are, not only in the log.
    if let Some(e) = &d.error {
        out.push(Line::styled(fit(&format!(" ✗ {e}"), inner_w), t.crit));
    }
    let help = match (d.rollback, d.after) {
        (_, true) => " enter records the reason · esc: later (the document step stays open)",
        (true, false) => " enter rolls back at once; the reason is asked after · esc cancels, nothing changes",
        (false, _) => " enter · esc cancels, nothing changes",
    };
    out.push(Line::styled(fit(help, inner_w), t.muted));
    let rect = centered(area, width, out.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let title = if d.rollback { " rollback " } else { " advance " };
    frame.render_widget(Paragraph::new(out).block(panel(title, t)), rect);
}

/// The manual-step dialog: what to do, and the typed answer.
pub fn manual_dialog(frame: &mut Frame, area: Rect, s: &Screen, text: &str) {
    let t = s.theme;
    let Some(w) = &s.cockpit.manual_wait else { return };
    let width = area.width.saturating_sub(4).min(90);
    let inner_w = width.saturating_sub(2) as usize;
    let mut out = vec![
        Line::styled(fit(&format!(" {}", w.instruction), inner_w), t.accent),
        Line::from(""),
        Line::from(vec![
            styled(" type done once it is done, or abandon to give the change up > ", t.text),
            styled(text.to_string(), t.text),
            styled("▏", t.accent),
        ]),
    ];
    out.extend(super::overlay::refused(s));
    out.push(Line::styled(" enter · esc closes, the step keeps waiting", t.muted));
    let rect = centered(area, width, out.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(out).block(panel(" manual step ", t)), rect);
}

/// Resuming after a rollback: the reason, which goes to the audit log.
pub fn resume_dialog(frame: &mut Frame, area: Rect, s: &Screen, text: &str) {
    let t = s.theme;
    let width = area.width.saturating_sub(4).min(90);
    let mut out = vec![
        Line::styled(" resume the go-live: blue starts again before the first stage (0 %)", t.accent),
        Line::from(vec![styled(" why? > ", t.text), styled(text.to_string(), t.text), styled("▏", t.accent)]),
    ];
    out.extend(super::overlay::refused(s));
    out.push(Line::styled(" enter resumes · esc cancels · the reason goes to the audit log", t.muted));
    let rect = centered(area, width, out.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(out).block(panel(" resume ", t)), rect);
}

/// Adopting the router's split after drift: what the router says, what is recorded, the reason.
pub fn adopt_dialog(frame: &mut Frame, area: Rect, s: &Screen, text: &str) {
    let t = s.theme;
    let c = s.cockpit;
    let width = area.width.saturating_sub(4).min(90);
    let inner_w = width.saturating_sub(2) as usize;
    let router = match c.weights {
        Some((_, w)) => format!("{}/{}", w.blue, w.green),
        None => "unknown".to_string(),
    };
    let head = format!(
        " record the router's split {router} as the stage (recorded: {}%); its soak starts now",
        c.traffic.blue_percent
    );
    let out = vec![
        Line::styled(fit(&head, inner_w), t.accent),
        Line::from(vec![styled(" why? > ", t.text), styled(text.to_string(), t.text), styled("▏", t.accent)]),
        Line::styled(" enter adopts · esc cancels · the reason goes to the audit log", t.muted),
    ];
    let rect = centered(area, width, out.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(out).block(panel(" adopt ", t)), rect);
}

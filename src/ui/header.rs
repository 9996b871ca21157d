//! The top line: deployment, environment label, the split as the router reports it, local time.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Screen, bar, styled};
use crate::keymap::Action;

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let h = s.theme.header;
    if let Some(banner) = banner(s) {
        let line = Line::from(banner);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut clock = format!(" {} ", s.clock);
    // On a narrow terminal the header sheds detail in order (see `spans`) until it fits; the
    // clock's last blank may go, and last the clock itself.
    let width = area.width as usize;
    let mut spans = Vec::new();
    for level in 0..=LEVELS {
        spans = self::spans(s, level);
        let used: usize = spans.iter().map(Span::width).sum();
        if used + clock.trim_end().chars().count() <= width {
            break;
        }
        if level == LEVELS {
            clock.clear();
        }
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let pad = width.saturating_sub(used + clock.chars().count());
    spans.push(styled("─".repeat(pad), h));
    spans.push(styled(clock, h));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(h), area);
}

/// How many times the header can shed detail.
const LEVELS: u8 = 7;

/// The header's parts at `level` of detail shed: 1 drops the demo's hint, 2 the bar, 3 the word
/// cutover, 4 green's percent, 5 shortens the controls, 6 keeps only the first reason of the next
/// stage's hint (`(paused: blue error rate breach)`, without the time), 7 only says `(paused)` or
/// `blocked` (the traffic panel keeps the reason).
fn spans<'a>(s: &Screen, level: u8) -> Vec<Span<'a>> {
    let c = s.cockpit;
    let t = s.theme;
    let h = t.header;
    let title = if level >= 3 {
        format!(" {} · {} ", c.deployment, c.label)
    } else {
        format!(" cutover · {} · {} ", c.deployment, c.label)
    };
    let mut spans: Vec<Span> = vec![styled(title, h)];
    if c.read_only {
        spans.push(styled(" read-only ", t.warn.add_modifier(ratatui::style::Modifier::REVERSED)));
        spans.push(styled(" ", h));
    }
    spans.push(styled("── ", h));
    // The split as cutover has it recorded; the router's own reading beside it when they differ.
    let p = c.traffic.blue_percent;
    spans.push(styled(format!("{} {p}% ", c.env_names.0[0]), h));
    if level < 2 {
        spans.push(styled(bar(f64::from(p) / 100.0, 10), h));
    }
    if level < 4 {
        let lead = if level < 2 { " " } else { "" };
        spans.push(styled(format!("{lead}{} {}% ", c.env_names.0[1], 100 - u32::from(p)), h));
    }
    match (&c.drift, &c.weights_error) {
        (Some(d), _) => {
            spans.push(styled(format!("⚠ DRIFT: {d} "), t.crit.add_modifier(ratatui::style::Modifier::REVERSED)))
        }
        (None, Some(e)) => spans.push(styled(format!("router unreadable: {} ", super::fit(e, 30)), t.warn)),
        (None, None) => {}
    }
    let next = c.traffic.next_up(c.now);
    let next_style = match next {
        crate::domain::traffic::NextUp::RolledBack { .. } => t.crit,
        crate::domain::traffic::NextUp::Interrupted { .. } => t.crit.add_modifier(ratatui::style::Modifier::REVERSED),
        _ => h,
    };
    spans.push(styled("▸ ", h));
    // The hint follows the gates: `next 25% blocked: blue error rate breach`, never `ready` while
    // one fails.
    let hint = c.next_hint();
    // A stage that waits on a gate (not just on its timer) is said in the warn role.
    let next_style = if hint.contains(" blocked") || hint.contains(" (paused: ") { t.warn } else { next_style };
    let hint = match level {
        7.. => shortest_hint(&hint),
        6 => shorter_hint(&hint),
        _ => hint,
    };
    spans.push(styled(format!("{hint} "), next_style));
    if c.auto_rollback && !c.read_only {
        spans.push(styled("── auto-rollback on ", h.add_modifier(ratatui::style::Modifier::BOLD)));
    }
    if let Some(text) = controls(c, level >= 5) {
        let style = if c.controls_held { h } else { h.add_modifier(ratatui::style::Modifier::BOLD) };
        spans.push(styled(text, style));
    }
    if c.demo && !c.read_only && level < 1 {
        spans.push(styled("── demo fleet: F injects faults ", h));
    }
    spans
}

/// `next 50% in 12:41 (paused: blue error rate breach since 14:02:11)` → `… (paused: blue error rate
/// breach)`; `next 25% blocked: a, b` → `next 25% blocked: a …`.
fn shorter_hint(hint: &str) -> String {
    if let Some((head, _)) = hint.split_once(" since ") {
        return format!("{head})");
    }
    match hint.split_once(", ") {
        Some((head, _)) => format!("{head} …"),
        None => hint.to_string(),
    }
}

/// `next 50% paused (12:41)`, `next 25% blocked`.
fn shortest_hint(hint: &str) -> String {
    if let Some((head, _)) = hint.split_once(" (paused")
        && let Some((next, countdown)) = head.split_once(" in ")
    {
        return format!("{next} paused ({countdown})");
    }
    match hint.split_once(" blocked") {
        Some((head, _)) => format!("{head} blocked"),
        None => hint.to_string(),
    }
}

/// ` · controls: you · 2 watching` for a banner, which takes the whole line: who drives stays said.
fn controls_note(c: &crate::domain::cockpit::Cockpit) -> String {
    controls(c, true).map_or_else(String::new, |t| format!(" · {}", t.trim_start_matches("── ").trim_end()))
}

/// Who holds the controls, when the state dir is shared: `controls: you · 2 watching`,
/// `observing · controls: alice@ops1`, `controls: free · t takes them`.
fn controls(c: &crate::domain::cockpit::Cockpit, short: bool) -> Option<String> {
    let k = &c.controls;
    if !k.shared {
        return None;
    }
    Some(match (&k.holder, c.controls_held) {
        (_, true) => format!("── controls: you · {} watching ", k.observers),
        (Some(who), false) if short => format!("── observing · {} ", super::fit(who, 20)),
        (Some(who), false) => format!("── observing · controls: {} ", super::fit(who, 24)),
        (None, false) if short => "── controls free: t ".to_string(),
        (None, false) => "── controls: free · t takes them ".to_string(),
    })
}

/// After a rollback the header says so, whatever fires: `ROLLED BACK 0/100 · procedure 1/5 ·
/// <reason>`, in crit, reversed; honest about a rollback the router has not confirmed yet. Else a
/// firing immediate trigger takes it over: ROLLBACK NOW, in crit, reversed; a firing planned
/// trigger: PLAN ROLLBACK, in warn. A trigger that still breaches keeps shouting after it is
/// acknowledged; one that cleared is quiet.
fn banner<'a>(s: &Screen) -> Option<Vec<Span<'a>>> {
    use crate::domain::traffic::StepKind;
    use crate::domain::trigger::{Phase, Tier};
    let c = s.cockpit;
    let key = |a| s.keymap.first_key(a).unwrap_or_else(|| "?".into());
    let loud = |tier: Tier| -> Vec<String> {
        (0..c.triggers.len())
            .filter(|i| c.triggers.specs[*i].tier == tier)
            .filter(|i| matches!(c.triggers.states[*i].phase(), Phase::Firing { cleared_at: None, .. }))
            .map(|i| c.triggers.specs[i].name.clone())
            .collect()
    };
    if let Some(r) = &c.traffic.rollback {
        let split = format!("{}/{}", c.traffic.blue_percent, 100 - u32::from(c.traffic.blue_percent));
        let word = match (&c.apply_failure, r.step(StepKind::RouteTraffic).done_at) {
            (_, Some(_)) => format!("ROLLED BACK {split}"),
            (Some(f), None) => {
                format!("ROLLBACK NOT ROUTED: {} · {} retries", super::fit(&f.error, 40), key(Action::Rollback))
            }
            (None, None) => format!("ROLLING BACK → {split} · waiting for the router"),
        };
        let (done, total) = r.progress();
        let procedure = if done == total {
            format!("procedure done: {} resumes", key(Action::Advance))
        } else {
            format!("procedure {done}/{total}")
        };
        let reason = match &r.reason {
            Some(why) => why.clone(),
            None if c.read_only || !c.controls_held => "reason not given yet".into(),
            None => format!("reason not given yet: {} gives it", key(Action::Rollback)),
        };
        let firing: Vec<String> = [loud(Tier::Immediate), loud(Tier::Planned)].concat();
        let also = if firing.is_empty() { String::new() } else { format!(" · still firing: {}", firing.join(", ")) };
        let who = controls_note(c);
        let text = format!(" {word} · {procedure} · {reason}{also}{who} · {} ", s.clock);
        let style = s.theme.crit.add_modifier(ratatui::style::Modifier::REVERSED);
        return Some(vec![styled(format!("{text:<w$}", w = 400), style)]);
    }
    let (word, names, style) = match (loud(Tier::Immediate), loud(Tier::Planned)) {
        (i, _) if !i.is_empty() => ("ROLLBACK NOW", i, s.theme.crit),
        (_, p) if !p.is_empty() => ("PLAN ROLLBACK", p, s.theme.warn),
        _ => return None,
    };
    let style = style.add_modifier(ratatui::style::Modifier::REVERSED);
    let auto = if c.auto_rollback && !c.read_only { " · auto-rollback on" } else { "" };
    // The hint is what to do about it; a viewer cannot act, so it says so instead.
    let hint = if c.read_only { "read-only".to_string() } else { format!("{} rolls back", key(Action::Rollback)) };
    let who = controls_note(c);
    let text = format!(" {word} · {} · {} · {}{auto} · {hint}{who} ", names.join(", "), c.deployment, s.clock);
    Some(vec![styled(format!("{text:<w$}", w = 400), style)])
}

//! The SLO panel: blue and green side by side, each value in the colour of its
//! state and with a word for it, a sparkline, the objective and the data age.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::{Screen, fit, panel, styled};
use crate::domain::env::Env;
use crate::domain::slo::{Cmp, Judge, Objective, SloCell, SloRow, SloState, Unit};
use crate::domain::time::{Ts, format_age};

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

struct Widths {
    name: usize,
    value: usize,
    spark: usize,
    extra: usize,
    target: usize,
    age: usize,
}

fn widths(inner: usize) -> Widths {
    let wide = inner >= 64;
    // At 80 columns every column that says something about the number stays (value with its
    // state word, Σ/Δ, target, age); the name is cut first.
    if !wide && inner >= 44 {
        let (value, extra, target, age) = (9, 7, 8, 5);
        let name = inner.saturating_sub(2 * (value + 1) + extra + target + age).clamp(5, 13);
        return Widths { name, value, spark: 0, extra, target, age };
    }
    let (name, age) = if wide { (13, 7) } else { (11, 0) };
    let extra = if wide {
        9
    } else if inner >= 44 {
        8
    } else {
        0
    };
    let target_min = if wide { 9 } else { 8 };
    let env = inner.saturating_sub(name + target_min + extra + age) / 2;
    let value = 9.min(env.saturating_sub(1));
    let spark = env.saturating_sub(value + 2).min(24);
    // A sparkline of one or two cells says nothing.
    let spark = if spark < 3 { 0 } else { spark };
    let env_col = value + 1 + if spark > 0 { spark + 1 } else { 0 };
    let target = inner.saturating_sub(name + extra + age + 2 * env_col).max(target_min);
    Widths { name, value, spark, extra, target, age }
}

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let block = panel(" SLO ", s.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = widths(inner.width as usize);
    let t = s.theme;
    let now = s.cockpit.now;
    let names = &s.cockpit.env_names;
    let env_col = w.value + 1 + if w.spark > 0 { w.spark + 1 } else { 0 };
    let mut lines = vec![Line::from(vec![
        styled(pad("", w.name), t.muted),
        styled(pad(names.name(Env::Blue), env_col), t.blue),
        styled(pad(names.name(Env::Green), env_col), t.green),
        styled(pad(if w.extra > 0 { "Σ/Δ" } else { "" }, w.extra), t.muted),
        styled(pad("target", w.target), t.muted),
        styled(pad(if w.age > 0 { "age" } else { "" }, w.age), t.muted),
    ])];
    if s.cockpit.slos.is_empty() {
        lines.push(Line::styled("no SLOs configured", t.muted));
    }
    let focused = s.view.focus == crate::view::Focus::Slos;
    for (i, row) in s.cockpit.slos.iter().enumerate() {
        let name_style = if focused && i == s.view.slo { t.selected } else { t.text };
        let mut spans = vec![styled(pad(&fit(&row.spec.name, w.name - 1), w.name), name_style)];
        for env in Env::ALL {
            let cell = row.cell(env);
            let (text, style) = value_text(row, env, now, t);
            spans.push(styled(pad(&fit(&text, w.value), w.value + 1), style));
            if w.spark > 0 {
                // A summed SLO's threshold is the sum's: a part is drawn from zero to its own peak.
                let against = (row.spec.judge == Judge::PerEnv).then_some(&row.spec.objective);
                spans.push(styled(pad(&sparkline(cell, against, w.spark), w.spark + 1), t.muted));
            }
        }
        if w.extra > 0 {
            spans.push(extra_column(row, now, t, w.extra));
        }
        spans.push(styled(pad(&row.spec.objective.to_string(), w.target), t.muted));
        if w.age > 0 {
            let age = Env::ALL
                .iter()
                .filter_map(|e| row.cell(*e).age(now))
                .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.max(a))));
            let stale = Env::ALL.iter().any(|e| row.cell(*e).state(&row.spec, now) == SloState::Stale);
            spans.push(styled(pad(&age.map_or("–".into(), format_age), w.age), if stale { t.stale } else { t.muted }));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The value (or the word standing in for it) and its style.
fn value_text(row: &SloRow, env: Env, now: Ts, t: &Theme) -> (String, Style) {
    let cell = row.cell(env);
    let fmt = |v: f64| row.spec.objective.format_value(v);
    match (row.spec.judge, cell.current(&row.spec, now)) {
        // A share of a system-wide target: informative, judged in the Σ column.
        (Judge::Sum, Ok(v)) => (row.spec.objective.unit.format(v), t.text),
        (Judge::PerEnv, Ok(v)) if row.spec.objective.holds(v) => (fmt(v), t.ok),
        (Judge::PerEnv, Ok(v)) => (format!("{} ✗", fmt(v)), t.crit),
        (_, Err(state)) => state_word(state, t),
    }
}

fn state_word(state: SloState, t: &Theme) -> (String, Style) {
    match state {
        SloState::NoData => ("no data".into(), t.muted),
        SloState::Error => ("error".into(), t.warn),
        SloState::Stale => ("stale".into(), t.stale),
        SloState::Ok => ("ok".into(), t.ok),
        SloState::Breach => ("breach".into(), t.crit),
    }
}

/// Σ for a summed SLO (judged there), otherwise blue's difference to green.
fn extra_column<'a>(row: &SloRow, now: Ts, t: &Theme, width: usize) -> Span<'a> {
    match row.spec.judge {
        Judge::Sum => {
            let (text, style) = match row.sum(now) {
                Ok(v) if row.spec.objective.holds(v) => (format!("Σ{}", row.spec.objective.format_value(v)), t.ok),
                Ok(v) => (format!("Σ{} ✗", row.spec.objective.format_value(v)), t.crit),
                Err(state) => state_word(state, t),
            };
            styled(pad(&fit(&text, width - 1), width), style)
        }
        Judge::PerEnv => {
            let text = match row.blue_vs_green(now) {
                None => "–".to_string(),
                // Against a near-zero green a percentage says little; past ±999 % it says "far".
                Some(d) if d.abs() > 999.0 => {
                    if d > 0.0 {
                        ">+999%".into()
                    } else {
                        "<-999%".into()
                    }
                }
                Some(d) => format!("{d:+.0}%"),
            };
            styled(pad(&fit(&text, width - 1), width), t.muted)
        }
    }
}

/// The last `width` values as block characters, scaled against the objective: the range always
/// holds the threshold, and for a "lower is better" objective (`< 1%`, `<= 2s`) starts at zero.
/// So 99.96 % against `≥ 99.9%` is a small dip rather than a cliff, 0.04 % errors against `< 1%`
/// a flat floor rather than a spike, and anything that crosses the threshold stands out.
/// Without an objective (the part of a sum) the range runs from zero to the highest value.
pub fn sparkline(cell: &SloCell, objective: Option<&Objective>, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let values: Vec<f64> = cell.history.iter().rev().take(width).map(|(_, v)| *v).collect();
    let objective = objective.copied().unwrap_or(Objective { cmp: Cmp::Lt, threshold: 0.0, unit: Unit::Plain });
    let thr = objective.threshold;
    let (mut lo, mut hi) = values.iter().fold((thr, thr), |(l, h), v| (l.min(*v), h.max(*v)));
    if matches!(objective.cmp, Cmp::Lt | Cmp::Le) && lo >= 0.0 {
        lo = 0.0;
    }
    if matches!(objective.cmp, Cmp::Gt | Cmp::Ge) && hi == thr && thr != 0.0 {
        // Everything at or under a floor: leave headroom above it so the floor is not the top.
        hi = thr + (thr - lo).max(thr.abs() * 0.01);
    }
    values
        .iter()
        .rev()
        .map(|v| {
            let r = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
            SPARKS[((r * 7.0).round() as usize).min(7)]
        })
        .collect()
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n >= width { text.to_string() } else { format!("{text}{}", " ".repeat(width - n)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::slo::Outcome;

    fn cell(values: &[f64]) -> SloCell {
        let mut c = SloCell::default();
        for (i, v) in values.iter().enumerate() {
            c.record(Ts(i as i64), Outcome::Value(*v));
        }
        c
    }

    #[test]
    fn sparklines_are_scaled_against_the_objective() {
        let errors: Objective = "< 1%".parse().unwrap();
        // 0.04 % errors against < 1 % is a floor, not a spike.
        assert_eq!(sparkline(&cell(&[0.0, 0.0, 0.0004, 0.0]), Some(&errors), 4), "▁▁▁▁");
        // Crossing the threshold reaches the top.
        assert_eq!(sparkline(&cell(&[0.0, 0.005, 0.01, 0.02]), Some(&errors), 4), "▁▃▅█");
        let avail: Objective = ">= 99.9%".parse().unwrap();
        // 99.96 % among 99.99 % against ≥ 99.9 %: a dip, not a cliff to the bottom.
        let s = sparkline(&cell(&[0.9999, 0.9999, 0.9996, 0.9999]), Some(&avail), 4);
        assert_eq!(s, "██▆█", "{s}");
        // Under the floor: the breach is the bottom, the threshold well above it.
        let s = sparkline(&cell(&[0.999, 0.95, 0.999]), Some(&avail), 3);
        assert_eq!(s.chars().nth(1), Some('▁'), "{s}");
        assert!(s.starts_with('▄') || s.starts_with('▅') || s.starts_with('▆') || s.starts_with('▇'), "{s}");
        assert_eq!(
            sparkline(&cell(&[1.0, 2.0, 3.0]), Some(&"< 10".parse().unwrap()), 2),
            "▂▃",
            "only the newest points that fit"
        );
        assert_eq!(sparkline(&SloCell::default(), Some(&errors), 4), "");
        // A part of a sum: zero to its own peak.
        assert_eq!(sparkline(&cell(&[10.0, 20.0, 35.0]), None, 3), "▃▅█");
    }

    #[test]
    fn narrow_panels_drop_the_extra_columns() {
        assert_eq!(widths(40).extra, 0);
        assert!(widths(46).age > 0, "the age stays at 80 columns; the name gives way");
        assert!(widths(46).extra > 0, "the Σ of a summed SLO stays visible at 80 columns");
        assert!(widths(70).extra > 0 && widths(70).age > 0);
        assert!(widths(70).spark >= 5);
    }
}

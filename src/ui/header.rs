//! The top line: deployment, environment label, the split as the router reports it, local time.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Screen, bar, styled};

pub fn draw(frame: &mut Frame, area: Rect, s: &Screen) {
    let c = s.cockpit;
    let t = s.theme;
    let h = t.header;
    let mut spans: Vec<Span> = vec![styled(format!(" cutover · {} · {} ", c.deployment, c.label), h)];
    spans.push(styled("── ", h));
    match (c.weights, &c.weights_error) {
        (Some((_, w)), None) => match w.blue_percent() {
            Some(p) => {
                spans.push(styled(format!("{} {p:.0}% ", c.env_names.0[0]), h));
                spans.push(styled(bar(p / 100.0, 10), h));
                spans.push(styled(format!(" {} {:.0}% ", c.env_names.0[1], 100.0 - p), h));
            }
            None => spans.push(styled("router sends no traffic (weights 0/0) ", h)),
        },
        (_, Some(e)) => spans.push(styled(format!("split unknown: {} ", super::fit(e, 40)), h)),
        (None, None) => spans.push(styled("split: not configured ", h)),
    }
    if c.demo {
        spans.push(styled("── demo fleet: F injects faults ", h));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let clock = format!(" {} ", s.clock);
    let pad = (area.width as usize).saturating_sub(used + clock.chars().count());
    spans.push(styled("─".repeat(pad), h));
    spans.push(styled(clock, h));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(h), area);
}

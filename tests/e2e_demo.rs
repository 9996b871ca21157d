//! End to end: `cutover demo` in a real terminal (tmux), driven by keys.
//! Deadlines here are generous limits against hangs, not speed targets;
//! the elapsed times are printed for the record.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, wait_file};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// The line of the SLO panel for `name`.
fn slo_line<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name) && l.contains('│'))
}

/// The text in the SLO panel's `env` column (`blue` or `green`) on the row for `name`,
/// found by the column's position in the panel's header row.
fn slo_value(screen: &str, name: &str, env: &str) -> Option<String> {
    let header: Vec<char> = screen.lines().find(|l| l.contains("Σ/Δ"))?.chars().collect();
    let row: Vec<char> = slo_line(screen, name)?.chars().collect();
    let needle: Vec<char> = format!(" {env} ").chars().collect();
    let col = header.windows(needle.len()).position(|w| w == needle.as_slice())? + 1;
    let cell: String = row.get(col..)?.iter().collect();
    cell.split_whitespace().next().map(str::to_string)
}

/// A reading with a unit, like `0.40%`, `0.81s`, `210ms` or `35/s`.
fn is_number(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()) && !v.ends_with(|c: char| c.is_ascii_digit()))
}

#[test]
fn demo_shows_live_numbers_turns_red_on_a_fault_and_restores_the_terminal() {
    let t = Tmux::start("demo", 120, 40);
    t.type_text(&format!("{BIN} demo"), true);

    let took = t.wait_for("every panel with live numbers", Duration::from_secs(60), |s, _| {
        let numbers = ["error rate", "p95 latency", "availability", "event laten", "throughput"]
            .iter()
            .all(|n| is_number(&slo_value(s, n, "blue")) && is_number(&slo_value(s, n, "green")));
        s.contains("RUNBOOK") && s.contains("HEALTH") && s.contains("● up") && s.contains("blue 0%") && numbers
    });
    eprintln!("live numbers after {took:?}");
    let screen = t.screen(false);
    assert!(screen.contains("10.5 Traffic Cutover"), "{screen}");
    assert!(screen.contains("? help"), "{screen}");
    assert!(slo_value(&screen, "error rate", "blue").unwrap().ends_with('%'), "{screen}");

    // Fault menu → error spike.
    t.key("F");
    t.wait_for("the fault menu", Duration::from_secs(10), |s, _| s.contains("error spike"));
    t.key("1");
    let took = t.wait_for("blue's error rate in breach", Duration::from_secs(60), |s, c| {
        let breach = slo_line(s, "error rate").is_some_and(|l| l.contains('✗'));
        // The breaching value is drawn in the crit role: bold light red, which tmux
        // reports as bold plus palette colour 9, right before the value.
        let red = c.lines().any(|l| l.contains("error rate") && l.contains("\u{1b}[1m\u{1b}[38;5;9m"));
        breach && red
    });
    eprintln!("error rate red after {took:?}");
    let log = t.path("state/cutover/go-live-demo/cutover.log");
    let logged = wait_file(&log, Duration::from_secs(10));
    assert!(logged.contains("demo fault: error spike"), "the fault is logged in {}:\n{logged}", log.display());

    // Clearing the fault brings it back.
    t.key("F");
    t.key("4");
    let took = t.wait_for("blue's error rate back to ok", Duration::from_secs(90), |s, _| {
        slo_line(s, "error rate").is_some_and(|l| !l.contains('✗')) && is_number(&slo_value(s, "error rate", "blue"))
    });
    eprintln!("recovered after {took:?}");

    // q leaves, and the terminal is usable again.
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
    let out = t.path("stty.txt");
    t.type_text(&format!("stty -a > {} 2>&1", out.display()), true);
    let stty = wait_file(&out, Duration::from_secs(10));
    let words: Vec<&str> = stty.split(|c: char| c.is_whitespace() || c == ';').collect();
    assert!(words.contains(&"icanon"), "canonical mode restored: {stty}");
    assert!(words.contains(&"echo"), "echo restored: {stty}");
}

#[test]
fn a_small_terminal_gets_a_message_not_a_broken_layout() {
    let t = Tmux::start("small", 60, 20);
    t.type_text(&format!("{BIN} demo"), true);
    t.wait_for("the too-small message", Duration::from_secs(60), |s, _| s.contains("needs at least 80×24"));
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

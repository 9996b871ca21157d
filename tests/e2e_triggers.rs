//! End to end on the demo: an error spike in blue makes the immediate
//! "error rate > 5%" trigger go pending with a countdown, fire with the
//! ROLLBACK NOW banner, and, once the fault is cleared, say that it cleared
//! until it is acknowledged. (The demo's durations are shortened: 30 s.)

mod common;

use std::time::Duration;

use common::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn trigger_line(screen: &str) -> Option<String> {
    screen.lines().skip(1).find(|l| l.contains("error rate > 5%") && l.contains('│')).map(str::to_string)
}

#[test]
fn an_error_spike_fires_the_immediate_trigger_and_clearing_it_is_shown_until_acknowledged() {
    let t = Tmux::start("triggers", 120, 40);
    t.type_text(&format!("{BIN} demo"), true);
    t.wait_for("the triggers panel", Duration::from_secs(60), |s, _| {
        trigger_line(s).is_some_and(|l| l.contains(" ok ")) && s.contains("HEALTH")
    });

    t.key("F");
    t.wait_for("the fault menu", Duration::from_secs(10), |s, _| s.contains("error spike"));
    t.key("1");
    let took = t.wait_for("the trigger pending with a countdown", Duration::from_secs(90), |s, _| {
        trigger_line(s).is_some_and(|l| l.contains("fires in 0:"))
    });
    eprintln!("pending after {took:?}");
    let took = t.wait_for("the ROLLBACK NOW banner", Duration::from_secs(120), |s, c| {
        let header = s.lines().next().unwrap_or("");
        let red = c.lines().next().is_some_and(|l| l.contains("38;5;9m"));
        header.contains("ROLLBACK NOW") && header.contains("error rate > 5%") && red
    });
    eprintln!("fired after {took:?}");
    assert!(trigger_line(&t.screen(false)).unwrap().contains("FIRING"));

    // Clearing the fault: the trigger says it cleared, and keeps saying so until acknowledged.
    t.key("F");
    t.key("4");
    let took = t.wait_for("the trigger cleared", Duration::from_secs(120), |s, _| {
        trigger_line(s).is_some_and(|l| l.contains("cleared · ack"))
    });
    eprintln!("cleared after {took:?}");
    assert!(!t.screen(false).lines().next().unwrap().contains("ROLLBACK NOW"), "a cleared trigger no longer shouts");

    // Focus the triggers (phases → tasks → SLOs → triggers), the first row, acknowledge.
    for _ in 0..3 {
        t.key("Tab");
    }
    t.key("A");
    t.wait_for("the trigger back to ok", Duration::from_secs(20), |s, _| {
        trigger_line(s).is_some_and(|l| l.contains(" ok "))
    });
    t.key("q");
    t.wait_for("the shell prompt", Duration::from_secs(20), |s, _| s.lines().any(|l| l.trim_end() == "$"));
}

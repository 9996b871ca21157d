//! End to end at 80×24 (tmux): during an error spike in the demo the state word and `q quit`
//! stay on screen and the triggers panel says how many rows it hides; a rollback moves traffic
//! on `ROLLBACK` typed and the header says ROLLED BACK with the procedure, reason or not.

mod common;

use std::time::Duration;

use common::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

#[test]
fn at_80x24_an_error_spike_keeps_the_state_word_quit_and_the_hidden_count_then_rollback_says_so() {
    let t = Tmux::start("screen", 80, 24);
    t.type_text(&format!("{BIN} demo --rps 50"), true);
    t.wait_for("the cockpit", Duration::from_secs(60), |s, _| s.contains("TRIGGERS") && s.contains("q quit"));
    t.key("F");
    t.wait_for("the fault menu", Duration::from_secs(10), |s, _| s.contains("error spike"));
    t.key("1");
    let took =
        t.wait_for("blue breaching with the word, quit and the hidden count", Duration::from_secs(90), |s, _| {
            // The error rate's row (its name is cut at 80 columns, its objective is not), with the
            // state word and the age at its end.
            let error_line = s.lines().find(|l| l.contains("< 1%"));
            let aged = |l: &str| l.trim_end().trim_end_matches('│').trim_end().ends_with('s');
            error_line.is_some_and(|l| l.contains('✗') && aged(l))
                && s.contains("q quit")
                && s.contains("more · tab lists all")
        });
    eprintln!("breach shown after {took:?}");

    t.key("R");
    t.wait_for("the rollback dialog", Duration::from_secs(10), |s, _| s.contains("type ROLLBACK"));
    t.type_text("ROLLBACK", true);
    t.wait_for("the reason asked after", Duration::from_secs(10), |s, _| s.contains("now say why"));
    t.key("Escape");
    t.wait_for("the rolled-back header", Duration::from_secs(20), |s, _| {
        let header = s.lines().next().unwrap_or("");
        header.contains("ROLLED BACK 0/100 · procedure 1/5")
    });
    t.key("R");
    t.wait_for("the reason dialog again", Duration::from_secs(10), |s, _| s.contains("now say why"));
    t.type_text("error spike in blue", true);
    t.wait_for("the reason in the header", Duration::from_secs(10), |s, _| {
        s.lines().next().is_some_and(|h| h.contains("procedure 1/5 · error spike in blue"))
    });
    t.key("q");
}

//! Whole-screen snapshots at fixed sizes, from a fixed cockpit state, plus
//! explicit style checks where colour carries meaning.

use cutover::config::{self, GO_LIVE_RUNBOOK};
use cutover::domain::automation::Gate;
use cutover::domain::cockpit::{Cockpit, ControlsInfo, Event};
use cutover::domain::env::{Env, Weights};
use cutover::domain::health::{HealthCell, HealthObservation, HealthState};
use cutover::domain::runbook;
use cutover::domain::slo::{Outcome, SloRow};
use cutover::domain::time::Ts;
use cutover::domain::trigger::Triggers;
use cutover::fleet::SERVICES;
use cutover::keymap::Keymap;
use cutover::ui::{self, Screen, theme::Theme};
use cutover::view::{Focus, Overlay, ViewState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::path::Path;

const NOW: Ts = Ts(1_795_707_085_000);

/// A cockpit mid-cutover: blue breaching its error rate, one blue service down,
/// one green SLO without data, traffic at the 10 % stage (entered 12 minutes ago past an open
/// gate, with an override), the router agreeing at 10/90.
fn cockpit() -> Cockpit {
    let cfg = config::parse(config::DEMO_CONFIG, Path::new("demo.toml"), None).unwrap();
    let mut c = Cockpit::new("go-live", "prod");
    // A wall-clock soak: the screens are about other things (the healthy soak's pause has its own).
    c.traffic.soak_policy.on = cutover::domain::traffic::SoakOn::Wall;
    c.slos = cfg.slos.iter().map(|s| SloRow::new(s.spec.clone())).collect();
    // The demo's triggers: blue's error rate above 5 % makes the first one pending.
    c.triggers = Triggers::new(cfg.triggers.clone());
    // T1137 was ticked by a link (auto), T1212 by hand; a gate stands before 10 %.
    let rb = runbook::parse(GO_LIVE_RUNBOOK).unwrap();
    let bytes = runbook::set_done(GO_LIVE_RUNBOOK, rb.find("T1137").unwrap(), true).unwrap();
    let rb = runbook::parse(&bytes).unwrap();
    let bytes = runbook::set_done(&bytes, rb.find("T1212").unwrap(), true).unwrap();
    c.runbook = Some(runbook::parse(&bytes).unwrap());
    c.auto_ticked.insert("T1137".into());
    c.gates = vec![Gate { stage: 10, tasks: ["T1212", "T1213", "T1214", "T1215", "T1216"].map(String::from).to_vec() }];
    for env in Env::ALL {
        for s in SERVICES {
            c.health.push(HealthCell::new(s, env));
        }
    }
    c.operator = "alice".into();
    let entered = Ts(NOW.0 - 12 * 60_000);
    let reason = Some("CAB-4711: checks done on paper".to_string());
    c.update(Event::Advance { to: None, override_reason: reason }, entered);
    c.update(Event::Applied { seq: 1, detail: "webhook: HTTP 200".into() }, entered);
    let series: [(usize, Env, [f64; 6]); 9] = [
        (0, Env::Blue, [0.002, 0.003, 0.004, 0.012, 0.031, 0.052]),
        (0, Env::Green, [0.001, 0.001, 0.002, 0.001, 0.002, 0.002]),
        (1, Env::Blue, [0.61, 0.64, 0.70, 0.75, 0.79, 0.81]),
        (1, Env::Green, [0.70, 0.72, 0.75, 0.76, 0.77, 0.77]),
        (2, Env::Blue, [0.998, 0.997, 0.996, 0.988, 0.969, 0.948]),
        (2, Env::Green, [0.9991, 0.9992, 0.9993, 0.9992, 0.9992, 0.9992]),
        (3, Env::Blue, [0.19, 0.2, 0.21, 0.2, 0.21, 0.21]),
        (4, Env::Blue, [30.0, 31.0, 33.0, 34.0, 35.0, 35.0]),
        (4, Env::Green, [220.0, 222.0, 224.0, 225.0, 226.0, 227.0]),
    ];
    for (slo, env, values) in series {
        for (i, v) in values.iter().enumerate() {
            let at = Ts(NOW.0 - (5 - i as i64) * 1000);
            c.update(Event::Sample { slo, env, outcome: Outcome::Value(*v) }, at);
        }
    }
    c.update(Event::Sample { slo: 3, env: Env::Green, outcome: Outcome::NoData }, NOW);
    for (i, cell) in c.health.clone().iter().enumerate() {
        let down = cell.env == Env::Blue && cell.service == "event-bus";
        let obs = HealthObservation {
            state: if down { HealthState::Down } else { HealthState::Up },
            latency_ms: Some(2 + i as u64 % 3),
            code: Some(if down { 503 } else { 200 }),
            detail: if down { "fail".into() } else { "pass".into() },
        };
        c.update(Event::Health { target: i, obs }, NOW);
    }
    c.update(Event::Weights(Ok(Weights { blue: 10, green: 90 })), NOW);
    c.update(Event::Tick, NOW);
    c
}

fn render(c: &Cockpit, view: &ViewState, w: u16, h: u16) -> Buffer {
    let theme = Theme::builtin();
    let keymap = Keymap::builtin();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let screen = Screen { cockpit: c, view, theme: &theme, keymap: &keymap, clock: "14:02:11", log: None };
    term.draw(|f| ui::draw(f, &screen)).unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let w = buf.area.width as usize;
    buf.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cell where `needle` starts on the first line containing it.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

#[test]
fn whole_screen_120x40() {
    let buf = render(&cockpit(), &ViewState::default(), 120, 40);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn whole_screen_80x24() {
    let buf = render(&cockpit(), &ViewState::default(), 80, 24);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn tasks_focused_on_the_cutover_phase_120x40() {
    let view = ViewState { focus: Focus::Tasks, phase: 4, task: 7, ..Default::default() };
    let buf = render(&cockpit(), &view, 120, 40);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn drift_takes_the_header_in_crit_and_the_advance_dialog_lists_gates_and_asks_for_a_reason() {
    let mut c = cockpit();
    c.update(Event::Weights(Ok(Weights { blue: 0, green: 100 })), Ts(NOW.0 + 1000));
    let buf = render(&c, &ViewState::default(), 120, 40);
    let (x, y) = find(&buf, "DRIFT: router says 0/100, cutover expects 10/90");
    assert_eq!(buf[(x, y)].style().fg, Theme::builtin().crit.fg, "drift is drawn in the crit role");
    let view = ViewState {
        overlay: Some(Overlay::Traffic(cutover::view::TrafficDialog {
            rollback: false,
            to: 25,
            needs_reason: true,
            field: cutover::view::Field::Reason,
            reason: "why not".into(),
            confirm: String::new(),
            error: None,
            after: false,
        })),
        ..Default::default()
    };
    let screen = text(&render(&cockpit(), &view, 120, 40));
    for needle in [
        "10% → 25%: blue 25 / green 75",
        "✗ soak not over (18:00 left)",
        "✓ no trigger firing",
        "✓ runbook gate tasks for 25% done",
        "✓ controls held",
        "gates fail: override reason, 10+ characters (logged): > why not",
        "type 25 to send 25% of traffic to blue",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
}

#[test]
fn a_change_interrupted_by_a_crash_is_shown_in_crit_with_retry_and_revert() {
    let mut c = cockpit();
    let later = Ts(NOW.0 + 31 * 60_000);
    c.update(Event::Advance { to: None, override_reason: Some("CAB-4712: go on anyway".into()) }, later);
    // Killed between the actuator call and saving its outcome, then restarted.
    let mut restarted = cockpit();
    restarted.restore(c.persisted());
    restarted.take_over_in_flight();
    // A fresh start has no reading, and no actuator could read the router back: it stays interrupted.
    restarted.weights = None;
    restarted.update(Event::Reconcile(Ok(None)), Ts(later.0 + 60_000));
    let buf = render(&restarted, &ViewState::default(), 120, 40);
    let (x, y) = find(&buf, "▸ INTERRUPTED 10% → 25%");
    let x = x + 2;
    assert_eq!(buf[(x, y)].style().fg, Theme::builtin().crit.fg, "the header shouts it in crit");
    let screen = text(&buf);
    for needle in [
        "INTERRUPTED advance 10% → 25% at 16:02:25 by alice: router unread",
        "nothing was repeated · a retries · V sets the router back to 10%",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
}

#[test]
fn help_overlay_lists_every_binding() {
    let view = ViewState { overlay: Some(Overlay::Help), ..Default::default() };
    let buf = render(&cockpit(), &view, 120, 40);
    let screen = text(&buf);
    for b in &Keymap::builtin().bindings {
        assert!(screen.contains(&b.desc), "help lacks {:?}:\n{screen}", b.desc);
    }
    // At 80x24 there are more bindings than rows: two columns keep every key on screen.
    let small = text(&render(&cockpit(), &view, 80, 24));
    insta::assert_snapshot!("help_80x24", small);
    for key in [" ? ", " q ctrl-c", " t ", " y ", " n ", " V "] {
        assert!(small.contains(key), "help at 80x24 lacks {key:?}:\n{small}");
    }
}

#[test]
fn fault_menu_in_the_demo() {
    let mut c = cockpit();
    c.demo = true;
    let view = ViewState { overlay: Some(Overlay::Faults { selected: 0 }), ..Default::default() };
    let buf = render(&c, &view, 120, 40);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn too_small_says_so_instead_of_breaking() {
    for (w, h) in [(79, 24), (80, 23), (40, 10), (1, 1), (0, 0)] {
        let buf = render(&cockpit(), &ViewState::default(), w, h);
        if w >= 20 && h >= 3 {
            assert!(text(&buf).contains("needs at least 80×24"), "{w}x{h}:\n{}", text(&buf));
        }
    }
}

#[test]
fn states_are_coloured_by_role_and_named_in_words() {
    let theme = Theme::builtin();
    let buf = render(&cockpit(), &ViewState::default(), 120, 40);
    // Blue's error rate breaches: crit style and a ✗.
    let (x, y) = find(&buf, "5.20% ✗");
    assert_eq!(buf[(x, y)].fg, theme.crit.fg.unwrap());
    assert!(buf[(x, y)].modifier.contains(ratatui::style::Modifier::BOLD));
    // Green's error rate is fine: ok style.
    let (x, y) = find(&buf, "0.20%");
    assert_eq!(buf[(x, y)].fg, theme.ok.fg.unwrap());
    // Green's event latency has no data: a word, in the muted style, not a zero.
    let (x, y) = find(&buf, "no data");
    assert_eq!(buf[(x, y)].fg, theme.muted.fg.unwrap());
    // The down service says "down", in crit.
    let (x, y) = find(&buf, "○ down 503");
    assert_eq!(buf[(x, y)].fg, theme.crit.fg.unwrap());
    // Throughput is judged on the sum: 35 + 227 = 262/s holds.
    let (x, y) = find(&buf, "Σ262/s");
    assert_eq!(buf[(x, y)].fg, theme.ok.fg.unwrap());
}

#[test]
fn stale_and_error_never_show_a_number() {
    let mut c = cockpit();
    let later = Ts(NOW.0 + 10_000);
    c.update(
        Event::Sample { slo: 1, env: Env::Green, outcome: Outcome::Error("GET x: connection refused".into()) },
        later,
    );
    c.update(Event::Tick, later);
    let buf = render(&c, &ViewState::default(), 120, 40);
    let screen = text(&buf);
    let p95 = screen.lines().find(|l| l.contains("p95 latency")).unwrap();
    assert!(p95.contains("stale"), "{p95}");
    assert!(!p95.contains("0.81s"), "a stale value must not show as a number: {p95}");
}

#[test]
fn runbook_markers_lock_auto_gate_and_find_prompt() {
    let view = ViewState { overlay: Some(Overlay::Find { query: "T12".into() }), ..Default::default() };
    let buf = render(&cockpit(), &view, 120, 40);
    let screen = text(&buf);
    // Phases after an incomplete predecessor carry a lock sign.
    assert!(screen.contains("⊘ 10.2 Deployment Planning"), "{screen}");
    // The gate before 10 % lists what is still open.
    assert!(screen.contains("gate 10%: 4/5 open T1213 T1214 T1215 T1216"), "{screen}");
    // A task ticked by a link says so.
    let line = screen.lines().find(|l| l.contains("T1137")).unwrap();
    assert!(line.contains("[x] T1137") && line.contains("auto"), "{line}");
    assert!(screen.contains("/ T12"), "the find prompt shows what was typed:\n{screen}");
}

#[test]
fn open_only_lists_only_open_tasks() {
    let view = ViewState { open_only: true, focus: Focus::Tasks, ..Default::default() };
    let screen = text(&render(&cockpit(), &view, 120, 40));
    assert!(screen.contains("RUNBOOK 11/168 · open only"), "{screen}");
    assert!(!screen.contains("T1137"), "T1137 is done and hidden:\n{screen}");
    assert!(screen.contains("[ ] T1138"), "{screen}");
}

#[test]
fn slo_detail_shows_how_recent_values_and_the_last_error() {
    let mut c = cockpit();
    c.slos[0].how = [
        "error_ratio derived from 6 /metrics endpoints over the last 20s".into(),
        "error_ratio derived from 6 /metrics endpoints over the last 20s".into(),
    ];
    c.update(
        Event::Sample {
            slo: 0,
            env: Env::Green,
            outcome: Outcome::Error("GET http://10.0.0.7/metrics: connection refused".into()),
        },
        Ts(NOW.0 + 500),
    );
    let view = ViewState { focus: Focus::Slos, overlay: Some(Overlay::SloDetail { slo: 0 }), ..Default::default() };
    let buf = render(&c, &view, 120, 40);
    insta::assert_snapshot!(text(&buf));
    let screen = text(&buf);
    assert!(screen.contains("green: error last error 0.0s ago (1 in a row): GET http://10.0.0.7/metrics"), "{screen}");
}

#[test]
fn a_firing_immediate_trigger_takes_over_the_header() {
    let theme = Theme::builtin();
    let mut c = cockpit();
    let pending = text(&render(&c, &ViewState::default(), 120, 40));
    assert!(pending.contains("fires in 0:30"), "blue's 5.2 % makes the 5 % trigger pending:\n{pending}");
    let i = c.triggers.index_of("data corruption").unwrap();
    c.update(Event::RaiseTrigger { trigger: i, reason: "checksums differ".into() }, NOW);
    let buf = render(&c, &ViewState::default(), 120, 40);
    let screen = text(&buf);
    let header = screen.lines().next().unwrap();
    assert!(header.starts_with(" ROLLBACK NOW · data corruption"), "{header}");
    assert_eq!(buf[(1, 0)].fg, theme.crit.fg.unwrap());
    assert!(buf[(1, 0)].modifier.contains(ratatui::style::Modifier::REVERSED));
    assert!(screen.contains("RAISED"), "{screen}");
    // The hint is about rolling back, with the key from the keymap.
    assert!(header.contains("R rolls back") && !header.contains("acknowledges"), "{header}");
    // Acknowledged while it still holds, it keeps shouting; lowered (cleared), it stops.
    c.update(Event::AckTrigger(i), NOW);
    let header = text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(header.starts_with(" ROLLBACK NOW · data corruption"), "{header}");
    c.update(Event::LowerTrigger { trigger: i, reason: "checksums match again".into() }, NOW);
    let header = text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(header.starts_with(" cutover · go-live"), "{header}");
    // A planned one asks to plan.
    let j = c.triggers.index_of("stakeholder decision").unwrap();
    c.update(Event::RaiseTrigger { trigger: j, reason: "CFO says stop".into() }, NOW);
    let buf = render(&c, &ViewState::default(), 120, 40);
    assert!(text(&buf).lines().next().unwrap().starts_with(" PLAN ROLLBACK · stakeholder decision"));
    assert_eq!(buf[(1, 0)].fg, theme.warn.fg.unwrap());
}

#[test]
fn trigger_detail_explains_the_countdown() {
    let c = cockpit();
    let i = c.triggers.index_of("error rate > 5%").unwrap();
    let view = ViewState {
        focus: Focus::Triggers,
        trigger: i,
        overlay: Some(Overlay::TriggerDetail { trigger: i }),
        ..Default::default()
    };
    let screen = text(&render(&c, &view, 120, 40));
    assert!(screen.contains("blue error rate 5.20% > 5% since"), "{screen}");
    assert!(screen.contains("1 breach this stage"), "{screen}");
    assert!(screen.contains("no data: hold"), "{screen}");
}

#[test]
fn the_header_says_when_rollback_is_automatic() {
    let mut c = cockpit();
    assert!(!text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().contains("auto-rollback"));
    c.auto_rollback = true;
    let screen = text(&render(&c, &ViewState::default(), 120, 40));
    assert!(screen.lines().next().unwrap().contains("auto-rollback on"), "{screen}");
}

#[test]
fn sub_tasks_fold_and_say_how_many() {
    let c = cockpit();
    let rb = c.runbook.as_ref().unwrap();
    let phase = rb.phases.iter().position(|p| p.title.contains("10.3")).unwrap();
    let view = ViewState { focus: Focus::Tasks, phase, ..Default::default() };
    let screen = text(&render(&c, &view, 120, 40));
    let parent = screen.lines().find(|l| l.contains("T1180 ")).unwrap();
    assert!(parent.contains("▾5"), "{parent}");
    assert!(screen.contains("  [ ] T1180a Deploy AcquisitionService"), "{screen}");
    let mut folded = view.clone();
    folded.collapsed.insert(rb.find("T1180").unwrap().line);
    let screen = text(&render(&c, &folded, 120, 40));
    assert!(screen.lines().find(|l| l.contains("T1180 ")).unwrap().contains("▸5"));
    assert!(!screen.contains("T1180a"), "{screen}");
}

#[test]
fn read_only_marks_the_header_and_leaves_action_keys_out_of_footer_and_help() {
    let mut c = cockpit();
    c.demo = true;
    c.read_only = true;
    let buf = render(&c, &ViewState::default(), 120, 40);
    let (x, y) = find(&buf, "read-only");
    assert_eq!(y, 0, "the marker is in the header");
    assert_eq!(buf[(x, y)].style().fg, Theme::builtin().warn.fg, "in the warn role");
    let screen = text(&buf);
    let footer = screen.lines().last().unwrap();
    for gone in ["tick", "advance", "rollback", "faults"] {
        assert!(!footer.contains(gone), "footer offers {gone}: {footer}");
    }
    assert!(footer.contains("help") && footer.contains("quit"), "{footer}");
    insta::assert_snapshot!(screen);
    let view = ViewState { overlay: Some(Overlay::Help), ..Default::default() };
    let help = text(&render(&c, &view, 120, 40));
    for b in &Keymap::builtin().bindings {
        assert_eq!(help.contains(&b.desc), !b.acts, "{:?} in read-only help:\n{help}", b.desc);
    }
    insta::assert_snapshot!("read_only_help", help);
}

fn with_controls(held: bool, holder: Option<&str>, asked_by: Option<&str>) -> Cockpit {
    let mut c = cockpit();
    c.controls_held = held;
    c.controls = ControlsInfo {
        held,
        holder: holder.map(str::to_string),
        observers: 2,
        asked_by: asked_by.map(str::to_string),
        shared: true,
    };
    c
}

#[test]
fn the_header_says_who_holds_the_controls_within_80_columns() {
    // At 80 columns the bar, the word cutover, green's percent and then the clock give way.
    let cases = [
        (with_controls(true, Some("alice@ops1"), None), "── controls: you · 2 watching"),
        (with_controls(false, Some("alice@ops1"), None), "── observing · alice@ops1"),
        (with_controls(false, None, None), "── controls free: t ── 14:02:11"),
    ];
    for (c, says) in cases {
        let top = text(&render(&c, &ViewState::default(), 80, 24)).lines().next().unwrap().to_string();
        assert!(top.starts_with(" go-live · prod ── blue 10% ▸ next 25% in 18:00 "), "{top}");
        assert!(top.contains(says), "{top}");
    }
    let wide = with_controls(false, Some("alice@ops1"), None);
    let top = text(&render(&wide, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(top.contains("green 90%") && top.contains("── observing · controls: alice@ops1 ─"), "{top}");
    assert!(top.ends_with(" 14:02:11"), "{top}");
}

#[test]
fn observer_at_80x24() {
    let buf = render(&with_controls(false, Some("alice@ops1"), None), &ViewState::default(), 80, 24);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn a_request_for_the_controls_shows_on_the_holder_120x40() {
    let buf = render(&with_controls(true, Some("alice@ops1"), Some("bob@ops2")), &ViewState::default(), 120, 40);
    let screen = text(&buf);
    assert!(screen.contains("bob@ops2 asks for the controls: y hand over, n keep them"), "{screen}");
    insta::assert_snapshot!(screen);
    let observer = with_controls(false, Some("alice@ops1"), Some("bob@ops2"));
    assert!(!text(&render(&observer, &ViewState::default(), 120, 40)).contains("asks for the controls"));
}

#[test]
fn numbers_do_not_lie_on_the_panels() {
    let mut c = cockpit();
    let later = Ts(NOW.0 + 1000);
    // Blue's p95 cannot be read: the trigger watching it holds, and says so.
    c.update(Event::Sample { slo: 1, env: Env::Blue, outcome: Outcome::Error("HTTP 503".into()) }, later);
    // Green's availability misses 99.9 % by a hair: the digits show it.
    c.update(Event::Sample { slo: 2, env: Env::Green, outcome: Outcome::Value(0.99897) }, later);
    c.update(Event::Tick, later);
    let buf = render(&c, &ViewState::default(), 120, 40);
    let screen = text(&buf);
    let p95 = screen.lines().find(|l| l.contains("p95 > 1.5× green")).unwrap();
    assert!(p95.contains("holding: input error since "), "never ok on an unreadable input: {p95}");
    let (x, y) = find(&buf, "holding: input error");
    assert_eq!(buf[(x, y)].style().fg, Theme::builtin().warn.fg, "in warn, not in ok");
    let avail = screen.lines().find(|l| l.contains("availability")).unwrap();
    assert!(avail.contains("99.897% ✗"), "not 99.90% against ≥ 99.9%: {avail}");
    // A summed SLO: one verdict in Σ, the parts without one.
    let tp = screen.lines().find(|l| l.contains("throughput")).unwrap();
    assert!(tp.contains("35/s") && tp.contains("Σ262/s") && tp.matches('✗').count() == 0, "{tp}");
}

#[test]
fn slo_detail_says_why_there_is_no_data_and_a_sum_has_parts() {
    let mut c = cockpit();
    let why = Outcome::TooFew("37 requests in 20s < 100".into());
    c.update(Event::Sample { slo: 0, env: Env::Blue, outcome: why }, Ts(NOW.0 + 500));
    let view = ViewState { focus: Focus::Slos, overlay: Some(Overlay::SloDetail { slo: 0 }), ..Default::default() };
    let screen = text(&render(&c, &view, 120, 40));
    assert!(screen.contains("blue: no data (37 requests in 20s < 100)"), "{screen}");
    let row = screen.lines().find(|l| l.contains("error rate ")).unwrap();
    assert!(row.contains("no data") && !row.contains("5.20%"), "the old value is not shown: {row}");
    let view = ViewState { focus: Focus::Slos, overlay: Some(Overlay::SloDetail { slo: 4 }), ..Default::default() };
    let screen = text(&render(&c, &view, 120, 40));
    assert!(screen.contains("blue: part of the sum"), "no verdict of its own: {screen}");
}

#[test]
fn at_80x24_the_demo_keeps_quit_and_the_triggers_panel_counts_what_it_hides() {
    let mut c = cockpit();
    c.demo = true;
    let screen = text(&render(&c, &ViewState::default(), 80, 24));
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("q quit") && footer.contains("R rollback") && footer.contains("F faults"), "{footer}");
    assert!(screen.contains("6 more · tab lists all"), "{screen}");
    // Both moving triggers stay, with their state words.
    assert!(screen.contains("fires in 0:30") && screen.contains("fires in 0:59"), "{screen}");
    // Focused, every trigger can be reached, and what is off screen is still counted.
    let view = ViewState { focus: Focus::Triggers, ..ViewState::default() };
    let screen = text(&render(&c, &view, 80, 24));
    assert!(screen.contains("more · ↑ ↓ scroll"), "{screen}");
}

#[test]
fn at_scale_health_counts_each_environment_and_lists_each_service_not_up() {
    let mut c = cockpit();
    c.health.clear();
    for env in Env::ALL {
        for i in 0..500 {
            c.health.push(HealthCell::new(format!("svc-{i:03}"), env));
        }
    }
    for (i, cell) in c.health.clone().iter().enumerate() {
        let bad = cell.env == Env::Blue && (cell.service == "svc-007" || cell.service == "svc-123");
        let obs = HealthObservation {
            state: if bad { HealthState::Degraded } else { HealthState::Up },
            latency_ms: Some(2),
            code: Some(200),
            detail: if bad { "warn".into() } else { "pass".into() },
        };
        c.update(Event::Health { target: i, obs }, NOW);
    }
    let screen = text(&render(&c, &ViewState::default(), 120, 40));
    assert!(screen.contains("blue 498/500 up · 2 degraded: svc-007, svc-123"), "{screen}");
    assert!(
        screen.contains("blue svc-007 ○ degraded 200") && screen.contains("blue svc-123 ○ degraded 200"),
        "{screen}"
    );
    assert!(screen.contains("green 500/500 up"), "{screen}");
}

#[test]
fn a_rollback_without_a_reason_says_so_in_the_header_even_while_a_trigger_fires() {
    let mut c = cockpit();
    let i = c.triggers.index_of("data corruption").unwrap();
    c.update(Event::RaiseTrigger { trigger: i, reason: "checksums differ".into() }, NOW);
    c.update(Event::Rollback { reason: String::new() }, NOW);
    let header = text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(header.starts_with(" ROLLING BACK → 0/100 · waiting for the router"), "{header}");
    let seq = c.traffic.pending.as_ref().unwrap().seq;
    c.update(Event::Applied { seq, detail: "webhook: HTTP 200".into() }, NOW);
    let header = text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(header.starts_with(" ROLLED BACK 0/100 · procedure 1/5 · reason not given yet: R gives it"), "{header}");
    assert!(header.contains("still firing: data corruption"), "{header}");
    c.update(Event::AckTrigger(i), NOW);
    c.update(Event::RollbackReason { reason: "blue corrupts orders".into() }, NOW);
    let header = text(&render(&c, &ViewState::default(), 120, 40)).lines().next().unwrap().to_string();
    assert!(header.starts_with(" ROLLED BACK 0/100 · procedure 1/5 · blue corrupts orders"), "{header}");
}

#[test]
fn a_refused_dialog_input_says_why_inside_the_dialog() {
    let c = cockpit();
    let i = c.triggers.index_of("data corruption").unwrap();
    let view = ViewState {
        overlay: Some(Overlay::Reason { trigger: i, raise: true, text: String::new() }),
        dialog_error: Some("a reason is needed; it goes to the log".into()),
        ..Default::default()
    };
    let screen = text(&render(&c, &view, 80, 24));
    let line = screen.lines().find(|l| l.contains("✗ a reason is needed")).unwrap_or_else(|| panic!("{screen}"));
    let before = screen.lines().take_while(|l| !l.contains("✗ a reason is needed")).collect::<Vec<_>>();
    assert!(before.iter().any(|l| l.contains("raise \"data corruption\"")), "inside the dialog:\n{screen}");
    assert!(line.matches('│').count() >= 2, "{line}");

    let view = ViewState {
        overlay: Some(Overlay::Traffic(cutover::view::TrafficDialog {
            rollback: true,
            to: 0,
            needs_reason: false,
            field: cutover::view::Field::Confirm,
            reason: String::new(),
            confirm: String::new(),
            error: Some("not confirmed: type ROLLBACK to send all traffic back to green".into()),
            after: false,
        })),
        ..Default::default()
    };
    let screen = text(&render(&c, &view, 80, 24));
    assert!(screen.contains("✗ not confirmed: type ROLLBACK"), "{screen}");
    assert!(screen.contains("the reason is asked after"), "{screen}");
}

#[test]
fn the_header_and_traffic_panel_say_why_the_healthy_soak_is_paused_and_what_drift_needs() {
    let mut c = cockpit();
    c.traffic.soak_policy.on = cutover::domain::traffic::SoakOn::Healthy;
    c.update(Event::Tick, NOW);
    let screen = text(&render(&c, &ViewState::default(), 120, 40));
    let header = screen.lines().next().unwrap();
    assert!(header.contains("▸ next 25% in 30:00 (paused: blue error rate breach since 15:31:25)"), "{header}");
    assert!(screen.contains("│next 25% in 30:00 (paused: blue error rate breach since 15:31:25)"), "{screen}");
    // At 80 columns the hint gives way to the controls; the traffic panel keeps the reason.
    let mut observer = c.clone();
    observer.controls_held = false;
    observer.controls.shared = true;
    observer.controls.holder = Some("alice@ops1".into());
    let top = text(&render(&observer, &ViewState::default(), 80, 24)).lines().next().unwrap().to_string();
    assert!(top.contains("next 25% paused (30:00) ── observing · alice@ops1"), "{top}");
    // Drift: the panel says which keys resolve it, from the keymap.
    c.update(Event::Weights(Ok(Weights { blue: 25, green: 75 })), Ts(NOW.0 + 10_000));
    let screen = text(&render(&c, &ViewState::default(), 120, 40));
    assert!(screen.contains("DRIFT: V sets the router back to 10% · D adopts the router's split"), "{screen}");
    let dialog = ViewState {
        overlay: Some(Overlay::Traffic(cutover::view::TrafficDialog {
            rollback: false,
            to: 25,
            needs_reason: true,
            field: cutover::view::Field::Reason,
            reason: String::new(),
            confirm: String::new(),
            error: None,
            after: false,
        })),
        ..Default::default()
    };
    let screen = text(&render(&c, &dialog, 120, 40));
    assert!(screen.contains("✗ drift: router says 25/75, cutover expects 10/90"), "{screen}");
    assert!(
        screen.contains("drift cannot be overridden: V sets the router back, D adopts the router's split"),
        "{screen}"
    );
    assert!(
        screen.contains("✗ SLO not ok: blue error rate stale: last read 10s ago; blue p95 latency stale"),
        "{screen}"
    );
    let view = ViewState { overlay: Some(Overlay::Adopt { text: "ops moved it".into() }), ..Default::default() };
    let screen = text(&render(&c, &view, 120, 40));
    assert!(screen.contains("record the router's split 25/75 as the stage (recorded: 10%)"), "{screen}");
    assert!(screen.contains("why? > ops moved it"), "{screen}");
}

#[test]
fn with_one_row_for_health_every_environment_is_counted_on_it() {
    let mut c = cockpit();
    for i in 0..c.health.len() {
        let obs =
            HealthObservation { state: HealthState::Up, latency_ms: Some(2), code: Some(200), detail: "pass".into() };
        c.update(Event::Health { target: i, obs }, NOW);
    }
    let screen = text(&render(&c, &ViewState::default(), 80, 24));
    assert!(screen.contains("blue 6/6 up · green 6/6 up"), "{screen}");
}

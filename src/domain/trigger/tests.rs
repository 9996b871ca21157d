use super::*;
use crate::domain::env::{Env, EnvNames};
use crate::domain::health::{HealthCell, HealthObservation, HealthState};
use crate::domain::slo::{Judge, Outcome, SloRow, SloSpec};

const MIN: i64 = 60_000;
/// 14:02:11 UTC on some day.
const T0: Ts = Ts(20_000 * 86_400_000 + (14 * 3600 + 2 * 60 + 11) * 1000);

fn rows() -> Vec<SloRow> {
    let row = |name: &str, obj: &str| {
        SloRow::new(SloSpec {
            name: name.into(),
            objective: obj.parse().unwrap(),
            judge: Judge::PerEnv,
            interval_ms: 1000,
        })
    };
    vec![row("error rate", "< 1%"), row("p95 latency", "<= 2s"), row("throughput", ">= 200/s")]
}

fn index(name: &str) -> Option<usize> {
    ["error rate", "p95 latency", "throughput"].iter().position(|n| *n == name)
}

fn err5() -> TriggerSpec {
    go_live_defaults(index).remove(0)
}

fn names() -> EnvNames {
    EnvNames::default()
}

fn input<'a>(slos: &'a [SloRow], health: &'a [HealthCell], names: &'a EnvNames) -> Input<'a> {
    Input { slos, health, health_stale_ms: None, env_names: names }
}

fn labels<'a>(slos: &'a [SloRow], names: &'a EnvNames) -> Labels<'a> {
    Labels { env_names: names, slos, utc_offset_secs: 0 }
}

fn at(s: i64) -> Ts {
    T0.plus_ms(s * 1000)
}

#[test]
fn countdowns_and_spans_read_naturally() {
    assert_eq!(format_countdown(228_000), "3:48");
    assert_eq!(format_countdown(227_001), "3:48", "rounds up");
    assert_eq!(format_countdown(0), "0:00");
    assert_eq!(format_countdown(-5), "0:00");
    assert_eq!(format_countdown(30 * MIN), "30:00");
    assert_eq!(format_countdown(3_723_000), "1:02:03");
    assert_eq!(format_span(372_000), "6m12s");
    assert_eq!(format_span(10 * MIN), "10m");
    assert_eq!(format_span(45_500), "45s");
    assert_eq!(format_span(0), "0s");
    assert_eq!(format_span(500), "500ms");
    assert_eq!(format_span(90 * MIN), "1h30m");
    assert_eq!(format_span(60 * MIN), "1h");
    assert_eq!(format_span(3_605_000), "1h00m05s");
    assert_eq!(clock(T0, 0), "14:02:11");
    assert_eq!(clock(T0, 2 * 3600), "16:02:11");
    assert_eq!(clock(Ts(0), -3600), "23:00:00");
}

#[test]
fn progress_counts_down_and_explains_itself() {
    let (mut slos, names) = (rows(), names());
    let spec = err5();
    let mut st = TriggerState::new();
    for s in 0..=372 {
        slos[0].cells[0].record(at(s), Outcome::Value(0.061));
        let ev = evaluate(&mut st, &spec, &input(&slos, &[], &names), at(s));
        if s == 0 {
            assert_eq!(ev, [TriggerEvent::Pending { at: T0, while_firing: false }]);
        } else {
            assert!(ev.is_empty(), "{ev:?}");
        }
    }
    let now = at(372);
    let p = st.progress(&spec, now);
    assert_eq!(p.phase, Phase::Pending { since: T0 });
    assert_eq!(st.fires_in(&spec, now), Some(228_000));
    assert_eq!(p.status_text(), "fires in 3:48");
    assert!((p.fraction - 0.62).abs() < 1e-9);
    assert_eq!(p.breaches, 1);
    let l = labels(&slos, &names);
    assert_eq!(st.reason(&spec, &l, now), "blue error rate 6.10% > 5% since 14:02:11, 6m12s of 10m");
    assert_eq!(st.value_text(&spec, &l), "6.10% > 5%");
    // Between evaluations the countdown moves on; only an evaluation fires.
    assert_eq!(st.fires_in(&spec, at(400)), Some(200_000));
    assert_eq!(st.fires_in(&spec, at(2000)), Some(0));
    assert_eq!(st.phase(), Phase::Pending { since: T0 });
    // Equal readings share one entry of the recent list.
    assert_eq!(st.recent.len(), 1);
    assert_eq!(st.recent[0].count, 373);
    assert_eq!(st.recent[0].text(&spec, &l), "14:02:11 6.10% > 5% breach ×373 until 14:08:23");
}

#[test]
fn fires_at_the_first_evaluation_after_the_duration_then_latches() {
    let spec = err5();
    let mut st = TriggerState::new();
    let breach = || Sample::reading(0.07, Direction::Above, 0.05);
    let ok = || Sample::reading(0.01, Direction::Above, 0.05);
    assert_eq!(st.apply(&spec, breach(), Ts(0)).len(), 1);
    assert!(st.apply(&spec, breach(), Ts(599_999)).is_empty());
    assert_eq!(st.apply(&spec, breach(), Ts(600_000)), [TriggerEvent::Fired { at: Ts(600_000), after_ms: 600_000 }]);
    assert!(st.just_fired());
    assert!(should_auto_rollback(std::slice::from_ref(&st), std::slice::from_ref(&spec), true));
    assert!(!should_auto_rollback(std::slice::from_ref(&st), std::slice::from_ref(&spec), false));
    assert!(st.apply(&spec, breach(), Ts(601_000)).is_empty(), "fires once");
    assert!(!st.just_fired(), "only the evaluation that fired counts as just fired");
    let ev = st.apply(&spec, ok(), Ts(602_000));
    assert_eq!(
        ev,
        [TriggerEvent::Cleared {
            at: Ts(602_000),
            firing_since: Ts(600_000),
            cause: ClearCause::Recovered,
            inactive: false
        }]
    );
    assert_eq!(st.phase(), Phase::Firing { since: Ts(600_000), cleared_at: Some(Ts(602_000)), acknowledged: false });
    assert_eq!(st.progress(&spec, Ts(602_000)).status_text(), "cleared · ack");
    // Breaching again while latched: still firing, no second bell.
    let ev = st.apply(&spec, breach(), Ts(603_000));
    assert_eq!(ev, [TriggerEvent::Pending { at: Ts(603_000), while_firing: true }]);
    assert_eq!(st.phase(), Phase::Firing { since: Ts(600_000), cleared_at: None, acknowledged: false });
    assert!(st.apply(&spec, breach(), Ts(1_300_000)).is_empty());
    st.apply(&spec, ok(), Ts(1_301_000));
    let ev = st.acknowledge(&spec, Ts(1_302_000), "alice").unwrap();
    assert_eq!(ev, [TriggerEvent::Acknowledged { at: Ts(1_302_000), by: "alice".into(), still_breaching: false }]);
    assert_eq!(st.phase(), Phase::Inactive);
    assert!(matches!(st.acknowledge(&spec, Ts(1_303_000), "alice"), Err(TriggerError::NotFiring(_))));
}

#[test]
fn acknowledging_a_breaching_trigger_keeps_it_firing_until_it_clears() {
    let spec = TriggerSpec { for_ms: 0, ..err5() };
    let mut st = TriggerState::new();
    let ev = st.apply(&spec, Sample::reading(0.07, Direction::Above, 0.05), Ts(0));
    assert_eq!(ev, [TriggerEvent::Fired { at: Ts(0), after_ms: 0 }], "for 0 fires at once, without pending");
    st.acknowledge(&spec, Ts(1000), "bob").unwrap();
    assert!(!st.just_fired(), "acknowledged: no automatic rollback");
    assert_eq!(st.phase(), Phase::Firing { since: Ts(0), cleared_at: None, acknowledged: true });
    assert_eq!(st.progress(&spec, Ts(1000)).status_text(), "firing · acked");
    assert!(
        matches!(st.acknowledge(&spec, Ts(1500), "eve"), Err(TriggerError::AlreadyAcknowledged { by, .. }) if by == "bob")
    );
    st.apply(&spec, Sample::reading(0.07, Direction::Above, 0.05), Ts(2000));
    assert!(st.phase().is_firing());
    let ev = st.apply(&spec, Sample::reading(0.01, Direction::Above, 0.05), Ts(3000));
    assert!(matches!(ev[..], [TriggerEvent::Cleared { inactive: true, .. }]), "{ev:?}");
    assert_eq!(st.phase(), Phase::Inactive);
}

#[test]
fn policies_do_what_they_say() {
    let nodata = || Sample::NoData { why: "empty".into() };
    let error = || Sample::Error { why: "HTTP 500".into(), stale: false };
    let breach = || Sample::reading(0.07, Direction::Above, 0.05);
    for (policy, gap) in [(Policy::Hold, nodata as fn() -> Sample), (Policy::Hold, error)] {
        let spec = TriggerSpec { no_data: policy, on_error: policy, ..err5() };
        let mut st = TriggerState::new();
        st.apply(&spec, breach(), Ts(0));
        st.apply(&spec, breach(), Ts(60_000));
        assert!(st.apply(&spec, gap(), Ts(120_000)).is_empty());
        assert!(st.is_held());
        assert_eq!(st.elapsed_ms(Ts(500_000)), 60_000, "held: the timer does not advance");
        assert_eq!(st.progress(&spec, Ts(500_000)).status_text(), "held 9:00 left");
        st.apply(&spec, gap(), Ts(400_000));
        st.apply(&spec, breach(), Ts(500_000));
        assert_eq!(st.phase(), Phase::Pending { since: Ts(0) }, "and does not reset");
        assert_eq!(st.elapsed_ms(Ts(500_000)), 60_000, "the gap around the hold is not counted");
        st.apply(&spec, breach(), Ts(1_040_000));
        assert!(st.phase().is_firing(), "fires once 10m of breach are counted");
    }
    for gap in [nodata as fn() -> Sample, error] {
        let spec = TriggerSpec { no_data: Policy::Reset, on_error: Policy::Reset, ..err5() };
        let mut st = TriggerState::new();
        st.apply(&spec, breach(), Ts(0));
        let ev = st.apply(&spec, gap(), Ts(1000));
        assert!(matches!(ev[..], [TriggerEvent::Reset { after_ms: 0, .. }]), "{ev:?}");
        assert_eq!(st.phase(), Phase::Inactive);
        let spec = TriggerSpec { no_data: Policy::Breach, on_error: Policy::Breach, ..err5() };
        let mut st = TriggerState::new();
        assert!(matches!(st.apply(&spec, gap(), Ts(0))[..], [TriggerEvent::Pending { .. }]));
        st.apply(&spec, breach(), Ts(300_000));
        assert!(matches!(st.apply(&spec, gap(), Ts(600_000))[..], [TriggerEvent::Fired { .. }]));
    }
}

#[test]
fn stale_readings_count_as_errors() {
    let (mut slos, names) = (rows(), names());
    let spec = TriggerSpec { no_data: Policy::Hold, on_error: Policy::Reset, ..err5() };
    let mut st = TriggerState::new();
    slos[0].cells[0].record(at(0), Outcome::Value(0.08));
    evaluate(&mut st, &spec, &input(&slos, &[], &names), at(0));
    evaluate(&mut st, &spec, &input(&slos, &[], &names), at(2));
    assert!(matches!(st.phase(), Phase::Pending { .. }));
    let ev = evaluate(&mut st, &spec, &input(&slos, &[], &names), at(3));
    assert!(matches!(ev[..], [TriggerEvent::Reset { cause: ClearCause::Error, .. }]), "{ev:?}");
    let seen = st.last_seen().unwrap();
    assert!(matches!(&seen.sample, Sample::Error { stale: true, why } if why.contains("stale")), "{seen:?}");
    assert_eq!(seen.policy, Some(Policy::Reset));
    let l = labels(&slos, &names);
    assert_eq!(st.value_text(&spec, &l), "stale · reset");
}

#[test]
fn relative_to_the_other_environment() {
    let (mut slos, names) = (rows(), names());
    let spec = go_live_defaults(index).into_iter().find(|t| t.name == "p95 > 1.5× green").unwrap();
    let mut st = TriggerState::new();
    let feed = |st: &mut TriggerState, slos: &mut Vec<SloRow>, s: i64, blue: Option<f64>, green: Option<f64>| {
        for (env, v) in [(Env::Blue, blue), (Env::Green, green)] {
            let o = v.map_or(Outcome::NoData, Outcome::Value);
            slos[1].cells[env.index()].record(at(s), o);
        }
        evaluate(st, &spec, &input(slos, &[], &names), at(s))
    };
    assert!(feed(&mut st, &mut slos, 0, Some(1.2), Some(0.81)).is_empty(), "1.2s ≤ 1.215s");
    assert_eq!(feed(&mut st, &mut slos, 1, Some(1.31), Some(0.81)).len(), 1, "1.31s > 1.5 × 0.81s");
    let ev = feed(&mut st, &mut slos, 2, Some(1.31), Some(0.9));
    assert!(ev.iter().any(|e| matches!(e, TriggerEvent::Reset { .. })));
    feed(&mut st, &mut slos, 3, Some(2.0), Some(0.9));
    assert!(feed(&mut st, &mut slos, 4, Some(2.0), None).is_empty(), "green no data: hold");
    assert!(st.is_held());
    let why = st.reason(&spec, &labels(&slos, &names), at(4));
    assert!(why.contains("green p95 latency: no data") && why.contains("policy hold, held since 14:02:15"), "{why}");
    feed(&mut st, &mut slos, 5, Some(2.0), Some(0.9));
    let l = labels(&slos, &names);
    assert_eq!(
        st.reason(&spec, &l, at(5)),
        "blue p95 latency 2.00s > 1.5× green 0.90s (1.35s) since 14:02:14, 0s of 30m",
        "the gaps around the held evaluation are not counted"
    );
    assert_eq!(st.value_text(&spec, &l), "2.00s > 1.5× 0.90s");
}

#[test]
fn relative_to_the_baseline_captured_at_the_stage_start() {
    let (mut slos, names) = (rows(), names());
    let cond = Condition::Relative {
        slo: 2,
        env: Env::Blue,
        cmp: Direction::Below,
        factor: 0.5,
        reference: Reference::Baseline,
    };
    let mut t = Triggers::new(vec![TriggerSpec::new("throughput halved", Tier::Planned, cond, MIN)]);
    // Nothing read yet: no baseline, no data, held.
    t.reset_stage(&input(&slos, &[], &names), at(0));
    assert_eq!(t.states[0].baseline, None);
    slos[2].cells[0].record(at(1), Outcome::Value(400.0));
    t.evaluate_all(&input(&slos, &[], &names), at(1));
    assert_eq!(t.states[0].baseline, Some(Baseline { value: 400.0, at: at(1) }), "captured at the first reading");
    slos[2].cells[0].record(at(2), Outcome::Value(190.0));
    let ev = t.evaluate_all(&input(&slos, &[], &names), at(2));
    assert!(matches!(ev[..], [(0, TriggerEvent::Pending { .. })]), "190/s < 0.5 × 400/s");
    // The next stage recaptures from the current reading: 190 is the new normal.
    t.reset_stage(&input(&slos, &[], &names), at(3));
    assert_eq!(t.states[0].baseline.map(|b| b.value), Some(190.0));
    assert_eq!(t.states[0].breaches(), 1, "the streak in progress counts for the new stage");
    let ev = t.evaluate_all(&input(&slos, &[], &names), at(3));
    assert!(matches!(ev[..], [(0, TriggerEvent::Reset { .. })]), "{ev:?}");
    slos[2].cells[0].record(at(4), Outcome::Value(90.0));
    t.evaluate_all(&input(&slos, &[], &names), at(4));
    let l = labels(&slos, &names);
    assert_eq!(
        t.states[0].reason(&t.specs[0], &l, at(4)),
        "blue throughput 90/s < 0.5× baseline 190/s (95/s) since 14:02:15, 0s of 1m; baseline 190/s captured 14:02:14"
    );
}

fn obs(state: HealthState) -> HealthObservation {
    HealthObservation { state, latency_ms: None, code: None, detail: String::new() }
}

#[test]
fn outage_needs_every_check_of_the_environment_down() {
    let names = names();
    let spec = go_live_defaults(index).into_iter().find(|t| t.name == "outage").unwrap();
    let mut health: Vec<HealthCell> = ["api", "web", "worker"].iter().map(|s| HealthCell::new(*s, Env::Blue)).collect();
    health.push(HealthCell::new("api", Env::Green));
    let mut st = TriggerState::new();
    let mut eval = |health: &[HealthCell], s: i64| {
        let inp = Input { slos: &[], health, health_stale_ms: Some(30_000), env_names: &names };
        evaluate(&mut st, &spec, &inp, at(s))
    };
    assert!(eval(&health, 0).is_empty());
    health[0].last = Some((at(0), obs(HealthState::Down)));
    health[1].last = Some((at(0), obs(HealthState::Unreachable)));
    assert!(eval(&health, 1).is_empty(), "one check not answered yet: no data, held");
    health[2].last = Some((at(1), obs(HealthState::Degraded)));
    assert!(eval(&health, 2).is_empty(), "degraded is not down");
    health[2].last = Some((at(3), obs(HealthState::Down)));
    health[3].last = Some((at(3), obs(HealthState::Down)));
    assert!(matches!(eval(&health, 3)[..], [TriggerEvent::Pending { .. }]), "every blue check down");
    for s in [62, 63] {
        for c in &mut health[..3] {
            c.last = Some((at(s), obs(HealthState::Down)));
        }
        if s == 62 {
            assert!(eval(&health, 62).is_empty(), "59s");
        }
    }
    assert!(matches!(eval(&health, 63)[..], [TriggerEvent::Fired { after_ms: 60_000, .. }]));
    health[0].last = Some((at(64), obs(HealthState::Up)));
    assert!(matches!(eval(&health, 64)[..], [TriggerEvent::Cleared { .. }]));
    // Observations older than the stale limit count as errors when nothing is up.
    let mut st = TriggerState::new();
    let spec = TriggerSpec { on_error: Policy::Breach, ..spec.clone() };
    let inp = Input { slos: &[], health: &health[1..3], health_stale_ms: Some(30_000), env_names: &names };
    assert!(evaluate(&mut st, &spec, &inp, at(200)).iter().any(|e| matches!(e, TriggerEvent::Pending { .. })));
    assert!(matches!(st.last_seen().unwrap().sample, Sample::Error { stale: true, .. }));
}

#[test]
fn manual_triggers_are_raised_and_lowered_with_a_reason() {
    let (slos, names) = (rows(), names());
    let mut t = Triggers::new(go_live_defaults(index));
    let i = t.index_of("critical security vulnerability").unwrap();
    assert!(matches!(t.raise(0, at(0), "alice", "x"), Err(TriggerError::NotManual(_))));
    assert!(matches!(t.raise(i, at(0), "alice", "  "), Err(TriggerError::NoReason(_))));
    assert!(matches!(t.lower(i, at(0), "alice", "fine"), Err(TriggerError::NotRaised(_))));
    assert!(matches!(t.raise(99, at(0), "alice", "x"), Err(TriggerError::Unknown(99))));
    let ev = t.raise(i, at(0), "alice", "CVE-2025-0001 in auth").unwrap();
    assert_eq!(ev, [TriggerEvent::Raised { at: at(0), by: "alice".into(), reason: "CVE-2025-0001 in auth".into() }]);
    assert!(ev[0].rings_bell());
    assert_eq!(t.auto_rollback(true), Some(i), "an immediate manual trigger asks for rollback");
    assert_eq!(t.auto_rollback(false), None);
    assert!(matches!(t.raise(i, at(1), "bob", "again"), Err(TriggerError::AlreadyRaised { by, .. }) if by == "alice"));
    assert!(t.evaluate_all(&input(&slos, &[], &names), at(0)).is_empty());
    assert_eq!(t.auto_rollback(true), Some(i), "an evaluation at the same time keeps it just fired");
    t.evaluate_all(&input(&slos, &[], &names), at(90));
    assert_eq!(t.auto_rollback(true), None);
    let st = &t.states[i];
    let l = labels(&slos, &names);
    assert_eq!(st.reason(&t.specs[i], &l, at(90)), "raised by alice at 14:02:11: CVE-2025-0001 in auth");
    assert_eq!(st.value_text(&t.specs[i], &l), "CVE-2025-0001 in auth");
    assert_eq!(st.progress(&t.specs[i], at(90)).status_text(), "RAISED");
    assert_eq!(st.elapsed_ms(at(100)), 100_000);
    let ev = t.lower(i, at(120), "bob", "patched, verified").unwrap();
    assert!(matches!(&ev[..], [TriggerEvent::Lowered { by, .. }] if by == "bob"));
    let st = &t.states[i];
    assert_eq!(st.phase(), Phase::Inactive, "lowering acknowledges");
    assert_eq!(st.history_text(at(200)), "1 breach this stage, longest 2m, 2m in breach, fired 1×");
    assert_eq!(st.reason(&t.specs[i], &l, at(200)), "not raised; lowered by bob at 14:04:11: patched, verified");
    assert_eq!(st.progress(&t.specs[i], at(200)).status_text(), "not raised");
}

#[test]
fn history_counts_streaks_per_stage() {
    let spec = err5();
    let mut st = TriggerState::new();
    let b = || Sample::reading(0.07, Direction::Above, 0.05);
    let ok = || Sample::reading(0.0, Direction::Above, 0.05);
    st.apply(&spec, b(), Ts(0));
    st.apply(&spec, b(), Ts(30_000));
    st.apply(&spec, ok(), Ts(45_000));
    st.apply(&spec, b(), Ts(60_000));
    st.apply(&spec, b(), Ts(100_000));
    assert_eq!(st.breaches(), 2);
    assert_eq!(st.longest_streak_ms(Ts(100_000)), 40_000);
    assert_eq!(st.total_breach_ms(Ts(100_000)), 70_000);
    assert_eq!(st.history_text(Ts(100_000)), "2 breaches this stage, longest 40s, 1m10s in breach, fired 0×");
    st.reset_stage(Ts(100_000));
    st.apply(&spec, b(), Ts(110_000));
    assert_eq!(st.breaches(), 1);
    assert_eq!(st.total_breach_ms(Ts(110_000)), 10_000, "only this stage's part of the streak");
    assert_eq!(st.phase(), Phase::Pending { since: Ts(60_000) }, "a stage change does not reset the timer");
    st.apply(&spec, ok(), Ts(120_000));
    assert_eq!(st.longest_streak_ms(Ts(200_000)), 10_000);
    assert_eq!(st.history.stage_started, Some(Ts(100_000)));
}

#[test]
fn state_round_trips_through_json_with_infinities() {
    let spec = TriggerSpec { for_ms: 0, ..err5() };
    let mut st = TriggerState::new();
    st.apply(&spec, Sample::reading(f64::INFINITY, Direction::Above, 0.05), Ts(5));
    st.apply(&spec, Sample::NoData { why: "empty".into() }, Ts(6));
    st.set_baseline(0.81, Ts(1));
    st.acknowledge(&spec, Ts(7), "alice").unwrap();
    let json = serde_json::to_string(&st).unwrap();
    assert!(json.contains("\"+Inf\""), "{json}");
    let back: TriggerState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, st);
    let mut t = Triggers::new(vec![spec.clone(), TriggerSpec::manual("new", Tier::Planned)]);
    let mut saved = BTreeMap::new();
    saved.insert(spec.name.clone(), back);
    saved.insert("gone".to_string(), TriggerState::new());
    t.restore(saved);
    assert!(t.states[0].phase().is_firing());
    assert_eq!(t.states[1], TriggerState::new());
    assert_eq!(t.firing().collect::<Vec<_>>(), [0]);
    assert!(!t.states[0].just_fired(), "a restored trigger never asks for rollback again");
}

#[test]
fn event_lines_for_the_log() {
    let spec = err5();
    assert_eq!(
        TriggerEvent::Pending { at: Ts(0), while_firing: false }.text(&spec),
        "immediate trigger \"error rate > 5%\" pending: fires in 10:00 if the breach holds"
    );
    assert_eq!(
        TriggerEvent::Fired { at: Ts(0), after_ms: 600_500 }.text(&spec),
        "immediate trigger \"error rate > 5%\" FIRED after 10m in breach"
    );
    let c = TriggerEvent::Cleared { at: Ts(0), firing_since: Ts(0), cause: ClearCause::NoData, inactive: false };
    assert_eq!(
        c.text(&spec),
        "immediate trigger \"error rate > 5%\" cleared (no data (policy: reset)); still firing until acknowledged"
    );
    assert!(!c.rings_bell());
}

mod props {
    use proptest::prelude::*;

    use super::*;

    /// One evaluation: the gap since the previous one and what it saw.
    fn step() -> impl Strategy<Value = (i64, u8)> {
        (1_000i64..90_000, 0u8..4)
    }

    fn sample(kind: u8) -> Sample {
        match kind {
            0 => Sample::reading(0.07, Direction::Above, 0.05),
            1 => Sample::reading(0.01, Direction::Above, 0.05),
            2 => Sample::NoData { why: "empty".into() },
            _ => Sample::Error { why: "HTTP 503".into(), stale: false },
        }
    }

    fn policy(p: u8) -> Policy {
        [Policy::Hold, Policy::Reset, Policy::Breach][p as usize % 3]
    }

    proptest! {
        /// The breach time a trigger reports always equals a direct count: the gaps between
        /// consecutive evaluations that both counted as breach, with nothing held between them.
        #[test]
        fn elapsed_matches_a_direct_count(
            steps in proptest::collection::vec(step(), 1..80),
            nd in 0u8..3,
            er in 0u8..3,
        ) {
            let spec = TriggerSpec { no_data: policy(nd), on_error: policy(er), ..err5() };
            let mut st = TriggerState::new();
            let (mut t, mut counted, mut prev_breach, mut in_streak) = (0i64, 0i64, false, false);
            for (gap, kind) in steps {
                t += gap;
                let by = |p: Policy| match p {
                    Policy::Hold => Effect::Hold,
                    Policy::Reset => Effect::Clear,
                    Policy::Breach => Effect::Breach,
                };
                let effect = match kind {
                    0 => Effect::Breach,
                    1 => Effect::Clear,
                    2 => by(spec.no_data),
                    _ => by(spec.on_error),
                };
                match effect {
                    Effect::Breach => {
                        if in_streak && prev_breach { counted += gap; }
                        if !in_streak { counted = 0; }
                        in_streak = true;
                        prev_breach = true;
                    }
                    Effect::Hold => prev_breach = false,
                    Effect::Clear => { in_streak = false; prev_breach = false; counted = 0; }
                }
                st.apply(&spec, sample(kind), Ts(t));
                prop_assert_eq!(st.streak.is_some(), in_streak);
                prop_assert_eq!(st.streak.map_or(0, |s| s.elapsed_ms), counted);
                prop_assert_eq!(st.last_seen().unwrap().effect, effect);
            }
        }
    }
}

#[test]
fn a_trigger_that_cannot_read_its_input_says_so_never_ok() {
    let (mut slos, names) = (rows(), names());
    let spec = err5();
    let mut st = TriggerState::new();
    let eval = |st: &mut TriggerState, slos: &[SloRow], t: i64| evaluate(st, &spec, &input(slos, &[], &names), at(t));
    slos[0].cells[0].record(at(0), Outcome::Value(0.001));
    eval(&mut st, &slos, 0);
    assert_eq!(st.progress(&spec, at(0)).status_text_at(&labels(&slos, &names)), "ok", "a reading within the limit");
    for t in [1, 2] {
        slos[0].cells[0].record(at(t), Outcome::Error("HTTP 503 from http://b1/metrics".into()));
        eval(&mut st, &slos, t);
    }
    let p = st.progress(&spec, at(2));
    assert_eq!(p.input.map(|i| (i.what, i.since)), Some(("input error", at(1))));
    assert_eq!(p.status_text_at(&labels(&slos, &names)), "holding: input error since 14:02", "since its first error");
    assert_eq!(p.status_text(), "holding: input error");
    // Stale: no answer for more than twice the interval.
    eval(&mut st, &slos, 20);
    let p = st.progress(&spec, at(20));
    assert_eq!(p.input.map(|i| i.what), Some("input stale"), "{p:?}");
    assert!(p.status_text_at(&labels(&slos, &names)).starts_with("holding: input stale since "));
    // A thin window: no data is not ok either.
    slos[0].cells[0].record(at(200), Outcome::TooFew("37 requests in 60s < 100".into()));
    eval(&mut st, &slos, 200);
    assert_eq!(st.progress(&spec, at(200)).status_text_at(&labels(&slos, &names)), "holding: no data since 14:05");
    // A reset policy says it reset.
    let reset = TriggerSpec { on_error: Policy::Reset, ..err5() };
    let mut st = TriggerState::new();
    slos[0].cells[0].record(at(299), Outcome::Value(0.001));
    slos[0].cells[0].record(at(300), Outcome::Error("refused".into()));
    evaluate(&mut st, &reset, &input(&slos, &[], &names), at(300));
    assert_eq!(st.progress(&reset, at(300)).status_text(), "reset: input error");
    // Reading again: ok.
    slos[0].cells[0].record(at(301), Outcome::Value(0.001));
    evaluate(&mut st, &reset, &input(&slos, &[], &names), at(301));
    assert_eq!(st.progress(&reset, at(301)).status_text(), "ok");
}

#[test]
fn a_reading_beside_its_limit_has_the_digits_to_show_the_side() {
    let (mut slos, names) = (rows(), names());
    let spec = err5();
    let mut st = TriggerState::new();
    slos[0].cells[0].record(at(0), Outcome::Value(0.05003));
    evaluate(&mut st, &spec, &input(&slos, &[], &names), at(0));
    assert_eq!(st.value_text(&spec, &labels(&slos, &names)), "5.003% > 5%", "not 5.00% > 5%");
}

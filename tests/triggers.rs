//! Rollback triggers through the public API, in virtual time: random evaluation sequences with
//! jittered intervals and breach / ok / no-data / error outcomes.

use cutover::domain::env::{Env, EnvNames};
use cutover::domain::health::{HealthCell, HealthObservation, HealthState};
use cutover::domain::slo::{Judge, Outcome, SloRow, SloSpec};
use cutover::domain::time::Ts;
use cutover::domain::trigger::{
    ClearCause, Condition, Direction, Effect, Input, Phase, Policy, Reference, Sample, Tier, TriggerEvent, TriggerSpec,
    TriggerState, Triggers, evaluate, go_live_defaults, should_auto_rollback,
};
use proptest::prelude::*;

/// Far beyond any gap the generators make, so readings never go stale unless a test wants them to.
const SLO_INTERVAL_MS: i64 = 3_600_000;

fn row(name: &str, objective: &str) -> SloRow {
    SloRow::new(SloSpec {
        name: name.into(),
        objective: objective.parse().unwrap(),
        judge: Judge::PerEnv,
        interval_ms: SLO_INTERVAL_MS,
    })
}

fn error_rate_trigger(for_ms: i64, no_data: Policy, on_error: Policy) -> TriggerSpec {
    let cond = Condition::Threshold { slo: 0, env: Env::Blue, cmp: Direction::Above, value: 0.05 };
    TriggerSpec { no_data, on_error, ..TriggerSpec::new("err", Tier::Immediate, cond, for_ms) }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Breach,
    Ok,
    NoData,
    Error,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![4 => Just(Kind::Breach), 2 => Just(Kind::Ok), 1 => Just(Kind::NoData), 1 => Just(Kind::Error)]
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![Just(Policy::Hold), Just(Policy::Reset), Just(Policy::Breach)]
}

/// Evaluation times with jitter: a base interval, each gap within ±50 % of it (often exactly it, so
/// streaks land on the duration exactly).
fn schedule(n: std::ops::Range<usize>) -> impl Strategy<Value = (i64, Vec<(f64, Kind)>)> {
    let jitter = prop_oneof![Just(1.0f64), 0.5f64..1.5];
    (prop_oneof![Just(10_000i64), 1_000i64..60_000], proptest::collection::vec((jitter, kind()), n))
}

/// A duration: often a whole number of 10 s intervals, so exact boundaries get tested.
fn duration(max: i64) -> impl Strategy<Value = i64> {
    prop_oneof![(0..max / 10_000).prop_map(|k| k * 10_000), 0..max]
}

fn outcome(kind: Kind, rng: f64) -> Outcome {
    match kind {
        Kind::Breach => Outcome::Value(0.05 + 0.001 + rng * 0.1),
        Kind::Ok => Outcome::Value(rng * 0.05),
        Kind::NoData => Outcome::NoData,
        Kind::Error => Outcome::Error("HTTP 503 from prometheus".into()),
    }
}

fn effect(kind: Kind, spec: &TriggerSpec) -> Effect {
    let by = |p: Policy| match p {
        Policy::Hold => Effect::Hold,
        Policy::Reset => Effect::Clear,
        Policy::Breach => Effect::Breach,
    };
    match kind {
        Kind::Breach => Effect::Breach,
        Kind::Ok => Effect::Clear,
        Kind::NoData => by(spec.no_data),
        Kind::Error => by(spec.on_error),
    }
}

/// A plain model of the documented semantics, to compare phases with.
#[derive(Debug, Default)]
struct Model {
    /// (since, counted, last breach, held)
    streak: Option<(i64, i64, i64, bool)>,
    /// (since, cleared_at, acknowledged)
    firing: Option<(i64, Option<i64>, bool)>,
}

impl Model {
    fn step(&mut self, effect: Effect, t: i64, for_ms: i64) {
        match effect {
            Effect::Breach => {
                let started = self.streak.is_none();
                let s = self.streak.get_or_insert((t, 0, t, false));
                if !started && !s.3 {
                    s.1 += t - s.2;
                }
                s.2 = t;
                s.3 = false;
                let counted = s.1;
                match &mut self.firing {
                    None if counted >= for_ms => self.firing = Some((t, None, false)),
                    Some(f) if started => f.1 = None,
                    _ => {}
                }
            }
            Effect::Hold => {
                if let Some(s) = &mut self.streak {
                    s.3 = true;
                }
            }
            Effect::Clear => {
                if self.streak.take().is_some() {
                    match &mut self.firing {
                        Some((_, _, true)) => self.firing = None,
                        Some(f) => f.1 = Some(t),
                        None => {}
                    }
                }
            }
        }
    }

    fn ack(&mut self) {
        match &mut self.firing {
            Some((_, Some(_), _)) => self.firing = None,
            Some(f) => f.2 = true,
            None => {}
        }
    }

    fn phase(&self) -> Phase {
        match (self.firing, self.streak) {
            (Some((since, cleared, acked)), _) => {
                Phase::Firing { since: Ts(since), cleared_at: cleared.map(Ts), acknowledged: acked }
            }
            (None, Some((since, ..))) => Phase::Pending { since: Ts(since) },
            (None, None) => Phase::Inactive,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any sequence of outcomes under any policies, read from a real SLO cell, with acknowledgements
    /// sprinkled in: the trigger's phase is the model's at every step, a good evaluation always ends
    /// a streak, and a held one changes nothing.
    #[test]
    fn phases_follow_the_documented_semantics(
        (base, steps) in schedule(1..120),
        for_ms in duration(600_000),
        no_data in policy(),
        on_error in policy(),
        acks in proptest::collection::vec(any::<bool>(), 120),
    ) {
        let spec = error_rate_trigger(for_ms, no_data, on_error);
        let names = EnvNames::default();
        let mut slos = vec![row("error rate", "< 1%")];
        let mut st = TriggerState::new();
        let mut model = Model::default();
        let mut t = 1_000_000i64;
        for (i, (jitter, kind)) in steps.into_iter().enumerate() {
            t += (base as f64 * jitter) as i64;
            slos[0].cells[0].record(Ts(t), outcome(kind, jitter - 0.5));
            let before = st.clone();
            let input = Input { slos: &slos, health: &[], health_stale_ms: None, env_names: &names };
            let events = evaluate(&mut st, &spec, &input, Ts(t));
            let eff = effect(kind, &spec);
            model.step(eff, t, for_ms);
            prop_assert_eq!(st.phase(), model.phase(), "step {} at {}: {:?} -> {:?}", i, t, kind, eff);
            prop_assert_eq!(st.last_seen().unwrap().effect, eff);
            match eff {
                Effect::Clear => prop_assert!(st.streak.is_none(), "a good evaluation ends the streak"),
                Effect::Hold => {
                    prop_assert_eq!(st.phase(), before.phase());
                    prop_assert_eq!(st.streak.map(|s| (s.since, s.elapsed_ms)), before.streak.map(|s| (s.since, s.elapsed_ms)));
                    prop_assert!(events.is_empty());
                    prop_assert_eq!(st.last_seen().unwrap().policy, Some(if kind == Kind::NoData { no_data } else { on_error }));
                }
                Effect::Breach => prop_assert!(st.streak.is_some()),
            }
            // Fired exactly when the phase became firing.
            let fired = events.iter().filter(|e| matches!(e, TriggerEvent::Fired { .. })).count();
            prop_assert_eq!(fired, usize::from(!before.phase().is_firing() && st.phase().is_firing()));
            prop_assert!(events.iter().all(|e| e.at() == Ts(t)));
            if let Some(s) = st.streak {
                prop_assert!(s.elapsed_ms <= t - s.since.0, "counted time never exceeds the streak's age");
            }
            if acks[i] {
                let r = st.acknowledge(&spec, Ts(t), "alice");
                prop_assert_eq!(r.is_ok(), model.firing.is_some_and(|f| !f.2));
                model.ack();
                prop_assert_eq!(st.phase(), model.phase());
            }
        }
    }

    /// Without holds: the trigger never fires before the breach has lasted `for`, and fires at the first
    /// evaluation at or after that, so within one evaluation interval.
    #[test]
    fn fires_on_time_never_early(
        (base, steps) in schedule(1..150),
        for_ms in duration(900_000),
        no_data in prop_oneof![Just(Policy::Reset), Just(Policy::Breach)],
        on_error in prop_oneof![Just(Policy::Reset), Just(Policy::Breach)],
    ) {
        let spec = error_rate_trigger(for_ms, no_data, on_error);
        let mut st = TriggerState::new();
        let mut run_start: Option<i64> = None;
        let mut t = 0i64;
        for (jitter, kind) in steps {
            let gap = (base as f64 * jitter) as i64;
            t += gap;
            let sample = match kind {
                Kind::Breach => Sample::reading(0.07, Direction::Above, 0.05),
                Kind::Ok => Sample::reading(0.01, Direction::Above, 0.05),
                Kind::NoData => Sample::NoData { why: "empty".into() },
                Kind::Error => Sample::Error { why: "503".into(), stale: false },
            };
            let was_firing = st.phase().is_firing();
            let events = st.apply(&spec, sample, Ts(t));
            match effect(kind, &spec) {
                Effect::Breach => {
                    let start = *run_start.get_or_insert(t);
                    if events.iter().any(|e| matches!(e, TriggerEvent::Fired { .. })) {
                        prop_assert!(t - start >= for_ms, "fired {}ms into a {}ms condition", t - start, for_ms);
                        prop_assert!(t - start - for_ms < gap.max(1) || for_ms == 0, "late by more than one interval");
                    }
                    if t - start >= for_ms {
                        prop_assert!(st.phase().is_firing(), "breach held {}ms of {}ms but not firing", t - start, for_ms);
                    } else if !was_firing {
                        prop_assert!(!st.phase().is_firing());
                    }
                }
                _ => {
                    run_start = None;
                    prop_assert!(!matches!(st.phase(), Phase::Pending { .. }), "one good evaluation resets pending");
                    if let Phase::Firing { cleared_at, .. } = st.phase() {
                        prop_assert!(cleared_at.is_some(), "firing reports when it cleared");
                    }
                }
            }
        }
    }

    /// `Breach` policy: no data (or an error) does exactly what a breaching reading does; `Reset`:
    /// exactly what a good reading does (apart from the recorded reason).
    #[test]
    fn breach_and_reset_policies_stand_in_for_readings(
        (base, steps) in schedule(1..100),
        for_ms in duration(600_000),
        on_no_data_breach in any::<bool>(),
    ) {
        let p = if on_no_data_breach { Policy::Breach } else { Policy::Reset };
        let spec = error_rate_trigger(for_ms, p, p);
        let mut real = TriggerState::new();
        let mut stand_in = TriggerState::new();
        let mut t = 0;
        for (jitter, kind) in steps {
            t += (base as f64 * jitter) as i64;
            let (good, bad) = (
                Sample::reading(0.01, Direction::Above, 0.05),
                Sample::reading(0.07, Direction::Above, 0.05),
            );
            let (a, b) = match kind {
                Kind::Breach => (bad.clone(), bad),
                Kind::Ok => (good.clone(), good),
                Kind::NoData => (Sample::NoData { why: "empty".into() }, if on_no_data_breach { bad } else { good }),
                Kind::Error => (Sample::Error { why: "x".into(), stale: true }, if on_no_data_breach { bad } else { good }),
            };
            let ea = real.apply(&spec, a, Ts(t));
            let eb = stand_in.apply(&spec, b, Ts(t));
            prop_assert_eq!(real.phase(), stand_in.phase());
            prop_assert_eq!(real.streak, stand_in.streak);
            let strip = |e: &[TriggerEvent]| -> Vec<TriggerEvent> {
                e.iter().map(|e| match e.clone() {
                    TriggerEvent::Reset { at, after_ms, .. } => TriggerEvent::Reset { at, after_ms, cause: ClearCause::Recovered },
                    TriggerEvent::Cleared { at, firing_since, inactive, .. } => TriggerEvent::Cleared { at, firing_since, inactive, cause: ClearCause::Recovered },
                    other => other,
                }).collect()
            };
            prop_assert_eq!(strip(&ea), strip(&eb));
        }
    }

    /// Blue P95 against 1.5 × green's, read at the same evaluation: the streak exists exactly while blue
    /// is above, and missing green data holds.
    #[test]
    fn relative_to_the_other_environment(
        values in proptest::collection::vec((0.05f64..3.0, proptest::option::weighted(0.9, 0.05f64..3.0)), 1..80),
        gap in 1_000i64..30_000,
    ) {
        let names = EnvNames::default();
        let mut slos = vec![row("error rate", "< 1%"), row("p95 latency", "<= 2s")];
        let spec = go_live_defaults(|n| ["error rate", "p95 latency"].iter().position(|x| *x == n))
            .into_iter().find(|t| matches!(t.condition, Condition::Relative { .. })).unwrap();
        let mut st = TriggerState::new();
        let mut t = 0;
        for (blue, green) in values {
            t += gap;
            slos[1].cells[0].record(Ts(t), Outcome::Value(blue));
            slos[1].cells[1].record(Ts(t), green.map_or(Outcome::NoData, Outcome::Value));
            let before = st.streak;
            evaluate(&mut st, &spec, &Input { slos: &slos, health: &[], health_stale_ms: None, env_names: &names }, Ts(t));
            match green {
                Some(g) => prop_assert_eq!(st.streak.is_some(), blue > 1.5 * g, "blue {} green {}", blue, g),
                None => {
                    prop_assert_eq!(st.streak.map(|s| s.since), before.map(|s| s.since));
                    prop_assert_eq!(st.last_seen().unwrap().effect, Effect::Hold);
                }
            }
        }
    }

    /// Against the baseline: captured at the stage start (or at the first reading after it), and the
    /// streak exists exactly while the value is beyond factor × that baseline.
    #[test]
    fn relative_to_the_stage_baseline(
        stages in proptest::collection::vec((1.0f64..500.0, proptest::collection::vec(1.0f64..500.0, 1..20)), 1..6),
        below in any::<bool>(),
    ) {
        let names = EnvNames::default();
        let mut slos = vec![row("throughput", ">= 1/s")];
        let (cmp, factor) = if below { (Direction::Below, 0.5) } else { (Direction::Above, 1.5) };
        let cond = Condition::Relative { slo: 0, env: Env::Green, cmp, factor, reference: Reference::Baseline };
        let mut triggers = Triggers::new(vec![TriggerSpec::new("shift", Tier::Planned, cond, 60_000)]);
        let mut t = 0;
        for (at_start, values) in stages {
            t += 1000;
            slos[0].cells[1].record(Ts(t), Outcome::Value(at_start));
            let input = Input { slos: &slos, health: &[], health_stale_ms: None, env_names: &names };
            triggers.reset_stage(&input, Ts(t));
            prop_assert_eq!(triggers.states[0].baseline.map(|b| (b.value, b.at)), Some((at_start, Ts(t))));
            prop_assert_eq!(triggers.states[0].history.stage_started, Some(Ts(t)));
            for v in values {
                t += 1000;
                slos[0].cells[1].record(Ts(t), Outcome::Value(v));
                let input = Input { slos: &slos, health: &[], health_stale_ms: None, env_names: &names };
                triggers.evaluate_all(&input, Ts(t));
                prop_assert_eq!(triggers.states[0].streak.is_some(), cmp.breaches(v, factor * at_start));
            }
        }
    }

    /// Outage: a streak exists exactly while every check of the environment is down or unreachable
    /// (checks of the other environment do not matter), and it fires only after holding for the duration.
    #[test]
    fn outage_needs_every_check_down_for_the_duration(
        evals in proptest::collection::vec(proptest::collection::vec(0u8..4, 4), 1..100),
        gap in 1_000i64..20_000,
    ) {
        let names = EnvNames::default();
        let spec = go_live_defaults(|_| None).into_iter().find(|t| matches!(t.condition, Condition::Outage { .. })).unwrap();
        let mut health: Vec<HealthCell> = ["a", "b", "c"].iter().map(|s| HealthCell::new(*s, Env::Blue)).collect();
        health.push(HealthCell::new("a", Env::Green));
        let mut st = TriggerState::new();
        let mut t = 0;
        let mut all_down_since: Option<i64> = None;
        for states in evals {
            t += gap;
            for (cell, s) in health.iter_mut().zip(&states) {
                let state = [HealthState::Up, HealthState::Degraded, HealthState::Down, HealthState::Unreachable][*s as usize];
                cell.last = Some((Ts(t), HealthObservation { state, latency_ms: None, code: None, detail: String::new() }));
            }
            let all_down = states[..3].iter().all(|s| *s >= 2);
            let input = Input { slos: &[], health: &health, health_stale_ms: Some(60_000), env_names: &names };
            let was_firing = st.phase().is_firing();
            evaluate(&mut st, &spec, &input, Ts(t));
            prop_assert_eq!(st.streak.is_some(), all_down);
            if all_down {
                let since = *all_down_since.get_or_insert(t);
                prop_assert_eq!(st.phase().is_firing(), was_firing || t - since >= 60_000);
            } else {
                all_down_since = None;
            }
        }
    }

    /// Manual triggers: raise and lower in any order, with or without reasons and acknowledgements.
    /// Raised means firing; lowered means inactive; errors change nothing.
    #[test]
    fn manual_raise_and_lower(ops in proptest::collection::vec((0u8..4, any::<bool>()), 1..60)) {
        let spec = TriggerSpec::manual("stakeholder decision", Tier::Planned);
        let mut st = TriggerState::new();
        let mut raised = false;
        for (i, (op, with_reason)) in ops.into_iter().enumerate() {
            let now = Ts(i as i64 * 1000);
            let reason = if with_reason { "board call" } else { " " };
            let before = st.clone();
            let r = match op {
                0 => st.raise(&spec, now, "alice", reason),
                1 => st.lower(&spec, now, "bob", reason),
                2 => st.acknowledge(&spec, now, "carol"),
                _ => Ok(st.apply(&spec, Sample::NoData { why: String::new() }, now)),
            };
            match (op, &r) {
                (0, Ok(ev)) => {
                    prop_assert!(!raised && with_reason);
                    prop_assert!(ev[0].rings_bell());
                    raised = true;
                }
                (1, Ok(_)) => {
                    prop_assert!(raised && with_reason);
                    raised = false;
                    prop_assert_eq!(st.last_lowered.as_ref().map(|l| l.reason.as_str()), Some("board call"));
                }
                (0 | 1, Err(_)) => {
                    prop_assert_eq!(st.phase(), before.phase());
                    prop_assert_eq!(&st.raised, &before.raised);
                }
                _ => {}
            }
            prop_assert_eq!(st.phase().is_firing(), raised);
            prop_assert_eq!(st.raised.is_some(), raised);
            if raised {
                prop_assert_eq!(st.raised.as_ref().map(|r| r.reason.as_str()), Some("board call"));
            }
        }
    }
}

#[test]
fn auto_rollback_only_for_an_immediate_trigger_that_just_fired() {
    let names = EnvNames::default();
    let mut slos = vec![row("error rate", "< 1%"), row("p95 latency", "<= 2s")];
    let mut t = Triggers::new(go_live_defaults(|n| ["error rate", "p95 latency"].iter().position(|x| *x == n)));
    let mut last = Vec::new();
    for s in 0..=1800 {
        let now = Ts(s * 1000);
        slos[0].cells[0].record(now, Outcome::Value(0.06));
        let input = Input { slos: &slos, health: &[], health_stale_ms: None, env_names: &names };
        last = t.evaluate_all(&input, now);
        let fired_now = last.iter().any(|(i, e)| e.rings_bell() && t.specs[*i].tier == Tier::Immediate);
        assert_eq!(should_auto_rollback(&t.states, &t.specs, true), fired_now, "at {s}s");
        assert!(!should_auto_rollback(&t.states, &t.specs, false));
        if s == 600 {
            assert!(fired_now, "error rate > 5% fires after 10m");
            assert_eq!(t.auto_rollback(true), t.index_of("error rate > 5%"));
        }
    }
    // At 30m the planned > 2% trigger fires: the bell rings, but no automatic rollback.
    let planned = t.index_of("error rate > 2%").unwrap();
    assert!(last.iter().any(|(i, e)| *i == planned && matches!(e, TriggerEvent::Fired { .. })), "{last:?}");
    assert!(!should_auto_rollback(&t.states, &t.specs, true));
    assert_eq!(t.firing().collect::<Vec<_>>(), [0, planned]);
}

//! `kill -9` at random moments across many advance / rollback / resume cycles against the demo
//! fleet's router. After every kill: the state parses, the audit log has no torn line in the
//! middle, and `cutover status --json` either agrees with the router or shows the drift or the
//! interrupted change; the stage is never one nobody asked for.
//!
//! The seed is printed; `CUTOVER_CRASH_SEED=N` replays a run.

#[allow(dead_code)]
mod common;
#[path = "common/fleet_proc.rs"]
#[allow(dead_code)]
mod fleet_proc;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::crash::{finish_procedure, load, phase};
use common::traffic::{FleetConfig, TempDir, cut_off_advance, cutover, output_text as text, put_router, router};
use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::Weights;
use cutover::domain::traffic::{StepKind, weights_for};
use cutover::store::{StateDir, Who};
use fleet_proc::FleetProc;

const CYCLES: usize = 36;
/// Whatever the machine, the test stops adding cycles after this long (at least 12 are run).
const BUDGET: Duration = Duration::from_secs(50);

#[test]
fn kill_9_during_traffic_changes_never_loses_or_repeats_one() {
    let seed = std::env::var("CUTOVER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("seed {seed} (CUTOVER_CRASH_SEED={seed} replays it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let admin = fleet.info.admin.clone();
    let dir = TempDir::new("crash-demo");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { soak: "1s", timeout: "5s", ..FleetConfig::new("crash-test") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");

    // One uninterrupted advance measures how long a verb lives on this machine.
    let started = Instant::now();
    let o = cutover(&cfg, &state, &["advance", "--yes", "--wait", "0s"]).output().unwrap();
    let mut life_ms = started.elapsed().as_millis() as u64;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(router(&admin), weights_for(10));
    eprintln!("an advance takes {life_ms} ms here");

    let mut asked: BTreeSet<u8> = [0, 10].into();
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    let mut allowed_damage = BTreeSet::new();
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    // Sequence numbers of the changes status found interrupted.
    let mut interrupted = BTreeSet::new();
    let t0 = Instant::now();
    let mut cycles = 0;
    while cycles < CYCLES && (cycles < 12 || t0.elapsed() < BUDGET) {
        cycles += 1;
        let before = load(&state).expect("a state after the first advance");
        let t = &before.traffic;
        let rolled_back = t.rollback.is_some();
        let routed = t.rollback.as_ref().is_some_and(|r| r.step(StepKind::RouteTraffic).done_at.is_some());
        let settled = t.pending.is_none() && t.interrupted.is_none();
        let args: Vec<String> = if rolled_back && routed && settled {
            finish_procedure(&state);
            vec!["resume".into(), "--reason".into(), format!("cycle {cycles}: fixed")]
        } else if rolled_back || t.blue_percent == 100 || (t.blue_percent > 0 && rng.u8(0..5) == 0) {
            asked.insert(0);
            vec!["rollback".into(), "--yes".into(), "--reason".into(), format!("cycle {cycles}")]
        } else {
            let next = t.spec.percents().into_iter().find(|p| *p > t.blue_percent).unwrap();
            asked.insert(next);
            ["advance", "--yes", "--wait", "0s", "--override", "crash test"].map(String::from).to_vec()
        };
        let before = load(&state).unwrap();
        // Most kills aim at the second half of the verb's life, where the actuator is called.
        let delay = if rng.u8(0..10) < 7 {
            rng.u64(life_ms * 3 / 10..=life_ms * 11 / 10)
        } else {
            rng.u64(0..=life_ms * 13 / 10)
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let spawned = Instant::now();
        let mut child = cutover(&cfg, &state, &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_millis(delay);
        let mut exited = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if exited.is_none() {
            child.kill().unwrap(); // SIGKILL
        }
        child.wait().unwrap();
        if exited.is_some() {
            // Follow the machine's pace, so kills keep landing within the verbs' lives.
            life_ms = (life_ms + spawned.elapsed().as_millis() as u64).div_ceil(2).max(1);
        }

        let w = router(&admin);
        let after = load(&state).expect("the state survives");
        let landed = if exited.is_some() { "the verb finished first" } else { phase(&before, &after, w) };
        *phases.entry(landed).or_default() += 1;
        let ctx = format!("cycle {cycles} ({args:?}, kill after {delay} ms, {landed}), seed {seed}");

        // The audit log: a torn line only at the end, and the next append starts fresh after it.
        let audit = StateDir::open_read_only(&state).unwrap().read_audit().unwrap();
        if let Some(t) = &audit.torn_tail {
            allowed_damage.insert(t.offset);
        }
        for d in &audit.damaged {
            assert!(allowed_damage.contains(&d.offset), "{ctx}: torn audit line in the middle: {d:?}");
        }

        // Timers come from stored timestamps: the soak start moves only with a recorded change.
        if after.traffic.history == before.traffic.history {
            assert_eq!(after.traffic.stage_started, before.traffic.stage_started, "{ctx}");
        }
        assert_eq!(after.triggers, before.triggers, "{ctx}: trigger states survive");

        // Nobody asked for any other split.
        let tr = &after.traffic;
        assert!(asked.contains(&tr.blue_percent), "{ctx}: stage {}% was never asked for", tr.blue_percent);
        let router_percent = u8::try_from(w.blue).unwrap();
        assert!(asked.contains(&router_percent) && w == weights_for(router_percent), "{ctx}: router at {w:?}");

        // What status says, and whether it agrees with the router.
        let o = cutover(&cfg, &state, &["status", "--json", "--wait", "0s"]).output().unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{ctx}: {e}: {}", text(&o)));
        let st = &v["stage"];
        // A request that left the killed process may reach the router a moment later: status saw
        // the router somewhere between the two readings.
        let seen = [w, router(&admin)];
        let agrees = seen.iter().any(|w| st["blue_percent"].as_u64() == Some(u64::from(w.blue)));
        assert!(
            agrees || !st["drift"].is_null() || !st["interrupted"].is_null(),
            "{ctx}: status says {st} while the router says {seen:?}"
        );
        assert_eq!(st["pending"], serde_json::Value::Null, "{ctx}: nothing is in flight after a restart: {st}");
        if let Some(p) = &tr.pending {
            let i = &st["interrupted"];
            assert_eq!(
                (i["from"].as_u64(), i["to"].as_u64()),
                (Some(u64::from(p.from)), Some(u64::from(p.to))),
                "{ctx}"
            );
            let verdict = |w: &Weights| {
                if *w == weights_for(p.to) {
                    "applied"
                } else if *w == weights_for(p.from) {
                    "not_applied"
                } else {
                    "unknown"
                }
            };
            let expected = i["verdict"].as_str().unwrap_or_default();
            assert!(seen.iter().any(|w| verdict(w) == expected), "{ctx}: {st}, router {seen:?}");
            *verdicts.entry(expected.to_string()).or_default() += 1;
            interrupted.insert(p.seq);
        }
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{ctx}: {}", text(&o));
    }

    // After the last kill, a verb settles whatever was left and then works as ever.
    let o = cutover(&cfg, &state, &["rollback", "--yes", "--reason", "the end"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let end = load(&state).unwrap().traffic;
    assert_eq!((end.blue_percent, end.pending.is_none(), end.interrupted.is_none()), (0, true, true));
    assert_eq!(router(&admin), weights_for(0));
    let audit = StateDir::open_read_only(&state).unwrap().read_audit().unwrap();
    let reconciled: BTreeSet<u64> = audit
        .entries
        .iter()
        .filter(|e| e.what.starts_with("reconciled-"))
        .filter_map(|e| e.detail["seq"].as_u64())
        .collect();
    assert!(audit.torn_tail.is_none(), "the last append started a fresh line");
    eprintln!(
        "{cycles} cycles in {:.1}s; kills landed: {phases:?}; interrupted changes seen by status: {verdicts:?}; \
         {} reconciled in the audit log",
        t0.elapsed().as_secs_f64(),
        reconciled.len()
    );
    assert_eq!(reconciled, interrupted, "every change found interrupted was settled by a later verb (seed {seed})");
}

/// A cockpit with an error-rate trigger (10 s) and a manual one, like the go-live's.
fn cockpit_with_triggers() -> cutover::domain::cockpit::Cockpit {
    use cutover::domain::slo::{Judge, SloRow, SloSpec};
    use cutover::domain::trigger::{Condition, Direction, Tier, TriggerSpec, Triggers};
    let mut c = cutover::domain::cockpit::Cockpit::new("go-live", "prod");
    c.operator = "alice".into();
    c.slos.push(SloRow::new(SloSpec {
        name: "error rate".into(),
        objective: "< 1%".parse().unwrap(),
        judge: Judge::PerEnv,
        interval_ms: 1000,
    }));
    let cond =
        Condition::Threshold { slo: 0, env: cutover::domain::env::Env::Blue, cmp: Direction::Above, value: 0.05 };
    c.triggers = Triggers::new(vec![
        TriggerSpec::new("err>5% 10s", Tier::Immediate, cond, 10_000),
        TriggerSpec::manual("stakeholder", Tier::Planned),
    ]);
    c
}

#[test]
fn a_restart_keeps_the_soak_start_and_the_trigger_history() {
    use cutover::domain::cockpit::{Command, Event};
    use cutover::domain::slo::Outcome;
    use cutover::domain::time::Ts;
    let dir = TempDir::new("crash-resume");
    let _ = std::fs::remove_dir_all(&dir.0);
    let mut state = StateDir::open(&dir.0).unwrap();
    let who = Who::new("alice", "localhost", 1);
    // Wall-clock soak: this is about the stored stage start (the healthy-time figure surviving a
    // restart is `a_restart_keeps_the_healthy_soak_figure` in tests/traffic.rs).
    let wall = cutover::domain::traffic::SoakOn::Wall;
    let mut c = cockpit_with_triggers();
    c.traffic.soak_policy.on = wall;
    let out = c.update(Event::Advance { to: None, override_reason: None }, Ts(1_000));
    let seq = out.iter().find_map(|x| match x {
        Command::SetWeights { seq, .. } => Some(*seq),
        _ => None,
    });
    c.update(Event::Applied { seq: seq.unwrap(), detail: "ok".into() }, Ts(2_000));
    // Two breach streaks of the error rate (the second still running), and a raised manual trigger.
    let blue = cutover::domain::env::Env::Blue;
    for (t, v) in [(3_000, 0.08), (4_000, 0.08), (5_000, 0.001), (6_000, 0.09), (7_000, 0.09)] {
        c.update(Event::Sample { slo: 0, env: blue, outcome: Outcome::Value(v) }, Ts(t));
    }
    c.update(Event::RaiseTrigger { trigger: 1, reason: "CTO says stop".into() }, Ts(8_000));
    state.save(&c.persisted(), &who).unwrap();

    // The process dies here; a new one starts much later and loads what was saved.
    let mut again = cockpit_with_triggers();
    again.traffic.soak_policy.on = wall;
    let loaded = StateDir::open(&dir.0).unwrap().load::<PersistedState>().unwrap().unwrap();
    assert!(again.restore(loaded.state).is_empty());
    assert_eq!(again.traffic.stage_started, Some(Ts(2_000)), "the soak runs from the stored timestamp");
    let later = Ts(2_000 + 29 * 60_000);
    assert_eq!(again.traffic.soak_remaining(later), c.traffic.soak_remaining(later));
    assert_eq!(again.traffic.soak_remaining(later), Some(60_000));
    assert_eq!(again.traffic, c.traffic);
    // Compared as stored: whether a trigger just fired is deliberately not kept (a restored trigger
    // never asks for a rollback again).
    let stored = |c: &cutover::domain::cockpit::Cockpit| serde_json::to_value(c.persisted().triggers).unwrap();
    assert_eq!(stored(&again), stored(&c));
    assert_eq!(again.triggers.states[0].breaches(), 2, "both streaks are remembered");
    assert_eq!(again.triggers.states[0].elapsed_ms(Ts(8_000)), c.triggers.states[0].elapsed_ms(Ts(8_000)));
    assert!(again.triggers.states[1].phase().is_firing(), "the raised trigger is still up");
    assert_eq!(again.triggers.firing().collect::<Vec<_>>(), c.triggers.firing().collect::<Vec<_>>());
}

#[test]
fn an_interrupted_advance_is_recorded_from_the_router_and_never_repeated() {
    let fleet = FleetProc::start(&["--rps", "0", "--smoke-rps", "0"]);
    let admin = fleet.info.admin.clone();
    let dir = TempDir::new("crash-settle");
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let cfg = FleetConfig { soak: "1s", timeout: "5s", ..FleetConfig::new("crash-test") }.write(&dir.0, &fleet.info);
    let state = dir.0.join("state");
    let run = |args: &[&str]| cutover(&cfg, &state, args).output().unwrap();
    let o = run(&["advance", "--yes", "--wait", "0s"]);
    assert!(o.status.success(), "{}", text(&o));

    // 10 % → 25 %: the router changed, the outcome was never saved.
    cut_off_advance(&state);
    put_router(&admin, weights_for(25));
    let o = run(&["status", "--json", "--wait", "0s"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let i = &v["stage"]["interrupted"];
    assert_eq!(
        (i["kind"].as_str(), i["from"].as_u64(), i["to"].as_u64()),
        (Some("advance"), Some(10), Some(25)),
        "{v}"
    );
    assert_eq!((i["router"].as_str(), i["verdict"].as_str()), (Some("25/75"), Some("applied")), "{v}");
    assert_eq!(v["stage"]["blue_percent"], 10, "status only reads");
    assert!(load(&state).unwrap().traffic.pending.is_some(), "status wrote nothing");

    // While a cutover runs an action, the change may really be in flight: status says so.
    {
        let dir = StateDir::open(&state).unwrap();
        let who = Who::new("bob", "localhost", std::process::id());
        let _busy = cutover::store::ActionLock::acquire(&dir, &who, "advance", Duration::ZERO).unwrap();
        let o = run(&["status", "--json", "--wait", "0s"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        assert_eq!(
            (v["stage"]["pending"].as_str(), &v["stage"]["interrupted"]),
            (Some("10% → 25%"), &serde_json::Value::Null)
        );
    }

    let o = run(&["advance", "--yes", "--wait", "0s", "--override", "go on"]);
    assert!(!o.status.success(), "{}", text(&o));
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("advance 10% → 25% was interrupted after the router changed"), "{}", text(&o));
    assert!(out.contains("nothing else was done") && out.contains("now 25%"), "{}", text(&o));
    assert_eq!(router(&admin), weights_for(25), "the advance did not go on to 50 %");
    let t = load(&state).unwrap().traffic;
    assert_eq!((t.blue_percent, t.pending.is_none(), t.interrupted.is_none()), (25, true, true));

    // 25 % → 50 %: cut off before the router changed.
    cut_off_advance(&state);
    let o = run(&["rollback", "--yes", "--reason", "enough"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "advance 25% → 50% was interrupted before the router changed; nothing was repeated; press a to try again"
        ),
        "{}",
        text(&o)
    );
    assert_eq!(router(&admin), weights_for(0));
    let audit = StateDir::open_read_only(&state).unwrap().read_audit().unwrap();
    let whats: Vec<&str> = audit.entries.iter().map(|e| e.what.as_str()).collect();
    let settled: Vec<&&str> = whats.iter().filter(|w| w.starts_with("reconciled-")).collect();
    assert_eq!(settled, [&"reconciled-applied", &"reconciled-not-applied"], "{whats:?}");
    let applied = audit.entries.iter().find(|e| e.what == "reconciled-applied").unwrap();
    assert_eq!((applied.detail["from"].as_u64(), applied.detail["router"].as_str()), (Some(10), Some("25/75")));
}

//! The traffic stage machine under property tests with virtual time, and the webhook, exec and
//! manual actuators against real servers and processes started here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cutover::actuators::{Actuator, ActuatorError, Applied, Chain, ChainStop, Exec, Manual, Request, Webhook};
use cutover::domain::env::Weights;
use cutover::domain::time::Ts;
use cutover::domain::traffic::{
    Effect, GateInputs, MINUTE_MS, MoveKind, OverrideRule, Refusal, SloFailure, SoakOn, SoakReset, Stage, StepKind,
    TrafficSpec, TrafficState, weights_for,
};
use cutover::fleet::{Fleet, FleetOptions};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Property tests of the stage machine
// ---------------------------------------------------------------------------------------------

/// One observation of blue by the soak: how long after the one before, and whether it was healthy.
#[derive(Debug, Clone)]
struct Look {
    after_ms: i64,
    healthy: bool,
}

fn look_strategy() -> impl Strategy<Value = Look> {
    (0i64..150_000, proptest::bool::weighted(0.8)).prop_map(|(after_ms, healthy)| Look { after_ms, healthy })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Virtual time: the soak counts exactly the watched healthy time (both ends healthy, at most
    /// `max_gap_ms` apart); `restart` starts it again at any unhealthy look; it is paused exactly
    /// while blue is unhealthy and the soak is not over; it never counts more than the wall time;
    /// and a restart of the process (the state saved and loaded at any point) changes nothing.
    #[test]
    fn a_healthy_soak_counts_watched_healthy_time_across_restarts(
        restart in any::<bool>(),
        looks in proptest::collection::vec(look_strategy(), 1..150),
        cut in any::<proptest::sample::Index>(),
    ) {
        let soak = 30 * MINUTE_MS;
        let gap = 60_000;
        let t0 = 1_700_000_000_000;
        let mut s = TrafficState::new(TrafficSpec::default());
        s.soak_policy.reset = if restart { SoakReset::Restart } else { SoakReset::Pause };
        s.soak_policy.max_gap_ms = gap;
        let (p, _) = s.advance(None, &GateInputs::clear(), None, "op", Ts(t0)).unwrap();
        let (mut s, _) = p.applied(1, "ok", Ts(t0)).unwrap();
        let mut uninterrupted = s.clone();
        let cut = cut.index(looks.len());
        let (mut model, mut last, mut now) = (0i64, None::<(i64, bool)>, t0);
        let mut previous = soak;
        for (i, l) in looks.iter().enumerate() {
            if i == cut {
                let json = serde_json::to_string(&s).unwrap();
                s = serde_json::from_str(&json).unwrap();
            }
            now += l.after_ms;
            let why = (!l.healthy).then(|| "blue error rate breach".to_string());
            s.observe_soak(why.clone(), Ts(now));
            uninterrupted.observe_soak(why, Ts(now));
            if let Some((t, true)) = last
                && l.healthy
                && now - t <= gap
            {
                model += now - t;
            }
            if !l.healthy && restart {
                model = 0;
            }
            last = Some((now, l.healthy));
            prop_assert_eq!(s.soak_clock.healthy_ms, model);
            let remaining = s.soak_remaining(Ts(now)).unwrap();
            prop_assert_eq!(remaining, (soak - model).max(0));
            prop_assert!(model <= now - t0, "more counted than time passed");
            if !restart {
                prop_assert!(remaining <= previous, "a paused soak never goes back");
            }
            prop_assert_eq!(s.soak_paused(Ts(now)).is_some(), !l.healthy && remaining > 0);
            previous = remaining;
        }
        prop_assert_eq!(&s, &uninterrupted, "a restart keeps the figure");
    }
}

#[derive(Debug, Clone)]
enum Op {
    Wait(i64),
    Advance {
        to: Option<u8>,
        reason: Option<String>,
        triggers: bool,
        tasks: bool,
        controls: bool,
        /// A gating SLO of blue breaches; a trigger is pending; the router disagrees.
        slo: bool,
        pending: bool,
        drift: bool,
    },
    /// The actuators confirm the pending change.
    Confirm,
    /// The actuators fail the pending change.
    Fail,
    Rollback(String),
    Tick(StepKind),
    Green(bool),
    Resume(String),
}

fn spec_strategy() -> impl Strategy<Value = TrafficSpec> {
    (proptest::collection::btree_set(1u8..100, 0..5), proptest::collection::vec(0i64..=60 * MINUTE_MS, 6), 0i64..=48)
        .prop_map(|(percents, soaks, hours)| {
            let stages = percents
                .into_iter()
                .chain([100])
                .zip(soaks)
                .map(|(blue_percent, soak_ms)| Stage { blue_percent, soak_ms })
                .collect();
            TrafficSpec { stages, stabilization_ms: hours * 60 * MINUTE_MS }
        })
}

fn reason() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(String::new())),
        1 => Just(Some("   ".to_string())),
        2 => "[a-z]{1,6}( [a-z]{1,6})?".prop_map(Some),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let step = prop::sample::select(StepKind::ALL.to_vec());
    prop_oneof![
        4 => (0i64..=40 * MINUTE_MS).prop_map(Op::Wait),
        6 => (
            prop_oneof![3 => Just(None), 1 => (0u8..=110).prop_map(Some), 2 => prop::sample::select(vec![10u8, 25, 50, 75, 100]).prop_map(Some)],
            reason(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.9),
            (prop::bool::weighted(0.15), prop::bool::weighted(0.1), prop::bool::weighted(0.1)),
        )
            .prop_map(|(to, reason, triggers, tasks, controls, (slo, pending, drift))| Op::Advance {
                to,
                reason,
                triggers,
                tasks,
                controls,
                slo,
                pending,
                drift,
            }),
        5 => Just(Op::Confirm),
        1 => Just(Op::Fail),
        1 => "[a-z ]{0,8}".prop_map(Op::Rollback),
        2 => step.prop_map(Op::Tick),
        2 => prop::bool::weighted(0.8).prop_map(Op::Green),
        1 => "[a-z ]{0,6}".prop_map(Op::Resume),
    ]
}

fn set_weights(effects: &[Effect]) -> Vec<(u64, Weights)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetWeights { seq, weights, .. } => Some((*seq, *weights)),
            Effect::Audit(..) => None,
        })
        .collect()
}

fn non_empty(r: &Option<String>) -> bool {
    r.as_deref().is_some_and(|r| !r.trim().is_empty())
}

/// Each entry starts where the one before ended, the first at 0 %, the last where the state is.
fn assert_history_consistent(s: &TrafficState) -> Result<(), TestCaseError> {
    let mut previous = 0;
    for e in &s.history {
        prop_assert_eq!(e.from, previous, "history broken at {:?}", e);
        previous = e.to;
    }
    prop_assert_eq!(previous, s.blue_percent, "the last entry ends where the state is");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_stage_machine_keeps_its_promises(
        spec in spec_strategy(),
        ops in proptest::collection::vec(op_strategy(), 1..60),
    ) {
        spec.validate().unwrap();
        let stages = spec.percents();
        let mut s = TrafficState::new(spec.clone());
        // The model's soak is wall-clock time; the healthy-time soak has its own properties.
        s.soak_policy.on = SoakOn::Wall;
        let mut now = Ts(1_700_000_000_000);
        // How each advance was asked for: seq → explicit target.
        let mut asked: HashMap<u64, Option<u8>> = HashMap::new();
        for op in ops {
            match op {
                Op::Wait(ms) => now = now.plus_ms(ms),
                Op::Advance { to, reason, triggers, tasks, controls, slo, pending, drift } => {
                    let breach = SloFailure {
                        what: "blue error rate".into(),
                        state: "breach".into(),
                        detail: "5.03% breaches < 1%".into(),
                    };
                    let gates = GateInputs {
                        firing_triggers: if triggers { vec!["err>5% 10m".into()] } else { vec![] },
                        open_gate_tasks: if tasks { vec!["T1217".into()] } else { vec![] },
                        controls_held: controls,
                        slo_failing: if slo { vec![breach] } else { vec![] },
                        slo_gating: 1,
                        pending_triggers: if pending { vec!["err>2% 30m pending 0:10, fires in 29:50".into()] } else { vec![] },
                        drift: drift.then(|| "router says 50/50, cutover expects 10/90".to_string()),
                        // This model is about the stage machine: any non-empty reason will do.
                        override_rule: OverrideRule { min_chars: 1, pattern: None },
                        ..GateInputs::clear()
                    };
                    // The model's view of the soak gate.
                    let soaking = !s.is_rolled_back()
                        && s.stage.is_some_and(|i| s.stage_started.unwrap().0 + spec.stages[i].soak_ms > now.0);
                    let next = s.stage.map_or(0, |i| i + 1);
                    let target_ok = match to {
                        None => next < stages.len(),
                        Some(p) => stages.contains(&p) && p > s.blue_percent,
                    };
                    let structural_ok = !s.is_rolled_back() && s.pending.is_none() && target_ok;
                    let gates_fail = soaking || triggers || tasks || slo || pending;
                    match s.advance(to, &gates, reason.clone(), "op", now) {
                        Ok((n, effects)) => {
                            prop_assert!(structural_ok);
                            prop_assert!(controls, "controls are never overridden");
                            prop_assert!(!drift, "drift is never overridden");
                            prop_assert!(!gates_fail || non_empty(&reason), "a failing gate passed without a reason");
                            prop_assert_eq!(n.blue_percent, s.blue_percent, "nothing moves before the router confirms");
                            let p = n.pending.clone().unwrap();
                            prop_assert_eq!(set_weights(&effects), vec![(p.seq, weights_for(p.to))]);
                            match to {
                                None => prop_assert_eq!(p.to, stages[next]),
                                Some(t) => prop_assert_eq!(p.to, t),
                            }
                            if gates_fail {
                                prop_assert_eq!(p.reason.as_deref(), reason.as_deref().map(str::trim));
                            }
                            // Exactly the failing health gates are recorded as overridden.
                            let kinds: Vec<&str> = p.overridden.iter().map(|g| g.kind()).collect();
                            prop_assert_eq!(kinds.contains(&"slo"), slo);
                            prop_assert_eq!(kinds.contains(&"pending"), pending);
                            asked.insert(p.seq, to);
                            s = n;
                        }
                        Err(refusal) => {
                            let fine = structural_ok && controls && !drift && (!gates_fail || non_empty(&reason));
                            prop_assert!(!fine, "refused although everything held: {}", refusal);
                            if structural_ok && controls && drift {
                                prop_assert!(matches!(refusal, Refusal::Drift { .. }), "{:?}", refusal);
                            }
                            if structural_ok && controls && !drift && gates_fail && reason.is_some() && !non_empty(&reason)
                            {
                                prop_assert!(matches!(refusal, Refusal::EmptyReason { .. }), "{:?}", refusal);
                            }
                        }
                    }
                }
                Op::Confirm => {
                    if let Some(p) = s.pending.clone() {
                        let (n, _) = s.applied(p.seq, "ok", now).unwrap();
                        if p.kind == MoveKind::Advance {
                            prop_assert_eq!(n.blue_percent, p.to);
                            prop_assert_eq!(n.stage_started, Some(now));
                            let e = n.history.last().unwrap();
                            prop_assert!(e.to > e.from && stages.contains(&e.to));
                            if asked[&p.seq].is_none() {
                                let from_index = spec.position(e.from).map_or(0, |i| i + 1);
                                prop_assert_eq!(spec.position(e.to), Some(from_index), "one stage at a time");
                            }
                        } else {
                            prop_assert!(n.rollback.as_ref().unwrap().step(StepKind::RouteTraffic).done_at.is_some());
                        }
                        s = n;
                    } else {
                        prop_assert!(s.applied(s.next_seq, "", now).is_err());
                    }
                }
                Op::Fail => {
                    if let Some(p) = s.pending.clone() {
                        let (n, _) = s.apply_failed(p.seq, "connection refused", now).unwrap();
                        prop_assert_eq!(n.blue_percent, s.blue_percent);
                        prop_assert_eq!(n.stage, s.stage);
                        prop_assert_eq!(&n.history, &s.history);
                        s = n;
                    }
                }
                Op::Rollback(reason) => {
                    let (n, effects) = s.rollback(&reason, "op", now);
                    prop_assert_eq!(n.blue_percent, 0);
                    prop_assert!(n.is_rolled_back());
                    prop_assert_eq!(n.expected_weights(), Weights { blue: 0, green: 100 });
                    let sw = set_weights(&effects);
                    prop_assert_eq!(sw.len(), 1);
                    prop_assert_eq!(sw[0].1, Weights { blue: 0, green: 100 });
                    prop_assert_eq!(n.history.last().unwrap().kind, MoveKind::Rollback);
                    s = n;
                }
                Op::Tick(kind) => {
                    if let Ok((n, _)) = s.tick_step(kind, "op", Some("note".into()), now) {
                        prop_assert!(kind != StepKind::RouteTraffic);
                        prop_assert_eq!(n.blue_percent, s.blue_percent);
                        s = n;
                    }
                }
                Op::Green(ok) => s = s.observe_green(ok, now).0,
                Op::Resume(reason) => {
                    if let Ok((n, _)) = s.resume(&reason, "op", now) {
                        prop_assert!(!reason.trim().is_empty());
                        prop_assert!(!n.is_rolled_back());
                        prop_assert!(s.rollback.as_ref().unwrap().open().is_empty());
                        s = n;
                    }
                }
            }
            assert_history_consistent(&s)?;
            prop_assert!(s.blue_percent == 0 || stages.contains(&s.blue_percent));
        }
        let json = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(serde_json::from_str::<TrafficState>(&json).unwrap(), s);
    }

    #[test]
    fn rollback_from_every_reachable_state_yields_zero_blue(
        spec in spec_strategy(),
        confirmed in 0usize..8,
        in_flight in any::<bool>(),
        rolled_back_first in any::<bool>(),
        wait in 0i64..=90 * MINUTE_MS,
    ) {
        let mut s = TrafficState::new(spec);
        let mut now = Ts(0);
        if rolled_back_first {
            s = s.rollback("", "op", now).0;
        }
        for _ in 0..confirmed {
            now = now.plus_ms(wait);
            let Ok((n, effects)) = s.advance(None, &GateInputs::clear(), Some("go".into()), "op", now) else { break };
            s = n.applied(set_weights(&effects)[0].0, "", now).unwrap().0;
        }
        if in_flight
            && let Ok((n, _)) = s.advance(None, &GateInputs::clear(), Some("go".into()), "op", now) {
                s = n;
            }
        let (n, effects) = s.rollback("why", "op", now);
        prop_assert_eq!(n.blue_percent, 0);
        prop_assert_eq!(n.stage, None);
        prop_assert_eq!(set_weights(&effects).last().unwrap().1, Weights { blue: 0, green: 100 });
        let (n, _) = n.applied(set_weights(&effects)[0].0, "", now).unwrap();
        prop_assert_eq!(n.blue_percent, 0);
        assert_history_consistent(&n)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook against a small axum server
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Default)]
struct Hook {
    seen: Mutex<Vec<Seen>>,
    /// `/flaky` answers 503 this many times, then 200.
    flaky_left: Mutex<u32>,
}

async fn hook(State(h): State<Arc<Hook>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    h.seen.lock().unwrap().push(Seen {
        method,
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
    });
    match path.as_str() {
        "/ok" => (StatusCode::OK, "done").into_response(),
        "/flaky" => {
            let mut left = h.flaky_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                (StatusCode::SERVICE_UNAVAILABLE, "busy, try again").into_response()
            } else {
                (StatusCode::OK, "done").into_response()
            }
        }
        "/down" => (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response(),
        "/bad" => (StatusCode::BAD_REQUEST, "weights must add up").into_response(),
        "/weights" => (StatusCode::OK, r#"{"blue":1,"green":3}"#).into_response(),
        "/garbage" => (StatusCode::OK, "<html>login</html>").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn hook_server(flaky: u32) -> (String, Arc<Hook>) {
    let state = Arc::new(Hook { flaky_left: Mutex::new(flaky), ..Hook::default() });
    let app = Router::new().fallback(hook).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

fn req25() -> Request {
    Request::new(Weights { blue: 25, green: 75 }, "2")
}

#[tokio::test]
async fn webhook_sends_method_headers_body_and_key() {
    let (url, h) = hook_server(0).await;
    let hook = Webhook::new("put", &format!("{url}/ok"))
        .unwrap()
        .header("Content-Type", "application/json")
        .unwrap()
        .header("X-Change", "stage-{stage}")
        .unwrap()
        .body(r#"{"blue":{blue},"green":{green},"stage":"{stage}"}"#);
    let req = req25();
    assert_eq!(hook.apply(&req).await.unwrap(), Applied::Done { detail: "HTTP 200".into() });
    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!((s.method.as_str(), s.path.as_str()), ("PUT", "/ok"));
    assert_eq!(s.body, r#"{"blue":25,"green":75,"stage":"2"}"#);
    assert_eq!(s.headers["content-type"], "application/json");
    assert_eq!(s.headers["x-change"], "stage-2");
    assert_eq!(s.headers["idempotency-key"], req.key.as_str());
    // Another action, another key.
    hook.apply(&req25()).await.unwrap();
    let keys: Vec<_> = h.seen.lock().unwrap().iter().map(|s| s.headers["idempotency-key"].clone()).collect();
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test]
async fn webhook_retries_a_503_with_the_same_key_then_succeeds() {
    let (url, h) = hook_server(2).await;
    let hook = Webhook::new("POST", &format!("{url}/flaky")).unwrap().backoff(Duration::from_millis(20)).body("{blue}");
    let req = req25();
    let applied = hook.apply(&req).await.unwrap();
    assert_eq!(applied, Applied::Done { detail: "HTTP 200 on try 3".into() });
    let seen = h.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.headers["idempotency-key"] == req.key.as_str() && s.body == "25"));
}

#[tokio::test]
async fn webhook_gives_up_after_its_tries_and_does_not_retry_a_400() {
    let (url, h) = hook_server(0).await;
    let started = Instant::now();
    let down = Webhook::new("PUT", &format!("{url}/down")).unwrap().backoff(Duration::from_millis(20));
    let err = down.apply(&req25()).await.unwrap_err();
    assert!(matches!(err, ActuatorError::Http { status: 503, attempts: 3, .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("PUT {url}/down: HTTP 503 after 3 tries: maintenance"));
    assert!(started.elapsed() >= Duration::from_millis(60), "backoff 20 ms then 40 ms");
    assert_eq!(h.seen.lock().unwrap().len(), 3);
    let bad = Webhook::new("PUT", &format!("{url}/bad")).unwrap();
    let err = bad.apply(&req25()).await.unwrap_err();
    assert_eq!(err.to_string(), format!("PUT {url}/bad: HTTP 400 after 1 try: weights must add up"));
    assert_eq!(h.seen.lock().unwrap().len(), 4);
    // Nobody listening: a transport error, retried too.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gone = Webhook::new("PUT", &format!("http://127.0.0.1:{port}/x")).unwrap().backoff(Duration::from_millis(1));
    let err = gone.apply(&req25()).await.unwrap_err().to_string();
    assert_eq!(err, format!("PUT http://127.0.0.1:{port}/x: connection refused after 3 tries"));
}

#[tokio::test]
async fn webhook_reads_back_when_it_can() {
    let (url, _) = hook_server(0).await;
    let none = Webhook::new("PUT", &format!("{url}/ok")).unwrap();
    assert_eq!(none.read().await.unwrap(), None);
    let some = none.clone().read_url(&format!("{url}/weights")).unwrap();
    assert_eq!(some.read().await.unwrap(), Some(Weights { blue: 1, green: 3 }));
    let garbage = none.read_url(&format!("{url}/garbage")).unwrap();
    let err = garbage.read().await.unwrap_err().to_string();
    assert!(err.contains("<html>login</html>") && err.contains(r#"expected {"blue":N,"green":M}"#), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_moves_the_fleets_router_and_reads_it_back() {
    let fleet = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 0,
        target: None,
        smoke_rps: 0,
        initial_weights: Weights { blue: 0, green: 100 },
    })
    .await
    .unwrap();
    let weights_url = format!("{}/weights", fleet.info.admin);
    let hook = Webhook::new("PUT", &weights_url)
        .unwrap()
        .header("Content-Type", "application/json")
        .unwrap()
        .body(r#"{"blue":{blue},"green":{green}}"#)
        .read_url(&weights_url)
        .unwrap();
    let chain = Chain::new(vec![Actuator::Webhook(hook)]);
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 0, green: 100 }));

    // Through the stage machine: 0 % → 25 %.
    let s = TrafficState::new(TrafficSpec::default());
    let (s, effects) = s.advance(Some(25), &GateInputs::clear(), None, "alice", Ts(0)).unwrap();
    let Some(Effect::SetWeights { seq, .. }) = effects.iter().find(|e| matches!(e, Effect::SetWeights { .. })) else {
        panic!("no SetWeights in {effects:?}")
    };
    let report = chain.apply(&Request::from_effect(&effects[1]).unwrap()).await;
    assert!(report.is_complete(), "{report}");
    let (s, _) = s.applied(*seq, &report.summary(), Ts(1)).unwrap();
    assert_eq!(s.blue_percent, 25);
    let read = chain.read().await.unwrap().unwrap();
    assert_eq!(read, Weights { blue: 25, green: 75 });
    assert_eq!(s.drift(read), None);

    // The router really splits 25/75 (its weighted round-robin is exact).
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut blue = 0;
    for _ in 0..40 {
        let r = client.get(format!("{}/api/v1/orders", fleet.info.router)).send().await.unwrap();
        blue += usize::from(r.headers()["x-served-by"].to_str().unwrap().starts_with("blue/"));
    }
    assert_eq!(blue, 10);

    // Rollback: 0/100.
    let (s, effects) = s.rollback("test", "bob", Ts(2));
    let req = Request::from_effect(effects.iter().find(|e| matches!(e, Effect::SetWeights { .. })).unwrap()).unwrap();
    assert!(chain.apply(&req).await.is_complete());
    assert_eq!(s.drift(chain.read().await.unwrap().unwrap()), None);
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 0, green: 100 }));
    fleet.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Exec and manual, and chains of several actuators
// ---------------------------------------------------------------------------------------------

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// System programs rather than scripts written by the test: no shell anywhere, and no ETXTBSY
// from executing a file another thread's fork still holds open for writing.
const PRINTF: &str = "/usr/bin/printf";
const LS: &str = "/usr/bin/ls";
const SLEEP: &str = "/usr/bin/sleep";
const ECHO: &str = "/usr/bin/echo";
const TOUCH: &str = "/usr/bin/touch";

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cutover-{name}-{}-{:x}", std::process::id(), fastrand::u64(..)))
}

#[tokio::test]
async fn exec_substitutes_arguments_without_a_shell() {
    let template = argv(&[PRINTF, "[%s]\\n", "{blue}", "{green}", "stage {stage}", "$(echo {blue}); x"]);
    let req = req25();
    let rendered: Vec<String> = template.iter().map(|a| req.render(a)).collect();
    let out = cutover::actuators::exec::run(&rendered, Duration::from_secs(10)).await.unwrap();
    assert_eq!(out.stdout, "[25]\n[75]\n[stage 2]\n[$(echo 25); x]\n", "one argument each, nothing interpreted");
    let applied = Exec::new(template).unwrap().apply(&req).await.unwrap();
    assert_eq!(applied, Applied::Done { detail: "exit 0; stdout: [25] [75] [stage 2] [$(echo 25); x]".into() });
}

#[tokio::test]
async fn exec_reports_exit_codes_timeouts_and_missing_programs() {
    let err = Exec::new(argv(&[LS, "/nonexistent-{blue}"])).unwrap().apply(&req25()).await.unwrap_err();
    assert!(matches!(&err, ActuatorError::Exit { status, .. } if status == "exited with 2"), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("`/usr/bin/ls /nonexistent-25` exited with 2: "), "{text}");
    // ls's own words depend on the locale; the path it names does not.
    assert!(text.contains("'/nonexistent-25'"), "stderr is in the message: {text}");

    let started = Instant::now();
    let slow = Exec::new(argv(&[SLEEP, "30"])).unwrap().timeout(Duration::from_millis(300));
    let err = slow.apply(&req25()).await.unwrap_err();
    assert!(matches!(err, ActuatorError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "`/usr/bin/sleep 30` (killed): no answer within 300ms");
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout did not wait for the command");

    let err = Exec::new(argv(&["/nonexistent/set-split", "{blue}"])).unwrap().apply(&req25()).await.unwrap_err();
    assert!(err.to_string().starts_with("cannot run /nonexistent/set-split: "), "{err}");

    let reader = Exec::new(argv(&[ECHO])).unwrap();
    assert_eq!(reader.read().await.unwrap(), None);
    let reader = reader.read_argv(argv(&[ECHO, r#"{"blue":25,"green":75}"#])).unwrap();
    assert_eq!(reader.read().await.unwrap(), Some(Weights { blue: 25, green: 75 }));
    let garbage = Exec::new(argv(&[ECHO])).unwrap().read_argv(argv(&[ECHO, "25/75"])).unwrap();
    assert!(garbage.read().await.unwrap_err().to_string().contains(r#"expected {"blue":N,"green":M} on stdout"#));
}

#[tokio::test]
async fn a_chain_stops_at_the_first_failure_and_says_what_ran() {
    let (url, h) = hook_server(0).await;
    let out = temp_file("chain");
    let chain = Chain::new(vec![
        Actuator::Webhook(Webhook::new("PUT", &format!("{url}/ok")).unwrap()),
        Actuator::Exec(Exec::new(argv(&[LS, "/nonexistent"])).unwrap()),
        Actuator::Exec(Exec::new(argv(&[TOUCH, out.to_str().unwrap()])).unwrap()),
    ]);
    let req = req25();
    let report = chain.apply(&req).await;
    assert_eq!(report.done.len(), 1);
    assert_eq!(report.done[0].name, format!("webhook PUT {url}/ok"));
    assert!(matches!(report.stop, Some(ChainStop::Failed { index: 1, .. })), "{report:?}");
    assert_eq!(report.not_run, vec![format!("exec {TOUCH}")]);
    let summary = report.summary();
    let failed = format!("done: webhook PUT {url}/ok: HTTP 200; FAILED exec {LS}: `{LS} /nonexistent` exited with 2: ");
    assert!(summary.starts_with(&failed), "{summary}");
    assert!(summary.contains("'/nonexistent'"), "ls's stderr is in the summary: {summary}");
    assert!(summary.ends_with(&format!("; not run: exec {TOUCH}")), "{summary}");
    assert!(!out.exists(), "the step after the failure did not run");
    // Retry from the failed step onwards: the webhook is not called again.
    let retry = Chain::new(vec![
        Actuator::Webhook(Webhook::new("PUT", &format!("{url}/ok")).unwrap()),
        Actuator::Manual(Manual::default()),
        Actuator::Exec(Exec::new(argv(&[TOUCH, out.to_str().unwrap()])).unwrap()),
    ]);
    let report = retry.apply_from(&req, 1).await;
    assert_eq!(h.seen.lock().unwrap().len(), 1);
    match &report.stop {
        Some(ChainStop::NeedsConfirmation { index: 1, instruction }) => {
            assert!(instruction.contains("blue 25 / green 75"), "{instruction}");
        }
        other => panic!("{other:?}"),
    }
    // The operator confirmed: the rest runs.
    let report = retry.apply_from(&req, 2).await;
    assert!(report.is_complete(), "{report}");
    assert!(out.exists(), "the last step ran");
    let _ = std::fs::remove_file(out);
    assert_eq!(Chain::new(vec![Actuator::Manual(Manual::default())]).read().await.unwrap(), None);
}

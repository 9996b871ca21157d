//! The stage machine moving real traffic through a real HAProxy (runtime API on TCP) in front of
//! the simulated fleet's two API gateways.

#[path = "common/haproxy_server.rs"]
mod haproxy_server;

use std::net::SocketAddr;
use std::time::Duration;

use cutover::actuators::{Actuator, ActuatorError, Chain, ChainStop, Haproxy, Request};
use cutover::domain::env::{Env, Weights};
use cutover::domain::time::Ts;
use cutover::domain::traffic::{Effect, GateInputs, MINUTE_MS, TrafficSpec, TrafficState};
use cutover::fleet::{Fleet, FleetOptions};
use haproxy_server::{HaproxyServer, Options};

/// Nothing listens on port 1 of loopback: backends for tests that send no traffic.
fn nowhere() -> SocketAddr {
    "127.0.0.1:1".parse().unwrap()
}

fn haproxy_chain(socket: &str) -> Chain {
    Chain::new(vec![Actuator::Haproxy(Haproxy::new(socket, "app", "blue", "green").unwrap())])
}

async fn fleet() -> Fleet {
    Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 0,
        target: None,
        smoke_rps: 0,
        initial_weights: Weights { blue: 0, green: 100 },
    })
    .await
    .expect("start the fleet")
}

fn gateway(fleet: &Fleet, env: Env) -> SocketAddr {
    let s = fleet.info.services.iter().find(|s| s.env == env && s.service == "api-gateway").unwrap();
    s.url.trim_start_matches("http://").parse().unwrap()
}

/// Runs the effects' weight changes through `chain`, reporting each outcome back to the machine,
/// as the app does. Returns the new state and the failure report, if any.
async fn drive(chain: &Chain, step: (TrafficState, Vec<Effect>), now: Ts) -> (TrafficState, Option<String>) {
    let (mut state, effects) = step;
    let mut failure = None;
    for effect in &effects {
        let (Some(req), Effect::SetWeights { seq, .. }) = (Request::from_effect(effect), effect) else { continue };
        let report = chain.apply(&req).await;
        state = if report.is_complete() {
            state.applied(*seq, &report.summary(), now).unwrap().0
        } else {
            failure = Some(report.summary());
            state.apply_failed(*seq, &report.summary(), now).unwrap().0
        };
    }
    (state, failure)
}

/// Blue seen healthy once a minute from `from` to `to`: the soak counts that time.
fn healthy(s: &mut TrafficState, from: Ts, to: Ts) {
    let mut t = from;
    while t <= to {
        s.observe_soak(None, t);
        t = t.plus_ms(MINUTE_MS);
    }
}

/// 0 % → 10 % → (soak) → 25 % through `chain`; returns the state at 25 % and the virtual time.
async fn advance_to_25(chain: &Chain) -> (TrafficState, Ts) {
    let gates = GateInputs::clear();
    let s = TrafficState::new(TrafficSpec::default());
    let t0 = Ts(1_800_000_000_000);
    let (mut s, err) = drive(chain, s.advance(None, &gates, None, "alice", t0).unwrap(), t0).await;
    assert_eq!((err, s.blue_percent), (None, 10));
    let t1 = t0.plus_ms(30 * MINUTE_MS);
    healthy(&mut s, t0, t1);
    let (s, err) = drive(chain, s.advance(None, &gates, None, "alice", t1).unwrap(), t1).await;
    assert_eq!((err, s.blue_percent), (None, 25));
    (s, t1)
}

/// `n` GETs through HAProxy, each on a fresh connection (`Connection: close`, no pooling) so each
/// is balanced on its own. Returns how many answered 200.
async fn fire(url: &str, n: usize) -> usize {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let workers = 40;
    let mut set = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (client, url) = (client.clone(), format!("{url}/api/v1/orders"));
        set.spawn(async move {
            let mut ok = 0;
            for _ in (w..n).step_by(workers) {
                let r = client.get(&url).header("connection", "close").send().await.expect("request through HAProxy");
                ok += usize::from(r.status().is_success());
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += r.unwrap();
    }
    ok
}

/// (blue, green) sessions served since `before`, from `show stat`'s `stot` column.
fn served_since(hx: &HaproxyServer, before: (u64, u64)) -> (u64, u64) {
    (hx.served("app", "blue") - before.0, hx.served("app", "green") - before.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_25_percent_blue_serves_a_quarter_and_after_rollback_none() {
    let fleet = fleet().await;
    let hx = HaproxyServer::start(&Options::new(gateway(&fleet, Env::Blue), gateway(&fleet, Env::Green)));
    let chain = haproxy_chain(&hx.admin_socket());

    let (state, t) = advance_to_25(&chain).await;
    assert_eq!(hx.command("get weight app/blue").trim(), "25 (initial 0)");
    assert_eq!(hx.command("get weight app/green").trim(), "75 (initial 100)");
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 25, green: 75 }));
    assert_eq!(state.drift(Weights { blue: 25, green: 75 }), None);

    let before = (hx.served("app", "blue"), hx.served("app", "green"));
    let ok = fire(&hx.frontend_url(), 2000).await;
    let (blue, green) = served_since(&hx, before);
    assert_eq!(blue + green, 2000, "every request was balanced to blue or green");
    let share = blue as f64 * 100.0 / 2000.0;
    eprintln!("at 25%: blue served {blue} of 2000 ({share:.2}%), green {green}; {ok} answered 200");
    assert!((22.0..=28.0).contains(&share), "blue served {share:.2}% at 25% (want 25 ± 3)");
    assert!(ok >= 1990, "{ok} of 2000 answered 200");

    let step = state.rollback("error spike on blue", "bob", t.plus_ms(1000));
    let (state, err) = drive(&chain, step, t.plus_ms(2000)).await;
    assert_eq!(err, None);
    assert_eq!(state.blue_percent, 0);
    assert!(state.rollback.as_ref().unwrap().step(cutover::domain::traffic::StepKind::RouteTraffic).done_at.is_some());
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 0, green: 100 }));
    let before = (hx.served("app", "blue"), hx.served("app", "green"));
    fire(&hx.frontend_url(), 400).await;
    let (blue, green) = served_since(&hx, before);
    eprintln!("after rollback: blue served {blue} of 400, green {green}");
    assert_eq!((blue, green), (0, 400));
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_socket_gone_the_advance_fails_and_the_stage_stays() {
    let mut hx = HaproxyServer::start(&Options::new(nowhere(), nowhere()));
    let chain = haproxy_chain(&hx.admin_socket());
    let gates = GateInputs::clear();
    let s = TrafficState::new(TrafficSpec::default());
    let (mut s, err) = drive(&chain, s.advance(None, &gates, None, "alice", Ts(0)).unwrap(), Ts(0)).await;
    assert_eq!((err, s.blue_percent), (None, 10));

    hx.stop();
    let t = Ts(30 * MINUTE_MS);
    healthy(&mut s, Ts(0), t);
    let (after, err) = drive(&chain, s.advance(None, &gates, None, "alice", t).unwrap(), t).await;
    let err = err.expect("the advance failed");
    eprintln!("socket gone: {err}");
    let addr = hx.admin.to_string();
    assert!(err.contains(&addr) && err.contains("connection refused"), "{err}");
    assert_eq!((after.blue_percent, after.stage, after.history.len()), (10, Some(0), 1), "the stage did not change");
    assert!(after.pending.is_none());

    // A wrong port: same story, and the error names the address that was tried.
    let wrong =
        format!("ipv4@127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let chain = haproxy_chain(&wrong);
    let report = chain.apply(&Request::new(Weights { blue: 25, green: 75 }, "2")).await;
    match &report.stop {
        Some(ChainStop::Failed { index: 0, error: ActuatorError::Unreachable { addr, reason }, .. }) => {
            assert_eq!((addr.as_str(), reason.as_str()), (wrong.as_str(), "connection refused"));
        }
        other => panic!("{other:?}"),
    }
    assert!(report.summary().contains("is HAProxy running"), "{}", report.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_set_behind_cutovers_back_show_as_drift() {
    let hx = HaproxyServer::start(&Options::new(nowhere(), nowhere()));
    let chain = haproxy_chain(&hx.admin_socket());
    let (state, _) = advance_to_25(&chain).await;
    assert_eq!(hx.command("set weight app/blue 10").trim(), "");
    assert_eq!(hx.command("set weight app/green 90").trim(), "");
    let actual = chain.read().await.unwrap().expect("haproxy reads back");
    assert_eq!(actual, Weights { blue: 10, green: 90 });
    let drift = state.drift(actual).expect("drift");
    assert_eq!(drift.to_string(), "router says 10/90, cutover expects 25/75");
    // Same split, other scale: not drift.
    hx.command("set weight app/blue 50");
    hx.command("set weight app/green 150");
    assert_eq!(state.drift(chain.read().await.unwrap().unwrap()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_level_socket_says_admin_level_is_needed() {
    let hx = HaproxyServer::start(&Options { level: "operator", ..Options::new(nowhere(), nowhere()) });
    let chain = haproxy_chain(&hx.admin_socket());
    let s = TrafficState::new(TrafficSpec::default());
    let (after, err) = drive(&chain, s.advance(None, &GateInputs::clear(), None, "alice", Ts(0)).unwrap(), Ts(0)).await;
    let err = err.expect("operator level cannot set weights");
    eprintln!("operator level: {err}");
    assert!(err.contains("Permission denied") && err.contains("level admin"), "{err}");
    assert_eq!((after.blue_percent, after.history.len()), (0, 0));
    // Reading needs no admin level.
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 0, green: 100 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_servers_and_backends_are_named() {
    let hx = HaproxyServer::start(&Options::new(nowhere(), nowhere()));
    for (backend, blue, answer) in [("app", "blu", "No such server."), ("ap", "blue", "No such backend.")] {
        let h = Haproxy::new(&hx.admin_socket(), backend, blue, "green").unwrap();
        let err = h.apply(&Request::new(Weights { blue: 25, green: 75 }, "2")).await.unwrap_err();
        assert!(matches!(err, ActuatorError::NoSuchServer { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(answer) && text.contains("check the backend and server names"), "{text}");
    }
    let h = Haproxy::new(&hx.admin_socket(), "app", "blue", "green").unwrap();
    let err = h.apply(&Request::new(Weights { blue: 300, green: 0 }, "x")).await.unwrap_err();
    assert!(err.to_string().contains("0–256"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_works_over_a_unix_socket_too() {
    let hx = HaproxyServer::start(&Options::new(nowhere(), nowhere()));
    let socket = format!("unix@{}", hx.unix_socket().display());
    let chain = haproxy_chain(&socket);
    let report = chain.apply(&Request::new(Weights { blue: 50, green: 50 }, "3")).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(hx.command("get weight app/blue").trim(), "50 (initial 0)");
    assert_eq!(chain.read().await.unwrap(), Some(Weights { blue: 50, green: 50 }));
    let gone = haproxy_chain(&format!("{}.missing", hx.unix_socket().display()));
    let err = gone.read().await.unwrap_err().to_string();
    assert!(err.contains("admin.sock.missing") && err.contains("no such socket file"), "{err}");
}

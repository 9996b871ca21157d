//! The simulated fleet against real HTTP: the `cutover fleet` binary and the library API.

#[path = "common/fleet_proc.rs"]
mod fleet_proc;

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cutover::domain::env::{Env, Weights};
use cutover::fleet::{Fleet, FleetInfo, FleetOptions, SERVICES};
use fleet_proc::FleetProc;

const DEADLINE: Duration = Duration::from_secs(60);

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap()
}

async fn start(weights: Weights) -> Fleet {
    Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 0,
        target: None,
        smoke_rps: 0,
        initial_weights: weights,
    })
    .await
    .expect("start the fleet")
}

fn port_of(url: &str) -> u16 {
    url.trim_start_matches("http://").split(['/', ':']).nth(1).unwrap().parse().unwrap()
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, String, String) {
    let r = c.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

async fn send(c: &reqwest::Client, method: reqwest::Method, url: &str, body: &str) -> (u16, String) {
    let r = c.request(method, url).body(body.to_string()).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// `n` GETs with `concurrency` workers; returns the status codes.
async fn fire(c: &reqwest::Client, url: &str, n: usize, concurrency: usize) -> Vec<u16> {
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (c, url) = (c.clone(), url.to_string());
        workers.spawn(async move {
            let mut codes = Vec::new();
            for _ in (w..n).step_by(concurrency) {
                codes.push(c.get(&url).send().await.expect("request").status().as_u16());
            }
            codes
        });
    }
    workers.join_all().await.concat()
}

/// Sum of a counter's samples whose labels include every `filter` pair.
fn counter(metrics: &str, name: &str, filter: &[(&str, &str)]) -> u64 {
    let mut sum = 0;
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else { continue };
        let (labels, value) = rest.split_once("} ").expect("a sample line");
        let pairs: Vec<(&str, &str)> =
            labels.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k, v.trim_matches('"'))).collect();
        if filter.iter().all(|f| pairs.contains(f)) {
            sum += value.parse::<f64>().unwrap() as u64;
        }
    }
    sum
}

async fn metrics_of(c: &reqwest::Client, info: &FleetInfo, i: usize) -> String {
    get(c, &info.services[i].metrics).await.2
}

/// Requests answered per environment, summed over its services' `http_requests_total`.
async fn served(c: &reqwest::Client, info: &FleetInfo) -> [u64; 2] {
    let mut by_env = [0, 0];
    for (i, s) in info.services.iter().enumerate() {
        by_env[s.env.index()] += counter(&metrics_of(c, info, i).await, "http_requests_total", &[]);
    }
    by_env
}

/// Polls `check` until it passes or `DEADLINE` runs out; panics with its last complaint.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: still not true after {DEADLINE:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_the_fleet_as_one_json_line() {
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "0", "--smoke-rps", "0"]);
    let info = &fleet.info;
    assert_eq!(info.services.len(), 12);
    assert_eq!(info.admin, format!("{}/admin", info.router));
    for (i, s) in info.services.iter().enumerate() {
        assert_eq!(s.env, if i < 6 { Env::Blue } else { Env::Green });
        assert_eq!(s.service, SERVICES[i % 6]);
        assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
        assert_eq!((s.metrics.clone(), s.health.clone()), (format!("{}/metrics", s.url), format!("{}/health", s.url)));
    }
    let ports: HashSet<u16> = info.services.iter().map(|s| port_of(&s.url)).chain([port_of(&info.router)]).collect();
    assert_eq!(ports.len(), 13, "distinct ports: {info:?}");

    let c = http();
    for s in &info.services {
        let (code, ct, body) = get(&c, &s.health).await;
        assert_eq!((code, ct.as_str()), (200, "application/health+json"), "{}: {body}", s.health);
        assert!(body.contains(r#""status":"pass""#), "{body}");
    }
    let (code, _, body) = get(&c, &format!("{}/weights", info.admin)).await;
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Weights>(&body).unwrap(), Weights { blue: 0, green: 100 });
}

#[test]
fn binary_exits_zero_on_sigterm_and_sigint() {
    for sig in ["TERM", "INT"] {
        let mut fleet = FleetProc::start(&["--rps", "20", "--smoke-rps", "5"]);
        fleet.signal(sig);
        let status = fleet.wait_exit(Duration::from_secs(30));
        assert!(status.is_some_and(|s| s.code() == Some(0)), "SIG{sig}: {status:?}; stderr: {}", fleet.stderr());
    }
}

#[test]
fn binary_names_a_port_in_use_and_exits_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let Err(failed) = FleetProc::try_start(&["--listen", &addr, "--rps", "0", "--smoke-rps", "0"]) else {
        panic!("the fleet started on {addr}, which is taken");
    };
    assert_eq!(failed.status.and_then(|s| s.code()), Some(1), "stderr: {}", failed.stderr);
    assert!(failed.stderr.contains(&addr), "stderr should name {addr}: {}", failed.stderr);
}

/// 13 consecutive ports free right now (another process may still take one before the fleet
/// binds it, so the caller retries).
fn free_port_run() -> u16 {
    for _ in 0..50 {
        let base = fastrand::u16(20000..60000);
        if (0..13).map(|i| TcpListener::bind(("127.0.0.1", base + i))).all(|l| l.is_ok()) {
            return base;
        }
    }
    panic!("no 13 consecutive free ports found in 20000..60000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_with_a_fixed_port_uses_the_next_twelve() {
    let mut attempt = 0;
    let (fleet, base) = loop {
        attempt += 1;
        let base = free_port_run();
        let listen = format!("127.0.0.1:{base}");
        match FleetProc::try_start(&["--listen", &listen, "--rps", "0", "--smoke-rps", "0"]) {
            Ok(f) => break (f, base),
            Err(failed) if attempt < 5 && failed.stderr.contains("cannot listen") => continue,
            Err(failed) => panic!("fleet on {listen}: exit {:?}, stderr: {}", failed.status, failed.stderr),
        }
    };
    let info = &fleet.info;
    assert_eq!(info.router, format!("http://127.0.0.1:{base}"));
    assert_eq!(info.admin, format!("http://127.0.0.1:{base}/admin"));
    for (i, s) in info.services.iter().enumerate() {
        assert_eq!(port_of(&s.url), base + 1 + i as u16, "{s:?}");
    }
    let blue_gateway = &info.services[3];
    assert_eq!((blue_gateway.env, blue_gateway.service.as_str()), (Env::Blue, "api-gateway"));
    assert_eq!(blue_gateway.url, format!("http://127.0.0.1:{}", base + 4));
    let green_frontend = &info.services[11];
    assert_eq!((green_frontend.env, green_frontend.service.as_str()), (Env::Green, "frontend"));
    assert_eq!(green_frontend.url, format!("http://127.0.0.1:{}", base + 12));

    let c = http();
    assert_eq!(get(&c, &green_frontend.health).await.0, 200);
    let (code, _, body) = get(&c, &format!("{}/api/v1/orders", blue_gateway.url)).await;
    assert!(code == 200 || code == 500, "{code} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_load_reaches_the_routed_env_and_smoke_reaches_every_blue_service() {
    // Initial weights are blue 0 / green 100: routed load lands on green, smoke on blue.
    let fleet = FleetProc::start(&["--listen", "127.0.0.1:0", "--rps", "50", "--smoke-rps", "10"]);
    let c = http();
    let info = fleet.info.clone();
    eventually("routed load on green and smoke on all six blue services", || {
        let (c, info) = (c.clone(), info.clone());
        async move {
            let mut blue = Vec::new();
            for i in 0..6 {
                blue.push(counter(&metrics_of(&c, &info, i).await, "http_requests_total", &[]));
            }
            let [_, green] = served(&c, &info).await;
            let events = counter(&metrics_of(&c, &info, 9).await, "events_published_total", &[]);
            if green >= 25 && blue.iter().all(|n| *n >= 1) && events >= 1 {
                Ok(())
            } else {
                Err(format!("green {green}, blue per service {blue:?}, green api-gateway events {events}"))
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_splits_10_90_exactly_and_validates_weights() {
    let fleet = start(Weights { blue: 0, green: 100 }).await;
    let (info, c) = (&fleet.info, http());
    let weights = format!("{}/weights", info.admin);
    let (code, body) = send(&c, reqwest::Method::PUT, &weights, r#"{"blue":10,"green":90}"#).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(get(&c, &weights).await.2, r#"{"blue":10,"green":90}"#);

    let codes = fire(&c, &format!("{}/api/v1/orders", info.router), 1000, 50).await;
    assert!(codes.iter().all(|c| *c == 200 || *c == 500), "unexpected codes: {codes:?}");
    let [blue, green] = served(&c, info).await;
    let share = blue as f64 * 100.0 / (blue + green) as f64;
    eprintln!("10/90 over 1000 requests: blue served {blue}, green {green} ({share:.1} % blue)");
    assert_eq!((blue, green), (100, 900), "smooth WRR is exact");
    for i in 0..6 {
        // Round-robin inside blue: 100 requests over six services.
        let n = counter(&metrics_of(&c, info, i).await, "http_requests_total", &[]);
        assert!((16..=17).contains(&n), "{}: {n}", info.services[i].service);
    }

    let (code, body) = send(&c, reqwest::Method::PUT, &weights, r#"{"blue":10,"green":"ninety"}"#).await;
    assert_eq!(code, 400);
    assert!(body.contains("invalid weights") && body.contains(r#"{"blue":10,"green":90}"#), "{body}");
    let (code, _) = send(&c, reqwest::Method::PUT, &weights, "not json").await;
    assert_eq!(code, 400);
    assert_eq!(get(&c, &weights).await.2, r#"{"blue":10,"green":90}"#, "a rejected PUT changes nothing");

    assert_eq!(send(&c, reqwest::Method::PUT, &weights, r#"{"blue":0,"green":0}"#).await.0, 200);
    let (code, _, body) = get(&c, &format!("{}/anything", info.router)).await;
    assert_eq!(code, 503);
    assert!(body.contains("no weights"), "{body}");
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metrics_endpoint_passes_promtool() {
    let fleet = start(Weights { blue: 50, green: 50 }).await;
    let (info, c) = (&fleet.info, http());
    // Some 5xx too, so every kind of series has samples.
    let fault = r#"{"env":"green","service":"*","error_ratio":0.5}"#;
    assert_eq!(send(&c, reqwest::Method::POST, &format!("{}/faults", info.admin), fault).await.0, 200);
    fire(&c, &format!("{}/api/v1/search?q=x", info.router), 240, 40).await;

    for s in &info.services {
        let (code, ct, body) = get(&c, &s.metrics).await;
        assert_eq!(code, 200);
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{}: content type {ct}", s.metrics);
        let labels = [("service", s.service.as_str()), ("env", s.env.key())];
        assert_eq!(counter(&body, "http_request_duration_seconds_count", &labels), 20, "{body}");
        for name in ["# TYPE http_requests_total counter", "# TYPE event_delivery_latency_seconds histogram"] {
            assert!(body.contains(name), "{}: no {name}", s.metrics);
        }
        let mut promtool = match Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(p) => p,
            Err(e) => panic!("cannot run promtool ({e}): install it with `apt-get install -y prometheus`"),
        };
        promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let out = promtool.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics failed for {}:\n{}{}\n--- body ---\n{body}",
            s.metrics,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_fault_fails_health_and_requests_until_cleared() {
    let fleet = start(Weights { blue: 0, green: 100 }).await;
    let (info, c) = (&fleet.info, http());
    let faults = format!("{}/faults", info.admin);
    let gateway = &info.services[3];
    assert_eq!((gateway.env, gateway.service.as_str()), (Env::Blue, "api-gateway"));

    let (code, body) =
        send(&c, reqwest::Method::POST, &faults, r#"{"env":"blue","service":"api-gateway","down":true}"#).await;
    assert_eq!(code, 200, "{body}");
    let (code, ct, body) = get(&c, &gateway.health).await;
    assert_eq!((code, ct.as_str()), (503, "application/health+json"));
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "fail", "{body}");
    assert_eq!(fire(&c, &format!("{}/api/v1/orders", gateway.url), 5, 5).await, vec![503; 5]);
    let metrics = get(&c, &gateway.metrics).await.2;
    assert_eq!(counter(&metrics, "http_requests_total", &[("code", "503")]), 5);
    // The rest of blue is untouched.
    let (code, _, body) = get(&c, &info.services[5].health).await;
    assert!(code == 200 && body.contains(r#""status":"pass""#), "{body}");
    let listed: serde_json::Value = serde_json::from_str(&get(&c, &faults).await.2).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    assert_eq!(send(&c, reqwest::Method::DELETE, &faults, "").await, (200, "[]".to_string()));
    let (code, _, body) = get(&c, &gateway.health).await;
    assert!(code == 200 && body.contains(r#""status":"pass""#), "{body}");
    assert_ne!(get(&c, &format!("{}/api/v1/orders", gateway.url)).await.0, 503);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_and_latency_faults_show_in_metrics_and_health() {
    let fleet = start(Weights { blue: 100, green: 0 }).await;
    let (info, c) = (&fleet.info, http());
    let faults = format!("{}/faults", info.admin);

    // Every green retrieval-service request fails: exactly as many 500s as requests.
    let retrieval = &info.services[8];
    assert_eq!((retrieval.env, retrieval.service.as_str()), (Env::Green, "retrieval-service"));
    let fault = r#"{"env":"green","service":"retrieval-service","error_ratio":1.0}"#;
    assert_eq!(send(&c, reqwest::Method::POST, &faults, fault).await.0, 200);
    assert_eq!(fire(&c, &format!("{}/x", retrieval.url), 30, 10).await, vec![500; 30]);
    let metrics = get(&c, &retrieval.metrics).await.2;
    assert_eq!(counter(&metrics, "http_requests_total", &[("code", "500")]), 30);
    assert_eq!(counter(&metrics, "http_requests_total", &[("code", "200")]), 0);
    let (code, _, body) = get(&c, &retrieval.health).await;
    assert!(code == 200 && body.contains(r#""status":"warn""#), "{code} {body}");

    // A fault on all of blue shows through the router.
    let fault = r#"{"env":"blue","service":"*","error_ratio":1.0}"#;
    assert_eq!(send(&c, reqwest::Method::POST, &faults, fault).await.0, 200);
    assert_eq!(fire(&c, &format!("{}/y", info.router), 12, 4).await, vec![500; 12]);

    // Extra latency really delays answers and event delivery, and warns from 1 s on.
    let bus = &info.services[10];
    let fault = r#"{"env":"green","service":"event-bus","extra_latency_ms":1200}"#;
    assert_eq!(send(&c, reqwest::Method::POST, &faults, fault).await.0, 200);
    let t0 = Instant::now();
    let (code, _, _) = get(&c, &format!("{}/z", bus.url)).await;
    assert!(t0.elapsed() >= Duration::from_millis(1200), "answered after {:?}", t0.elapsed());
    let metrics = get(&c, &bus.metrics).await.2;
    if code == 200 {
        let sum_line = metrics.lines().find(|l| l.starts_with("event_delivery_latency_seconds_sum")).unwrap();
        let sum: f64 = sum_line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(sum >= 1.2, "{sum_line}");
    }
    assert!(metrics.contains(r#"http_request_duration_seconds_bucket{service="event-bus",env="green",le="1"} 0"#));
    let (code, _, body) = get(&c, &bus.health).await;
    assert!(code == 200 && body.contains(r#""status":"warn""#), "{code} {body}");
    let listed: serde_json::Value = serde_json::from_str(&get(&c, &faults).await.2).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    // Bad faults are refused with reasons.
    let (code, body) = send(&c, reqwest::Method::POST, &faults, r#"{"env":"blue","service":"payments"}"#).await;
    assert_eq!(code, 400);
    assert!(body.contains("payments") && body.contains("api-gateway"), "{body}");
    let (code, body) = send(&c, reqwest::Method::POST, &faults, r#"{"env":"purple"}"#).await;
    assert!(code == 400 && body.contains("invalid fault"), "{code} {body}");
    let (code, _) = send(&c, reqwest::Method::POST, &faults, r#"{"env":"blue","error_ratio":6}"#).await;
    assert_eq!(code, 400);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_can_target_another_router_and_shutdown_stops_serving() {
    let a = start(Weights { blue: 0, green: 100 }).await;
    let b = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 40,
        target: Some(format!("{}/", a.info.router)),
        smoke_rps: 0,
        initial_weights: Weights { blue: 50, green: 50 },
    })
    .await
    .unwrap();
    let c = http();
    let info = a.info.clone();
    eventually("B's load reaching A's green", || {
        let (c, info) = (c.clone(), info.clone());
        async move {
            let [blue, green] = served(&c, &info).await;
            if green >= 10 && blue == 0 { Ok(()) } else { Err(format!("A served blue {blue}, green {green}")) }
        }
    })
    .await;
    assert_eq!(served(&c, &b.info).await, [0, 0], "B's own fleet gets nothing when the load targets A");

    let (router, gateway) = (a.info.router.clone(), a.info.services[3].url.clone());
    b.shutdown().await;
    a.shutdown().await;
    for url in [router, gateway] {
        assert!(c.get(&url).send().await.is_err(), "{url} still answers after shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_target_is_refused_before_anything_starts() {
    let err = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 10,
        target: Some("not a url".into()),
        smoke_rps: 0,
        initial_weights: Weights { blue: 0, green: 100 },
    })
    .await
    .err()
    .expect("a bad target fails");
    assert!(err.to_string().contains("not a url"), "{err}");
}

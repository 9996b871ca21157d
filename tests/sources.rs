//! The scrape source against small axum servers started here, on 127.0.0.1 with ports
//! chosen at run time (the health poller is in `tests/health.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use cutover::domain::cockpit::Event;
use cutover::domain::env::Env;
use cutover::domain::sli::SliKind;
use cutover::domain::slo::Outcome;
use cutover::sources::scrape::{ScrapeConfig, ScrapeTarget};
use cutover::sources::{Sink, scrape};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

const DEADLINE: Duration = Duration::from_secs(10);

/// A server on a free port that shuts down gracefully on `stop` (closing kept-alive
/// connections too) and is aborted when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(app: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Server { addr, stop: Some(tx), task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        timeout(DEADLINE, &mut self.task).await.expect("server did not stop").unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `/metrics` endpoint whose status and body the test changes.
#[derive(Clone)]
struct Metrics {
    status: Arc<AtomicU16>,
    body: Arc<Mutex<String>>,
}

impl Metrics {
    async fn serve(body: String) -> (Metrics, Server) {
        let m = Metrics { status: Arc::new(AtomicU16::new(200)), body: Arc::new(Mutex::new(body)) };
        let app = Router::new().route("/metrics", get(metrics_handler)).with_state(m.clone());
        (m, Server::start(app).await)
    }

    fn set(&self, status: u16, body: String) {
        // Body first: a round never sees the new status with the old body.
        *self.body.lock().unwrap() = body;
        self.status.store(status, Ordering::SeqCst);
    }
}

async fn metrics_handler(State(m): State<Metrics>) -> impl IntoResponse {
    let status = StatusCode::from_u16(m.status.load(Ordering::SeqCst)).unwrap();
    let body = m.body.lock().unwrap().clone();
    (status, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Counters of one service, exposed the way a Prometheus client library would.
#[derive(Clone, Copy)]
struct Counts {
    ok: u64,
    errors_500: u64,
    errors_503: Option<u64>,
    /// Cumulative request duration buckets: le 0.1, 0.25, 0.5, 1, +Inf.
    duration: [u64; 5],
    /// Cumulative event delivery buckets: le 0.05, 0.1, 0.25, 0.5, +Inf; `None`: not exposed.
    events: Option<[u64; 5]>,
}

fn exposition(service: &str, env: &str, c: Counts) -> String {
    let l = format!(r#"service="{service}",env="{env}""#);
    let mut s = String::new();
    s += "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n";
    s += &format!("http_requests_total{{{l},code=\"200\"}} {}\n", c.ok);
    s += &format!("http_requests_total{{{l},code=\"500\"}} {}\n", c.errors_500);
    if let Some(n) = c.errors_503 {
        s += &format!("http_requests_total{{{l},code=\"503\"}} {n}\n");
    }
    s += "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n";
    for (le, n) in ["0.1", "0.25", "0.5", "1", "+Inf"].iter().zip(c.duration) {
        s += &format!("http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {n}\n");
    }
    s += &format!("http_request_duration_seconds_sum{{{l}}} {}\n", c.duration[4] as f64 * 0.2);
    s += &format!("http_request_duration_seconds_count{{{l}}} {}\n", c.duration[4]);
    if let Some(ev) = c.events {
        s += "# TYPE events_published_total counter\n";
        s += &format!("events_published_total{{{l}}} {}\n", ev[4]);
        s += "# TYPE event_delivery_latency_seconds histogram\n";
        for (le, n) in ["0.05", "0.1", "0.25", "0.5", "+Inf"].iter().zip(ev) {
            s += &format!("event_delivery_latency_seconds_bucket{{{l},le=\"{le}\"}} {n}\n");
        }
        let sum = if ev[4] == 0 { "NaN".to_string() } else { (ev[4] as f64 * 0.1).to_string() };
        s += &format!("event_delivery_latency_seconds_sum{{{l}}} {sum}\n");
        s += &format!("event_delivery_latency_seconds_count{{{l}}} {}\n", ev[4]);
    }
    s
}

fn channel_sink() -> (Sink, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    (sink, rx)
}

/// The newest outcome per (slo, env), as the cockpit would hold it.
#[derive(Default, Debug)]
struct Latest(HashMap<(usize, Env), Outcome>);

impl Latest {
    fn get(&self, slo: usize, env: Env) -> Option<&Outcome> {
        self.0.get(&(slo, env))
    }

    fn value(&self, slo: usize, env: Env) -> Option<f64> {
        match self.get(slo, env) {
            Some(Outcome::Value(v)) => Some(*v),
            _ => None,
        }
    }

    fn error(&self, slo: usize, env: Env) -> Option<&str> {
        match self.get(slo, env) {
            Some(Outcome::Error(e)) => Some(e),
            _ => None,
        }
    }

    /// Reads samples until `done` holds after one (or the deadline passes).
    async fn until(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Event>,
        what: &str,
        mut done: impl FnMut(&Latest, usize, Env) -> bool,
    ) {
        let end = Instant::now() + DEADLINE;
        loop {
            let Ok(Some(ev)) = tokio::time::timeout_at(end, rx.recv()).await else {
                panic!("timed out waiting for {what}; latest: {self:#?}");
            };
            if let Event::Sample { slo, env, outcome } = ev {
                self.0.insert((slo, env), outcome);
                if done(self, slo, env) {
                    return;
                }
            }
        }
    }
}

fn close(v: Option<f64>, want: f64) -> bool {
    v.is_some_and(|v| (v - want).abs() < 1e-9)
}

/// After the handle is aborted every task holding the sink ends: the channel closes.
async fn assert_stops(handle: JoinHandle<()>, mut rx: mpsc::UnboundedReceiver<Event>) {
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    let drained = timeout(DEADLINE, async { while rx.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "a sub-task still holds the sink after abort");
}

const ERROR_RATIO: usize = 0;
const P95: usize = 1;
const AVAILABILITY: usize = 2;
const EVENT_P95: usize = 3;
const THROUGHPUT: usize = 4;

fn all_slos() -> Vec<(usize, SliKind)> {
    vec![
        (ERROR_RATIO, SliKind::ErrorRatio),
        (P95, SliKind::P95Latency),
        (AVAILABILITY, SliKind::Availability),
        (EVENT_P95, SliKind::EventLatencyP95),
        (THROUGHPUT, SliKind::Throughput),
    ]
}

fn config(targets: Vec<ScrapeTarget>) -> ScrapeConfig {
    ScrapeConfig {
        targets,
        slos: all_slos(),
        min_counts: Vec::new(),
        interval: Duration::from_millis(150),
        window: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_derives_hand_computed_values_per_environment() {
    let zero = [0; 5];
    let b1_a = Counts { ok: 1000, errors_500: 10, errors_503: None, duration: zero, events: Some(zero) };
    let b2_a = Counts { ok: 500, errors_500: 0, errors_503: None, duration: zero, events: None };
    let g1 = Counts { ok: 100, errors_500: 0, errors_503: None, duration: [50, 80, 95, 100, 100], events: Some(zero) };
    let (b1, b1_srv) = Metrics::serve(exposition("api-gateway", "blue", b1_a)).await;
    let (b2, b2_srv) = Metrics::serve(exposition("indexing-service", "blue", b2_a)).await;
    let (_g1, g1_srv) = Metrics::serve(exposition("api-gateway", "green", g1)).await;
    let cfg = config(vec![
        ScrapeTarget { env: Env::Blue, url: b1_srv.url("/metrics") },
        ScrapeTarget { env: Env::Blue, url: b2_srv.url("/metrics") },
        ScrapeTarget { env: Env::Green, url: g1_srv.url("/metrics") },
    ]);
    let (sink, mut rx) = channel_sink();
    let started = Instant::now();
    let handle = scrape::spawn(cfg, cutover::sources::client(), sink);

    // The first round has one snapshot per target: no data everywhere, not zero.
    let mut latest = Latest::default();
    latest.until(&mut rx, "the first round", |l, _, _| l.0.len() == 10).await;
    for ((slo, env), outcome) in &latest.0 {
        assert_eq!(outcome, &Outcome::NoData, "slo {slo} {env} after one scrape");
    }

    // blue/api-gateway:      200: 1000 -> 1090, 500: 10 -> 20           all +100, 5xx +10
    // blue/indexing-service: 200:  500 ->  790, 503: absent -> 10       all +300, 5xx +10
    b1.set(
        200,
        exposition(
            "api-gateway",
            "blue",
            Counts {
                ok: 1090,
                errors_500: 20,
                errors_503: None,
                duration: [60, 90, 98, 100, 100],
                events: Some([10, 50, 90, 100, 100]),
            },
        ),
    );
    b2.set(
        200,
        exposition(
            "indexing-service",
            "blue",
            Counts { ok: 790, errors_500: 0, errors_503: Some(10), duration: [240, 280, 300, 300, 300], events: None },
        ),
    );

    // Blue, summed before dividing: 5xx 20 of 400 requests = 5 %, availability 95 %.
    // Durations summed per bucket: 300 370 398 400 400; rank 0.95 * 400 = 380 falls in
    // (0.25, 0.5]: 0.25 + 0.25 * (380 - 370) / (398 - 370).
    // Event latency from api-gateway alone (indexing exposes none): 10 50 90 100 100,
    // rank 95 in (0.25, 0.5]: 0.25 + 0.25 * (95 - 90) / (100 - 90) = 0.375.
    let p95 = 0.25 + 0.25 * 10.0 / 28.0;
    latest
        .until(&mut rx, "blue values from the changed counters", |l, slo, env| {
            // Checked when the round's last blue sample (throughput) is in.
            (slo, env) == (THROUGHPUT, Env::Blue)
                && close(l.value(ERROR_RATIO, Env::Blue), 0.05)
                && close(l.value(AVAILABILITY, Env::Blue), 0.95)
                && close(l.value(P95, Env::Blue), p95)
                && close(l.value(EVENT_P95, Env::Blue), 0.375)
        })
        .await;
    // 400 requests over what each target's snapshots cover: no more than the time since
    // the start, and (scrapes being ~150 ms apart, give or take response times) > 100 ms.
    let rate = latest.value(THROUGHPUT, Env::Blue).expect("blue throughput");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(rate >= 400.0 / elapsed && rate <= 400.0 / 0.1, "{rate}/s after {elapsed}s");

    // Green never changed: 0/0 is no data, but the rate is a real 0/s.
    latest.until(&mut rx, "a green round", |_, _, env| env == Env::Green).await;
    latest.until(&mut rx, "the rest of the green round", |_, slo, env| env == Env::Green && slo == THROUGHPUT).await;
    assert_eq!(latest.get(ERROR_RATIO, Env::Green), Some(&Outcome::NoData));
    assert_eq!(latest.get(AVAILABILITY, Env::Green), Some(&Outcome::NoData));
    assert_eq!(latest.get(P95, Env::Green), Some(&Outcome::NoData));
    assert_eq!(latest.get(EVENT_P95, Env::Green), Some(&Outcome::NoData));
    assert_eq!(latest.get(THROUGHPUT, Env::Green), Some(&Outcome::Value(0.0)));

    assert_stops(handle, rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_errors_name_the_failing_target() {
    let counts = Counts { ok: 100, errors_500: 1, errors_503: None, duration: [1, 2, 3, 4, 4], events: Some([0; 5]) };
    let (b1, mut b1_srv) = Metrics::serve(exposition("api-gateway", "blue", counts)).await;
    let (_b2, b2_srv) = Metrics::serve(exposition("frontend", "blue", counts)).await;
    let (g1, g1_srv) = Metrics::serve(exposition("api-gateway", "green", counts)).await;
    let (b1_url, b2_url, g1_url) = (b1_srv.url("/metrics"), b2_srv.url("/metrics"), g1_srv.url("/metrics"));
    let mut cfg = config(vec![
        ScrapeTarget { env: Env::Blue, url: b1_url.clone() },
        ScrapeTarget { env: Env::Blue, url: b2_url.clone() },
        ScrapeTarget { env: Env::Green, url: g1_url.clone() },
    ]);
    cfg.slos = vec![(ERROR_RATIO, SliKind::ErrorRatio), (P95, SliKind::P95Latency)];
    let (sink, mut rx) = channel_sink();
    let handle = scrape::spawn(cfg, cutover::sources::client(), sink);
    let mut latest = Latest::default();
    latest.until(&mut rx, "the first round", |l, _, _| l.0.len() == 4).await;

    // A 503 from one of two blue targets: blue is an error naming that one only.
    b1.set(503, "unavailable".into());
    latest.until(&mut rx, "a blue error", |l, _, _| l.error(ERROR_RATIO, Env::Blue).is_some()).await;
    let e = latest.error(ERROR_RATIO, Env::Blue).unwrap().to_string();
    assert_eq!(e, format!("1 of 2 blue targets failed: HTTP 503 from {b1_url}"));
    // The same round for green is unaffected.
    latest.until(&mut rx, "green in the same round", |_, slo, env| env == Env::Green && slo == P95).await;
    assert!(latest.error(ERROR_RATIO, Env::Green).is_none(), "{latest:?}");

    // A login page instead of metrics.
    b1.set(200, include_str!("fixtures/metrics/login-page.html").into());
    latest
        .until(&mut rx, "an HTML error", |l, _, _| l.error(ERROR_RATIO, Env::Blue).is_some_and(|e| e.contains("HTML")))
        .await;
    let e = latest.error(ERROR_RATIO, Env::Blue).unwrap();
    assert!(e.contains(&b1_url) && e.contains("http_requests_total") && !e.contains(&b2_url), "{e}");

    // Back to good: blue has values again (the window spans the outage).
    b1.set(200, exposition("api-gateway", "blue", counts));
    latest.until(&mut rx, "blue recovering", |l, _, _| l.get(ERROR_RATIO, Env::Blue) == Some(&Outcome::NoData)).await;

    // Green stops exposing durations: the latency SLO says what is missing, the error
    // ratio goes on.
    g1.set(200, include_str!("fixtures/metrics/requests-only.txt").into());
    latest
        .until(&mut rx, "green missing a family", |l, slo, env| {
            env == Env::Green && slo == P95 && l.error(P95, Env::Green).is_some()
        })
        .await;
    assert_eq!(
        latest.error(P95, Env::Green),
        Some(format!("no http_request_duration_seconds in the metrics of {g1_url}").as_str())
    );
    assert!(latest.error(ERROR_RATIO, Env::Green).is_none(), "{latest:?}");

    // The target goes away: the error names the URL and the reason.
    b1_srv.stop().await;
    latest
        .until(&mut rx, "connection refused", |l, _, _| {
            l.error(ERROR_RATIO, Env::Blue).is_some_and(|e| e.contains("connection refused"))
        })
        .await;
    let e = latest.error(ERROR_RATIO, Env::Blue).unwrap();
    assert_eq!(e, format!("1 of 2 blue targets failed: GET {b1_url}: connection refused"));

    assert_stops(handle, rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_line_of_a_needed_family_is_an_error_naming_it() {
    let counts = Counts { ok: 100, errors_500: 1, errors_503: None, duration: [1, 2, 3, 4, 4], events: None };
    let good = exposition("api-gateway", "blue", counts);
    let (m, srv) = Metrics::serve(good.clone()).await;
    let url = srv.url("/metrics");
    let mut cfg = config(vec![ScrapeTarget { env: Env::Blue, url: url.clone() }]);
    cfg.slos = vec![(ERROR_RATIO, SliKind::ErrorRatio)];
    let (sink, mut rx) = channel_sink();
    let handle = scrape::spawn(cfg, cutover::sources::client(), sink);
    let mut latest = Latest::default();
    latest.until(&mut rx, "the first round", |l, _, _| l.0.len() == 1).await;

    // A 5xx series the old parser would have dropped without a word (a `}` in a label value
    // breaking the line is the same kind of loss): the error rate must not quietly improve.
    let broken = format!("{good}http_requests_total{{code=\"503\",path=\"/a\" 7\n");
    let line = broken.lines().count();
    m.set(200, broken);
    latest.until(&mut rx, "an error", |l, _, _| l.error(ERROR_RATIO, Env::Blue).is_some()).await;
    let e = latest.error(ERROR_RATIO, Env::Blue).unwrap();
    let want = format!("{url}: 1 unreadable line of http_requests_total (sums would be short): line {line}: ");
    assert!(e.starts_with(&want), "{e}");

    // Unreadable lines of other metrics do not stop the SLO (they are logged).
    m.set(200, format!("{good}go_goroutines{{ 12\n"));
    latest.until(&mut rx, "no data again", |l, _, _| l.get(ERROR_RATIO, Env::Blue) == Some(&Outcome::NoData)).await;
    assert_stops(handle, rx).await;
}

/// The outage seen in a probe: every blue request a fast 503, and the p95 of those shown as a
/// fine 0.00 s. With a minimum of successful requests it is no data with the reason, while the
/// error rate (every request counts) is judged: 100 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outage_is_no_data_for_latency_not_a_fast_p95() {
    use cutover::domain::env::Weights;
    use cutover::fleet::{Fleet, FleetOptions};
    let fleet = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 0,
        smoke_rps: 60,
        target: None,
        initial_weights: Weights { blue: 0, green: 100 },
    })
    .await
    .expect("start the fleet");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let fault = http
        .post(format!("{}/faults", fleet.info.admin))
        .body(r#"{"env":"blue","service":"*","down":true}"#)
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success(), "{:?}", fault.text().await);
    let targets = fleet
        .info
        .services
        .iter()
        .filter(|s| s.env == Env::Blue)
        .map(|s| ScrapeTarget { env: s.env, url: s.metrics.clone() })
        .collect();
    let cfg = ScrapeConfig {
        targets,
        slos: vec![(ERROR_RATIO, SliKind::ErrorRatio), (P95, SliKind::P95Latency)],
        min_counts: vec![(ERROR_RATIO, 100), (P95, 100)],
        interval: Duration::from_millis(300),
        window: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
    };
    let (sink, mut rx) = channel_sink();
    let handle = scrape::spawn(cfg, reqwest::Client::builder().no_proxy().build().unwrap(), sink);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut p95 = None;
    let mut failures_only = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(Event::Sample { slo, outcome, .. })) = timeout(left, rx.recv()).await else {
            panic!("no window of failures only within 60 s; p95 last said {p95:?}");
        };
        match (slo, outcome) {
            (P95, o) => {
                p95 = Some(o);
                if failures_only {
                    break;
                }
            }
            // Requests in flight when the fault was set still succeed: wait for a window of failures only.
            (ERROR_RATIO, Outcome::Value(1.0)) => failures_only = true,
            (ERROR_RATIO, Outcome::Value(v)) => assert!(v > 0.5, "blue is down: {v}"),
            (ERROR_RATIO, Outcome::TooFew(why)) => assert!(why.contains(" requests in "), "{why}"),
            (_, other) => assert!(matches!(other, Outcome::Value(_) | Outcome::NoData), "{other:?}"),
        }
    }
    handle.abort();
    // The p95 of the same round (it follows the error rate): no successful request, no latency.
    let Some(Outcome::TooFew(why)) = &p95 else { panic!("p95 with no successful request: {p95:?}") };
    assert!(why.starts_with("0 successful requests in ") && why.ends_with(" < 100"), "{why}");
    fleet.shutdown().await;
}

//! Health checks of every kind against servers started here, on 127.0.0.1 with ports
//! chosen at run time: body formats, expected status codes, redirects, TCP connects,
//! timeouts, and the failure threshold of the poller.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use cutover::domain::cockpit::Event;
use cutover::domain::health::{HealthObservation, HealthState};
use cutover::sources::health::{self, BodyFormat, Expect, HealthCheck, HealthTarget, MAX_REDIRECTS};
use cutover::sources::{Sink, client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use HealthState::{Degraded, Down, Unreachable, Up};

const DEADLINE: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_millis(300);

/// An axum app on a free port, aborted when dropped.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(app: Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An endpoint answering with a fixed status, content type and body.
fn answer(status: u16, content_type: &'static str, body: &'static str) -> MethodRouter {
    get(move || async move { (StatusCode::from_u16(status).unwrap(), [(header::CONTENT_TYPE, content_type)], body) })
}

fn redirect(to: String) -> Response {
    (StatusCode::FOUND, [(HeaderName::from_static("location"), to)], "").into_response()
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn http(url: String, expect: Expect, format: BodyFormat, follow_redirects: bool) -> HealthCheck {
    HealthCheck::Http { url, expect, format, follow_redirects }
}

async fn check(c: &HealthCheck) -> HealthObservation {
    health::probe(&client(), c, TIMEOUT).await
}

/// Asserts state, code and the exact detail, and that an answer carries a latency.
fn assert_obs(o: &HealthObservation, state: HealthState, code: Option<u16>, detail: &str) {
    assert_eq!((o.state, o.code, o.detail.as_str()), (state, code, detail), "{o:?}");
    if code.is_some() {
        assert!(o.latency_ms.is_some(), "an answer carries a latency: {o:?}");
    }
}

const HEALTH_JSON: &str = "application/health+json";
const SPRING: &str = "application/vnd.spring-boot.actuator.v3+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_format_auto_detected_and_forced() {
    let app = Router::new()
        .route("/hj/pass", answer(200, HEALTH_JSON, r#"{"status":"pass","checks":{"db":[{"status":"pass"}]}}"#))
        .route(
            "/hj/warn",
            answer(
                200,
                HEALTH_JSON,
                r#"{"status":"warn","checks":{"db:responseTime":[{"status":"warn","output":"p99 900ms"}]}}"#,
            ),
        )
        .route("/hj/fail", answer(503, HEALTH_JSON, r#"{"status":"fail","checks":{"disk":[{"status":"fail"}]}}"#))
        .route("/hj/as-json", answer(200, "application/json", r#"{"status":"warn"}"#))
        .route("/spring/up", answer(200, SPRING, r#"{"status":"UP","components":{"db":{"status":"UP"}}}"#))
        .route(
            "/spring/down",
            answer(
                503,
                SPRING,
                r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"Connection refused"}},"ping":{"status":"UP"}}}"#,
            ),
        )
        .route("/spring/oos", answer(503, "application/json", r#"{"status":"OUT_OF_SERVICE"}"#))
        .route("/spring/unknown", answer(200, "application/json", r#"{"status":"UNKNOWN"}"#))
        .route("/readyz/ok", answer(200, "text/plain; charset=utf-8", "[+]ping ok\n[+]etcd ok\nreadyz check passed\n"))
        .route(
            "/readyz/failed",
            answer(500, "text/plain; charset=utf-8", "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"),
        )
        .route("/plain", answer(200, "text/plain", "ok"))
        .route("/plain/500", answer(500, "text/plain", "Internal Server Error"))
        .route("/login", answer(200, "text/html", "<html>sign in</html>"));
    let srv = Server::start(app).await;
    let auto = |p: &str| http(srv.url(p), Expect::Success, BodyFormat::Auto, false);
    let forced = |p: &str, f| http(srv.url(p), Expect::Success, f, false);

    let cases: Vec<(HealthCheck, HealthState, u16, &str)> = vec![
        (auto("/hj/pass"), Up, 200, "pass"),
        (auto("/hj/warn"), Degraded, 200, "warn: db:responseTime (p99 900ms)"),
        (auto("/hj/fail"), Down, 503, "HTTP 503 (expected 2xx): fail: disk"),
        (auto("/hj/as-json"), Degraded, 200, "warn"),
        (auto("/spring/up"), Up, 200, "UP"),
        (auto("/spring/down"), Down, 503, "HTTP 503 (expected 2xx): DOWN: db (Connection refused)"),
        (auto("/spring/oos"), Down, 503, "HTTP 503 (expected 2xx): OUT_OF_SERVICE"),
        (auto("/spring/unknown"), Up, 200, "UNKNOWN"),
        (auto("/readyz/ok"), Up, 200, "readyz check passed (2 checks)"),
        (auto("/readyz/failed"), Down, 500, "HTTP 500 (expected 2xx): readyz check failed: etcd"),
        (auto("/plain"), Up, 200, "HTTP 200 ok"),
        (auto("/plain/500"), Down, 500, "HTTP 500 (expected 2xx) Internal Server Error"),
        // A login page where health was expected says nothing about health: degraded, saying why.
        (auto("/login"), Degraded, 200, "HTTP 200: HTML answer: a login page or wrong URL?"),
        // Forced formats: plain ignores what the body says; a body not of the forced format is down.
        (forced("/readyz/ok", BodyFormat::Plain), Up, 200, "HTTP 200 [+]ping ok [+]etcd ok readyz check passed"),
        (
            forced("/spring/unknown", BodyFormat::HealthJson),
            Down,
            200,
            "HTTP 200, but unknown application/health+json status \"UNKNOWN\" (expected pass, warn or fail)",
        ),
        (forced("/login", BodyFormat::Spring), Degraded, 200, "HTTP 200: HTML answer: a login page or wrong URL?"),
        (forced("/login", BodyFormat::Plain), Up, 200, "HTTP 200 <html>sign in</html>"),
        (forced("/hj/pass", BodyFormat::Spring), Up, 200, "pass"),
        (forced("/readyz/failed", BodyFormat::Readyz), Down, 500, "HTTP 500 (expected 2xx): readyz check failed: etcd"),
    ];
    for (c, state, code, detail) in &cases {
        let o = check(c).await;
        assert_obs(&o, *state, Some(*code), detail);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_status_codes() {
    let app = Router::new()
        .route("/created", answer(201, "text/plain", "made"))
        .route("/teapot", answer(418, "text/plain", "short and stout"))
        .route("/empty", answer(204, "text/plain", ""))
        .route("/missing", answer(404, "text/plain", "not found"))
        .route("/moved", get(|| async { redirect("/elsewhere".into()) }));
    let srv = Server::start(app).await;
    let c = |p: &str, e: &str| http(srv.url(p), e.parse().unwrap(), BodyFormat::Auto, false);

    assert_obs(&check(&c("/created", "2xx")).await, Up, Some(201), "HTTP 201 made");
    assert_obs(&check(&c("/created", "200")).await, Down, Some(201), "HTTP 201 (expected 200) made");
    assert_obs(&check(&c("/teapot", "418")).await, Up, Some(418), "HTTP 418 short and stout");
    assert_obs(&check(&c("/empty", "200,204")).await, Up, Some(204), "HTTP 204");
    assert_obs(&check(&c("/missing", "2xx")).await, Down, Some(404), "HTTP 404 (expected 2xx) not found");
    assert_obs(&check(&c("/missing", "200,204")).await, Down, Some(404), "HTTP 404 (expected 200 or 204) not found");
    // A redirect listed as expected is an answer, not a redirect to follow or refuse.
    assert_obs(&check(&c("/moved", "302")).await, Up, Some(302), "HTTP 302");
    assert_obs(&check(&c("/moved", "2xx")).await, Down, Some(302), "HTTP 302 redirect to /elsewhere (not followed)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_only_when_asked_and_at_most_five() {
    let logins = Arc::new(AtomicUsize::new(0));
    let loops = Arc::new(AtomicUsize::new(0));
    let (l, lp) = (logins.clone(), loops.clone());
    let app = Router::new()
        .route("/redirect", get(|| async { redirect("/login".into()) }))
        .route(
            "/login",
            get(move || {
                l.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::OK, [(header::CONTENT_TYPE, HEALTH_JSON)], r#"{"status":"pass"}"#) }
            }),
        )
        // /hop/3 -> /hop/2 -> /hop/1 -> /hop/0, which answers.
        .route(
            "/hop/{n}",
            get(|Path(n): Path<usize>| async move {
                if n == 0 { (StatusCode::OK, "arrived").into_response() } else { redirect(format!("/hop/{}", n - 1)) }
            }),
        )
        .route(
            "/loop",
            get(move || {
                lp.fetch_add(1, Ordering::SeqCst);
                async { redirect("/loop".into()) }
            }),
        )
        .route("/no-location", get(|| async { StatusCode::FOUND }));
    let srv = Server::start(app).await;
    let c = |p: &str, follow| http(srv.url(p), Expect::Success, BodyFormat::Auto, follow);

    assert_obs(&check(&c("/redirect", false)).await, Down, Some(302), "HTTP 302 redirect to /login (not followed)");
    assert_eq!(logins.load(Ordering::SeqCst), 0, "the redirect was followed");
    let login = srv.url("/login");
    assert_obs(&check(&c("/redirect", true)).await, Up, Some(200), &format!("pass (at {login} after 1 redirect)"));
    assert_eq!(logins.load(Ordering::SeqCst), 1);

    let hop0 = srv.url("/hop/0");
    let five = check(&c(&format!("/hop/{MAX_REDIRECTS}"), true)).await;
    assert_obs(&five, Up, Some(200), &format!("HTTP 200 arrived (at {hop0} after 5 redirects)"));
    let six = check(&c("/hop/6", true)).await;
    assert_obs(&six, Down, Some(302), "HTTP 302: more than 5 redirects (the last to /hop/0)");

    assert_obs(&check(&c("/loop", true)).await, Down, Some(302), "HTTP 302: more than 5 redirects (the last to /loop)");
    assert_eq!(loops.load(Ordering::SeqCst), 1 + MAX_REDIRECTS, "the first request and five follows");

    let o = check(&c("/no-location", true)).await;
    assert_obs(&o, Down, Some(302), "HTTP 302 redirect to nowhere (no Location header)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_up_refused_and_timed_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let up = check(&HealthCheck::from_url(&format!("tcp://{addr}")).unwrap()).await;
    assert_obs(&up, Up, None, &format!("connected to {addr}"));
    assert!(up.latency_ms.is_some(), "{up:?}");

    let closed = format!("127.0.0.1:{}", closed_port());
    let refused = check(&HealthCheck::Tcp { addr: closed.clone() }).await;
    assert_obs(&refused, Unreachable, None, &format!("tcp {closed}: connection refused"));
    assert!(refused.latency_ms.is_none());

    // A listener whose accept queue is full: Linux drops further SYNs, so a connect hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = socket.listen(0).unwrap();
    let full_addr = full.local_addr().unwrap();
    let mut held = Vec::new();
    let filled = (0..16).any(|_| match std::net::TcpStream::connect_timeout(&full_addr, Duration::from_millis(200)) {
        Ok(s) => {
            held.push(s);
            false
        }
        Err(_) => true,
    });
    assert!(filled, "could not fill the accept queue of {full_addr}");
    let started = Instant::now();
    let o = check(&HealthCheck::Tcp { addr: full_addr.to_string() }).await;
    assert_obs(&o, Unreachable, None, "timeout after 300ms");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_timeouts_bound_the_whole_check() {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route("/to-slow", get(|| async { redirect("/slow".into()) }));
    let srv = Server::start(app).await;
    for (path, follow) in [("/slow", false), ("/to-slow", true)] {
        let started = Instant::now();
        let o = check(&http(srv.url(path), Expect::Success, BodyFormat::Auto, follow)).await;
        assert_obs(&o, Unreachable, None, "timeout after 300ms");
        assert!(o.latency_ms.is_none());
        assert!(started.elapsed() < Duration::from_secs(2), "{path}: {:?}", started.elapsed());
    }
    let o = check(&HealthCheck::http(format!("http://127.0.0.1:{}/health", closed_port()))).await;
    assert_obs(&o, Unreachable, None, "connection refused");
}

fn channel_sink() -> (Sink, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    (sink, rx)
}

async fn next_health(rx: &mut mpsc::UnboundedReceiver<Event>, target: usize) -> HealthObservation {
    let end = Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(Event::Health { target: t, obs })) if t == target => return obs,
            Ok(Some(_)) => {}
            other => panic!("no health event for target {target}: {other:?}"),
        }
    }
}

/// After the handle is aborted every task holding the sink ends: the channel closes.
async fn assert_stops(handle: JoinHandle<()>, mut rx: mpsc::UnboundedReceiver<Event>) {
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    let drained = timeout(DEADLINE, async { while rx.recv().await.is_some() {} }).await;
    assert!(drained.is_ok(), "a sub-task still holds the sink after abort");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_threshold_counts_consecutive_failures_and_recovers_at_once() {
    let status = Arc::new(AtomicU16::new(200));
    let s = status.clone();
    let app = Router::new().route(
        "/health",
        get(move || {
            let code = s.load(Ordering::SeqCst);
            async move {
                let body = if code == 200 { r#"{"status":"pass"}"# } else { r#"{"status":"fail"}"# };
                (StatusCode::from_u16(code).unwrap(), [(header::CONTENT_TYPE, HEALTH_JSON)], body)
            }
        }),
    );
    let srv = Server::start(app).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = listener.local_addr().unwrap().to_string();
    let targets = vec![
        HealthTarget { check: HealthCheck::http(srv.url("/health")), failure_threshold: 3 },
        HealthTarget { check: HealthCheck::Tcp { addr: tcp_addr.clone() }, failure_threshold: 2 },
    ];
    let (sink, mut rx) = channel_sink();
    let handle = health::spawn(targets, Duration::from_millis(50), TIMEOUT, client(), sink);

    assert_obs(&next_health(&mut rx, 0).await, Up, Some(200), "pass");
    status.store(503, Ordering::SeqCst);
    // Answers from before the switch may still come in; then exactly two held failures.
    let mut o = next_health(&mut rx, 0).await;
    while o.detail == "pass" {
        o = next_health(&mut rx, 0).await;
    }
    let failed = "HTTP 503 (expected 2xx): fail";
    assert_obs(&o, Up, Some(503), &format!("1/3 failures: {failed}"));
    assert_obs(&next_health(&mut rx, 0).await, Up, Some(503), &format!("2/3 failures: {failed}"));
    assert_obs(&next_health(&mut rx, 0).await, Down, Some(503), failed);
    assert_obs(&next_health(&mut rx, 0).await, Down, Some(503), failed);
    // One good answer shows at once.
    status.store(200, Ordering::SeqCst);
    let mut o = next_health(&mut rx, 0).await;
    while o.state == Down {
        assert_eq!(o.detail, failed);
        o = next_health(&mut rx, 0).await;
    }
    assert_obs(&o, Up, Some(200), "pass");
    // And a new failure counts from one again.
    status.store(500, Ordering::SeqCst);
    let mut o = next_health(&mut rx, 0).await;
    while o.detail == "pass" {
        o = next_health(&mut rx, 0).await;
    }
    assert_obs(&o, Up, Some(500), "1/3 failures: HTTP 500 (expected 2xx): fail");

    // TCP, threshold 2: the listener goes away.
    assert_obs(&next_health(&mut rx, 1).await, Up, None, &format!("connected to {tcp_addr}"));
    drop(listener);
    let mut o = next_health(&mut rx, 1).await;
    while o.state == Up && !o.detail.starts_with("1/2") {
        o = next_health(&mut rx, 1).await;
    }
    let refused = format!("tcp {tcp_addr}: connection refused");
    assert_obs(&o, Up, None, &format!("1/2 failures: {refused}"));
    assert_obs(&next_health(&mut rx, 1).await, Unreachable, None, &refused);

    assert_stops(handle, rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reports_every_target_again_and_again() {
    let app = Router::new()
        .route("/pass", answer(200, HEALTH_JSON, r#"{"status":"pass"}"#))
        .route("/fail", answer(503, HEALTH_JSON, r#"{"status":"fail"}"#))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        );
    let srv = Server::start(app).await;
    let mut targets: Vec<HealthTarget> =
        ["/pass", "/fail", "/slow"].iter().map(|p| HealthTarget::new(HealthCheck::http(srv.url(p)))).collect();
    targets.push(HealthTarget::new(HealthCheck::Tcp { addr: format!("127.0.0.1:{}", closed_port()) }));
    let n = targets.len();
    let (sink, mut rx) = channel_sink();
    let handle = health::spawn(targets, Duration::from_millis(200), TIMEOUT, client(), sink);

    let mut seen: HashMap<usize, Vec<HealthObservation>> = HashMap::new();
    let end = Instant::now() + DEADLINE;
    // Two rounds of every target: a slow one does not hold up the others.
    while seen.len() < n || seen.values().any(|v| v.len() < 2) {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(Event::Health { target, obs })) => seen.entry(target).or_default().push(obs),
            other => panic!("{other:?}; seen {seen:#?}"),
        }
    }
    assert_eq!((seen[&0][0].state, seen[&1][0].state), (Up, Down));
    assert_eq!(seen[&2][0].detail, "timeout after 300ms");
    assert!(seen[&3][0].detail.ends_with("connection refused"));
    assert_stops(handle, rx).await;
}

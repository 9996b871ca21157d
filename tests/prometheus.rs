//! The Prometheus source against a real Prometheus 2.42 started here (see
//! `common/prometheus_server.rs`), and against a tiny axum mock for what a real server cannot
//! be made to answer (a 499, a proxy's HTML page, warnings, what headers arrive).

#[path = "common/prometheus_server.rs"]
mod prometheus_server;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cutover::domain::alert::AlertState;
use cutover::domain::cockpit::{Cockpit, Event};
use cutover::domain::env::{Env, Weights};
use cutover::domain::sli::SliKind;
use cutover::domain::slo::{Judge, Outcome, SloCell, SloSpec, SloState};
use cutover::fleet::{Fleet, FleetOptions};
use cutover::sources::prometheus::{
    self, Auth, GO_LIVE_QUERIES, PromConfig, PromError, PromSlo, Reduce, SecretRef, env_vars, query_once,
};
use cutover::sources::scrape::{self, ScrapeConfig, ScrapeTarget};
use cutover::sources::{Sink, now};
use prometheus_server::{PromOptions, PromServer, wait_for_result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const DEADLINE: Duration = Duration::from_secs(30);

fn client() -> reqwest::Client {
    cutover::sources::client()
}

fn channel_sink() -> (Sink, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink: Sink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    (sink, rx)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<Event>, what: &str) -> Event {
    match tokio::time::timeout(DEADLINE, rx.recv()).await {
        Ok(Some(e)) => e,
        _ => panic!("no event within {DEADLINE:?} while waiting for {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A mock Prometheus: answers what the test sets and records what it was sent.

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone)]
struct Mock {
    reply: Arc<Mutex<(u16, String, Duration)>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct MockServer {
    mock: Mock,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    async fn start() -> MockServer {
        let mock = Mock { reply: Arc::new(Mutex::new((200, String::new(), Duration::ZERO))), seen: Default::default() };
        let app = Router::new().fallback(mock_handler).with_state(mock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockServer { mock, addr, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn reply(&self, status: u16, body: &str) {
        *self.mock.reply.lock().unwrap() = (status, body.to_string(), Duration::ZERO);
    }

    fn reply_slowly(&self, delay: Duration, body: &str) {
        *self.mock.reply.lock().unwrap() = (200, body.to_string(), delay);
    }

    fn seen(&self) -> Vec<Seen> {
        self.mock.seen.lock().unwrap().clone()
    }

    fn config(&self) -> PromConfig {
        PromConfig::new(self.url())
    }
}

async fn mock_handler(State(m): State<Mock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    m.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, body, delay) = m.reply.lock().unwrap().clone();
    tokio::time::sleep(delay).await;
    let content_type = if body.trim_start().starts_with('{') { "application/json" } else { "text/html" };
    (StatusCode::from_u16(status).unwrap(), [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn vector_body(values: &[(&str, &str)]) -> String {
    let result: Vec<String> = values
        .iter()
        .map(|(svc, v)| format!(r#"{{"metric":{{"service":"{svc}"}},"value":[1795707085.364,"{v}"]}}"#))
        .collect();
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, result.join(","))
}

fn scalar_body(v: &str) -> String {
    format!(r#"{{"status":"success","data":{{"resultType":"scalar","result":[1795707085.364,"{v}"]}}}}"#)
}

#[tokio::test]
async fn mock_error_envelopes_are_shown_verbatim_for_every_status() {
    let srv = MockServer::start().await;
    let cfg = srv.config();
    for (status, ty, msg) in [
        (400, "bad_data", r#"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"#),
        (422, "execution", "many-to-many matching not allowed"),
        (499, "canceled", "query was canceled in expression evaluation"),
        (503, "timeout", "query timed out in expression evaluation"),
        (500, "internal", "out of memory"),
    ] {
        srv.reply(status, &format!(r#"{{"status":"error","errorType":"{ty}","error":"{msg}"}}"#));
        let e = query_once(&cfg, &client(), "up", None).await.unwrap_err();
        let msg = msg.replace("\\\"", "\"");
        assert_eq!(e, PromError::Api { status, error_type: ty.into(), message: msg.clone() });
        assert_eq!(e.to_string(), format!("{ty}: {msg}"));
        assert_eq!(prometheus::outcome(&Err(e)), Outcome::Error(format!("{ty}: {msg}")));
    }
}

#[tokio::test]
async fn mock_a_proxy_page_names_url_status_and_a_snippet() {
    let srv = MockServer::start().await;
    srv.reply(502, "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>");
    let e = query_once(&srv.config(), &client(), "up", None).await.unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "HTTP 502 from {}/api/v1/query is not a Prometheus API answer: <html><head><title>502 Bad \
             Gateway</title></head> <body><h1>Bad Gateway</h1></bo… (10 bytes more)",
            srv.url()
        )
    );
    srv.reply(200, "<!doctype html><title>Sign in</title>");
    let e = query_once(&srv.config(), &client(), "up", None).await.unwrap_err().to_string();
    assert!(e.starts_with("HTTP 200 from ") && e.contains("Sign in"), "{e}");
}

#[tokio::test]
async fn mock_scalars_special_values_and_warnings() {
    let srv = MockServer::start().await;
    let cfg = srv.config();
    let read = |body: String| {
        srv.reply(200, &body);
        let cfg = cfg.clone();
        async move { query_once(&cfg, &client(), "q", None).await.unwrap() }
    };
    assert_eq!(read(scalar_body("0.25")).await.value, Some(0.25));
    assert_eq!(read(scalar_body("+Inf")).await.outcome(), Outcome::Value(f64::INFINITY));
    assert_eq!(read(scalar_body("-Inf")).await.value, Some(f64::NEG_INFINITY));
    assert_eq!(read(vector_body(&[("a", "1e-07")])).await.outcome(), Outcome::Value(1e-7));
    let nan = read(vector_body(&[("a", "NaN")])).await;
    assert!(nan.value.unwrap().is_nan());
    assert_eq!(nan.outcome(), Outcome::TooFew("not a number (NaN)".into()), "NaN (0/0) is no data, not a breach");
    assert_eq!(read(vector_body(&[])).await.outcome(), Outcome::NoData, "empty is no data, never zero");

    let warned = r#"{"status":"success","warnings":["remote read: store eu-1 unavailable"],
                    "data":{"resultType":"scalar","result":[1,"3"]}}"#;
    let r = read(warned.to_string()).await;
    assert_eq!((r.value, r.warnings), (Some(3.0), vec!["remote read: store eu-1 unavailable".to_string()]));
}

#[tokio::test]
async fn mock_several_series_are_reduced_or_refused() {
    let srv = MockServer::start().await;
    let cfg = srv.config();
    srv.reply(200, &vector_body(&[("a", "1"), ("b", "5"), ("c", "2")]));
    let e = query_once(&cfg, &client(), "q", None).await.unwrap_err().to_string();
    assert!(e.starts_with(r#"expected 1 series, got 3: {service="a"}, {service="b"}, {service="c"}"#), "{e}");
    for (how, want) in [(Reduce::Sum, 8.0), (Reduce::Max, 5.0), (Reduce::Min, 1.0)] {
        assert_eq!(query_once(&cfg, &client(), "q", Some(how)).await.unwrap().value, Some(want), "{how:?}");
    }
}

#[tokio::test]
async fn mock_queries_carry_timeout_and_long_ones_are_posted() {
    let srv = MockServer::start().await;
    srv.reply(200, &scalar_body("1"));
    let cfg = PromConfig { timeout: Duration::from_millis(1500), ..srv.config() };
    query_once(&cfg, &client(), r#"sum(rate(x{env="blue"}[1m]))"#, None).await.unwrap();
    let long = format!("vector(1){}", " + 0".repeat(400));
    assert!(long.len() > prometheus::LONG_QUERY_BYTES);
    query_once(&cfg, &client(), &long, None).await.unwrap();

    let seen = srv.seen();
    assert_eq!((&seen[0].method, seen[0].path.as_str()), (&Method::GET, "/api/v1/query"));
    let q: HashMap<String, String> = serde_urlencoded_pairs(&seen[0].query);
    assert_eq!(q["query"], r#"sum(rate(x{env="blue"}[1m]))"#);
    assert_eq!(q["timeout"], "1500ms");
    assert_eq!(seen[0].headers[header::ACCEPT], "application/json");
    assert!(seen[0].headers[header::USER_AGENT].to_str().unwrap().starts_with("cutover/"));

    assert_eq!((&seen[1].method, seen[1].path.as_str(), seen[1].query.as_str()), (&Method::POST, "/api/v1/query", ""));
    assert_eq!(seen[1].headers[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
    let form = serde_urlencoded_pairs(&seen[1].body);
    assert_eq!((form["query"].as_str(), form["timeout"].as_str()), (long.as_str(), "1500ms"));
}

/// `a=1&b=x%20y` → map (enough for these tests; values decoded with `+` as space).
fn serde_urlencoded_pairs(s: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{s}")).unwrap().query_pairs().into_owned().collect()
}

#[tokio::test]
async fn mock_credentials_come_from_env_and_file_and_stay_out_of_debug() {
    let srv = MockServer::start().await;
    srv.reply(200, &scalar_body("1"));
    let var = format!("CUTOVER_TEST_PROM_TOKEN_{}", std::process::id());
    // SAFETY: a name no other code reads; std serializes its own environment access, and no
    // C code in this process reads the environment meanwhile (connections go to IP literals).
    unsafe { std::env::set_var(&var, "env-token-123\n") };
    let dir = std::env::temp_dir().join(format!("cutover-prom-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "file-token-456\n").unwrap();
    let pw = dir.join("password");
    std::fs::write(&pw, "s3cret-pw").unwrap();

    let by_env = PromConfig { auth: Auth::Bearer { token: SecretRef::Env(var.clone()) }, ..srv.config() };
    let by_file = PromConfig { auth: Auth::Bearer { token: SecretRef::File(file.clone()) }, ..srv.config() };
    let basic = PromConfig {
        auth: Auth::Basic { username: "cutover".into(), password: SecretRef::File(pw.clone()) },
        headers: vec![("X-Scope-OrgID".into(), "tenant-7".into())],
        ..srv.config()
    };
    for cfg in [&by_env, &by_file, &basic] {
        assert!(cfg.check().is_ok(), "{cfg:?}");
        query_once(cfg, &client(), "up", None).await.unwrap();
        let debug = format!("{cfg:?}");
        for secret in ["env-token-123", "file-token-456", "s3cret-pw"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
    let seen = srv.seen();
    assert_eq!(seen[0].headers[header::AUTHORIZATION], "Bearer env-token-123");
    assert_eq!(seen[1].headers[header::AUTHORIZATION], "Bearer file-token-456");
    // base64("cutover:s3cret-pw")
    assert_eq!(seen[2].headers[header::AUTHORIZATION], "Basic Y3V0b3ZlcjpzM2NyZXQtcHc=");
    assert_eq!(seen[2].headers["x-scope-orgid"], "tenant-7");
    let loaded = SecretRef::Env(var.clone()).load().unwrap();
    assert_eq!((loaded.expose(), format!("{loaded:?}").as_str()), ("env-token-123", "Secret(<redacted>)"));

    // A token that cannot be read stops the request before it is sent, and says where it looked.
    let missing = PromConfig { auth: Auth::Bearer { token: SecretRef::Env(format!("{var}_UNSET")) }, ..srv.config() };
    let e = query_once(&missing, &client(), "up", None).await.unwrap_err();
    assert_eq!(e.to_string(), format!("bearer token: environment variable {var}_UNSET is not set"));
    assert_eq!(srv.seen().len(), 3, "nothing sent without the token");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn mock_a_slow_answer_times_out_on_the_client() {
    let srv = MockServer::start().await;
    srv.reply_slowly(Duration::from_secs(5), &scalar_body("1"));
    let cfg = PromConfig { timeout: Duration::from_millis(100), ..srv.config() };
    let start = Instant::now();
    let e = query_once(&cfg, &client(), "up", None).await.unwrap_err().to_string();
    assert_eq!(e, format!("GET {}/api/v1/query: timeout after 600ms", srv.url()));
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_errors_no_data_values_timeouts_and_then_staleness() {
    let mut prom = PromServer::start(PromOptions::default()).await;
    let cfg = PromConfig::new(prom.url());
    let c = client();

    // A malformed query: Prometheus's bad_data and its own message.
    let e = query_once(&cfg, &c, "sum(rate(up[1m]", None).await.unwrap_err();
    assert!(matches!(e, PromError::Api { status: 400, .. }), "{e:?}");
    assert_eq!(e.to_string(), r#"bad_data: invalid parameter "query": 1:16: parse error: unclosed left parenthesis"#);
    // Nothing matches: no data, not zero.
    let r = query_once(&cfg, &c, r#"nothing_here{env="blue"}"#, None).await.unwrap();
    assert_eq!((r.value, r.outcome()), (None, Outcome::NoData));
    // Numbers as Prometheus writes them.
    assert_eq!(query_once(&cfg, &c, "vector(1e-7)", None).await.unwrap().outcome(), Outcome::Value(1e-7));
    assert_eq!(query_once(&cfg, &c, "1/0", None).await.unwrap().outcome(), Outcome::Value(f64::INFINITY));
    let nan = Outcome::TooFew("not a number (NaN)".into());
    assert_eq!(query_once(&cfg, &c, "0/0", None).await.unwrap().outcome(), nan, "NaN");
    // Only instant vectors and scalars make a gauge.
    let e = query_once(&cfg, &c, "vector(1)[5m:1m]", None).await.unwrap_err().to_string();
    assert!(e.contains("range vector (matrix); an instant-vector or scalar query is expected"), "{e}");
    let e = query_once(&cfg, &c, r#""hello""#, None).await.unwrap_err().to_string();
    assert!(e.contains("returned a string; an instant-vector or scalar query is expected"), "{e}");
    // Several series: refused unless reduced.
    let two = r#"vector(1) or label_replace(vector(3), "x", "y", "", "")"#;
    let e = query_once(&cfg, &c, two, None).await.unwrap_err().to_string();
    assert_eq!(
        e,
        r#"expected 1 series, got 2: {}, {x="y"}; aggregate in the query (sum(…), max(…)) or configure reduce = "sum", "max" or "min""#
    );
    assert_eq!(query_once(&cfg, &c, two, Some(Reduce::Sum)).await.unwrap().value, Some(4.0));
    // A long query goes as a POST and is read the same.
    let long = format!("vector(2){}", " + 0".repeat(500));
    assert_eq!(query_once(&cfg, &c, &long, None).await.unwrap().value, Some(2.0));
    // An execution error (422).
    let dup = r#"vector(1) + on() group_left() (vector(1) or label_replace(vector(2), "a", "b", "", ""))"#;
    let e = query_once(&cfg, &c, dup, None).await.unwrap_err();
    assert!(matches!(&e, PromError::Api { status: 422, error_type, .. } if error_type == "execution"), "{e:?}");
    // Slower than the timeout. Prometheus 2.42 checks its deadline between expression nodes, so
    // a 600 000-step subquery (~25-100 ms here) followed by `+ 1` reliably answers HTTP 503
    // `timeout: query timed out in expression evaluation` with timeout=1ms.
    // On two busy cores Prometheus may take longer than the client's grace to say so; then the
    // client's own timeout answers instead, which is a timeout too. Asked again until Prometheus's
    // answer comes through.
    let tight = PromConfig { timeout: Duration::from_millis(1), ..cfg.clone() };
    let prom_timeout = PromError::Api {
        status: 503,
        error_type: "timeout".into(),
        message: "query timed out in expression evaluation".into(),
    };
    let mut e = None;
    for _ in 0..20 {
        let got = query_once(&tight, &c, "count_over_time(vector(1)[10m:1ms]) + 1", None).await.unwrap_err();
        let client_timeout = matches!(&got, PromError::Transport { reason, .. } if reason.starts_with("timeout after"));
        assert!(got == prom_timeout || client_timeout, "a query slower than its timeout is a timeout: {got:?}");
        if got == prom_timeout {
            e = Some(got);
            break;
        }
    }
    let e = e.expect("Prometheus answered its own timeout at least once in 20 tries");
    assert!(e.to_string().contains("timeout"));
    // A range query for backfill.
    let end = now();
    let r = prometheus::query_range(&cfg, &c, "vector(3)", end.plus_ms(-10_000), end, Duration::from_secs(1), None)
        .await
        .unwrap();
    assert_eq!(r.points.len(), 11, "{:?}", r.points);
    assert!(r.points.iter().all(|&(_, v)| v == 3.0));
    assert!(r.points.windows(2).all(|w| w[1].0.0 - w[0].0.0 == 1000));

    // Polling, then Prometheus goes away: error at once, stale after 2x the interval, never a number.
    let interval = Duration::from_secs(1);
    let slo = PromSlo { slo: 0, env: Env::Blue, query: "vector(0.5)".into(), reduce: None, count: None };
    let (sink, mut rx) = channel_sink();
    let handle = prometheus::spawn(cfg.clone(), vec![slo], interval, c.clone(), sink);
    let spec = SloSpec {
        name: "ratio".into(),
        objective: "< 1".parse().unwrap(),
        judge: Judge::PerEnv,
        interval_ms: interval.as_millis() as i64,
    };
    let mut cell = SloCell::default();
    let Event::Sample { slo: 0, env: Env::Blue, outcome } = next_event(&mut rx, "the first sample").await else {
        panic!("not a sample for SLO 0 blue");
    };
    assert_eq!(outcome, Outcome::Value(0.5));
    cell.record(now(), outcome);
    assert_eq!(cell.state(&spec, now()), SloState::Ok);
    prom.stop();
    let stopped = now();
    let mut states = Vec::new();
    while !states.contains(&SloState::Stale) {
        let Event::Sample { outcome, .. } = next_event(&mut rx, "samples after the stop").await else { continue };
        let Outcome::Error(e) = &outcome else { panic!("a non-error after Prometheus stopped: {outcome:?}") };
        let want = format!("GET {}/api/v1/query: connection refused", prom.url());
        assert_eq!(e, &want);
        let at = now();
        cell.record(at, outcome);
        let state = cell.state(&spec, at);
        assert!(cell.current(&spec, at).is_err(), "a number shown after the stop");
        states.push(state);
        assert!(at.0 - stopped.0 < 10_000, "not stale 10 s after the stop: {states:?}");
    }
    assert_eq!(states[0], SloState::Error, "{states:?}");
    let first_stale = states.iter().position(|s| *s == SloState::Stale).unwrap();
    assert!(states[..first_stale].iter().all(|s| *s == SloState::Error), "{states:?}");
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alerts_with_states_and_a_label_filter() {
    let rules = r#"
groups:
  - name: go-live
    rules:
      - alert: BlueErrorsHigh
        expr: vector(1)
        for: 0s
        labels: {team: payments, severity: page}
        annotations: {summary: "blue error ratio above 5%"}
      - alert: BlueLatencySlow
        expr: vector(0.7)
        for: 1h
        labels: {team: payments}
      - alert: SearchDown
        expr: vector(1)
        labels: {team: search, severity: page}
"#;
    let prom = PromServer::start(PromOptions { rules: vec![rules.into()], ..Default::default() }).await;
    let cfg = PromConfig::new(prom.url());
    let c = client();
    let everything = BTreeMap::new();
    let end = Instant::now() + DEADLINE;
    let all = loop {
        let all = prometheus::alerts_once(&cfg, &c, &everything).await.unwrap();
        if all.len() == 3 {
            break all;
        }
        assert!(Instant::now() < end, "3 alerts expected within {DEADLINE:?}, got {all:?}\n{}", prom.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let summary: Vec<(&str, AlertState)> = all.iter().map(|a| (a.name.as_str(), a.state)).collect();
    assert_eq!(
        summary,
        [
            ("BlueErrorsHigh", AlertState::Firing),
            ("SearchDown", AlertState::Firing),
            ("BlueLatencySlow", AlertState::Pending)
        ]
    );
    let first = &all[0];
    assert_eq!(first.summary.as_deref(), Some("blue error ratio above 5%"));
    assert_eq!(first.value.as_deref(), Some("1e+00"));
    assert_eq!(first.labels["severity"], "page");
    assert!(first.active_at.as_deref().is_some_and(|t| t.starts_with("20") && t.ends_with('Z')), "{first:?}");
    assert_eq!(all[2].value.as_deref(), Some("7e-01"));

    let payments: BTreeMap<String, String> = [("team".to_string(), "payments".to_string())].into();
    let mine = prometheus::alerts_once(&cfg, &c, &payments).await.unwrap();
    let names: Vec<(&str, AlertState)> = mine.iter().map(|a| (a.name.as_str(), a.state)).collect();
    assert_eq!(names, [("BlueErrorsHigh", AlertState::Firing), ("BlueLatencySlow", AlertState::Pending)]);

    // The poller delivers the filtered list to the cockpit.
    let mut paging = payments.clone();
    paging.insert("severity".into(), "page".into());
    let (sink, mut rx) = channel_sink();
    let handle = prometheus::spawn_alerts(cfg, paging, Duration::from_millis(500), c, sink);
    let Event::Alerts(Ok(alerts)) = next_event(&mut rx, "alerts").await else { panic!("not an Ok alerts event") };
    assert_eq!(alerts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["BlueErrorsHigh"]);
    let mut cockpit = Cockpit::new("go-live", "test");
    cockpit.update(Event::Alerts(Ok(alerts.clone())), now());
    assert!(matches!(&cockpit.alerts, Some((_, Ok(a))) if *a == alerts));
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}); the TLS test needs it: apt-get install -y openssl"));
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a server certificate for 127.0.0.1 signed by it (EC keys: quick to make).
fn make_certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cutover test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tls_with_a_ca_file() {
    let dir = std::env::temp_dir().join(format!("cutover-prom-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        dir.join("server.pem").display(),
        dir.join("server.key").display()
    );
    let prom = PromServer::start(PromOptions { web_config: Some(web), ..Default::default() }).await;
    assert!(prom.url().starts_with("https://"));

    let plain = PromConfig::new(prom.url());
    let e = query_once(&plain, &client(), "vector(1)", None).await.unwrap_err().to_string();
    assert!(e.starts_with(&format!("GET {}/api/v1/query: ", prom.url())) && e.contains("certificate"), "{e}");

    let trusted = PromConfig { ca_file: Some(dir.join("ca.pem")), ..plain };
    trusted.check().unwrap();
    let c = prometheus::client_for(&trusted, &client()).unwrap();
    assert_eq!(query_once(&trusted, &c, "vector(1)", None).await.unwrap().outcome(), Outcome::Value(1.0));
    drop(prom);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Agreement: the same fleet read through PromQL and by scraping it directly.

/// The PromQL range and the direct-scrape window: equal, and short enough to keep this test short.
const WINDOW: Duration = Duration::from_secs(30);

type Latest = Arc<Mutex<HashMap<(usize, Env), Outcome>>>;

fn latest_sink(latest: Latest) -> Sink {
    Arc::new(move |e| {
        if let Event::Sample { slo, env, outcome } = e {
            latest.lock().unwrap().insert((slo, env), outcome);
        }
    })
}

fn is_ratio(kind: SliKind) -> bool {
    matches!(kind, SliKind::ErrorRatio | SliKind::Availability)
}

/// `Ok(difference)` when within tolerance: 0.5 percentage points for ratios, 10 % relative otherwise.
fn agree(kind: SliKind, promql: f64, direct: f64) -> Result<f64, f64> {
    if is_ratio(kind) {
        let d = (promql - direct).abs();
        if d <= 0.005 { Ok(d) } else { Err(d) }
    } else {
        let d = (promql - direct).abs() / direct.abs().max(f64::MIN_POSITIVE);
        if d <= 0.10 { Ok(d) } else { Err(d) }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_go_live_queries_agree_with_the_direct_scrape() {
    let fleet = Fleet::start(FleetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        rps: 100,
        smoke_rps: 10,
        target: None,
        // Blue gets 60 requests a second: enough that two windows a second or two apart see
        // nearly the same error ratio (at 20/s the sampling noise alone reached 0.6 pp).
        initial_weights: Weights { blue: 50, green: 50 },
    })
    .await
    .expect("start the fleet");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let fault = http
        .post(format!("{}/faults", fleet.info.admin))
        .body(r#"{"env":"blue","service":"*","error_ratio":0.05}"#)
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success(), "{:?}", fault.text().await);

    let targets: Vec<String> =
        fleet.info.services.iter().map(|s| s.url.trim_start_matches("http://").to_string()).collect();
    let prom = PromServer::start(PromOptions { targets, ..Default::default() }).await;
    let cfg = PromConfig { timeout: Duration::from_secs(2), ..PromConfig::new(prom.url()) };
    let interval = Duration::from_secs(1);

    let direct: Latest = Default::default();
    let scrape_cfg = ScrapeConfig {
        targets: fleet.info.services.iter().map(|s| ScrapeTarget { env: s.env, url: s.metrics.clone() }).collect(),
        slos: SliKind::ALL.iter().copied().enumerate().collect(),
        min_counts: Vec::new(),
        interval,
        window: WINDOW,
        timeout: Duration::from_secs(2),
    };
    let scraping = scrape::spawn(scrape_cfg, client(), latest_sink(direct.clone()));
    let started = Instant::now();

    let range = format!("[{}s]", WINDOW.as_secs());
    let mut slos = Vec::new();
    for (i, q) in GO_LIVE_QUERIES.iter().enumerate() {
        assert_eq!(q.sli, SliKind::ALL[i]);
        for env in Env::ALL {
            let query =
                prometheus::resolve(&q.query.replace("[1m]", &range), &env_vars(env.key(), &HashMap::new())).unwrap();
            slos.push(PromSlo { slo: i, env, query, reduce: None, count: None });
        }
    }
    let promql: Latest = Default::default();
    let polling = prometheus::spawn(cfg.clone(), slos.clone(), interval, client(), latest_sink(promql.clone()));

    // Both windows full: Prometheus holds a whole window of scrapes of every target, and the
    // direct scrape has run for a window and two intervals.
    let full = format!("min(count_over_time(up{{job=\"fleet\"}}{range})) >= {}", WINDOW.as_secs() - 1);
    wait_for_result(prom.url(), &full, WINDOW + Duration::from_secs(60)).await;
    tokio::time::sleep_until(started + WINDOW + 2 * interval).await;

    // Rounds in which either side has no value for some SLI (a scrape or query that timed out
    // while the other tests of this binary load the machine) are not comparisons; they are
    // recorded and skipped. At least three complete rounds must be seen, and every one must agree.
    let mut worst: HashMap<(usize, Env), f64> = HashMap::new();
    let mut failures = Vec::new();
    let mut table = String::new();
    let mut complete = 0;
    let mut round = 0;
    while complete < 3 && round < 15 {
        if round > 0 {
            tokio::time::sleep(2 * interval).await;
        }
        let (p, d) = (promql.lock().unwrap().clone(), direct.lock().unwrap().clone());
        let values = |i: usize, env: Env| match (p.get(&(i, env)), d.get(&(i, env))) {
            (Some(Outcome::Value(pv)), Some(Outcome::Value(dv))) => Some((*pv, *dv)),
            _ => None,
        };
        let missing: Vec<String> = SliKind::ALL
            .iter()
            .enumerate()
            .flat_map(|(i, kind)| Env::ALL.map(move |env| (i, *kind, env)))
            .filter(|(i, _, env)| values(*i, *env).is_none())
            .map(|(i, kind, env)| {
                format!("{} {env}: promql {:?}, direct {:?}", kind.key(), p.get(&(i, env)), d.get(&(i, env)))
            })
            .collect();
        if !missing.is_empty() {
            table += &format!("round {round} skipped, not every value present: {}\n", missing.join("; "));
            round += 1;
            continue;
        }
        for (i, kind) in SliKind::ALL.iter().copied().enumerate() {
            for env in Env::ALL {
                let (pv, dv) = values(i, env).expect("checked above");
                let d = match agree(kind, pv, dv) {
                    Ok(d) => d,
                    Err(d) => {
                        failures.push(format!("round {round} {} {env}: promql {pv} vs direct {dv}", kind.key()));
                        d
                    }
                };
                let w = worst.entry((i, env)).or_default();
                *w = w.max(d);
                table += &format!("round {round} {:<18} {env:<5} promql {pv:>10.5} direct {dv:>10.5}\n", kind.key());
            }
        }
        complete += 1;
        round += 1;
    }
    assert!(complete >= 3, "only {complete} complete rounds in {round}:\n{table}");
    eprintln!("{table}");
    for (i, kind) in SliKind::ALL.iter().enumerate() {
        for env in Env::ALL {
            let w = worst.get(&(i, env)).copied().unwrap_or(f64::NAN);
            let shown = if is_ratio(*kind) { format!("{:.3} pp", w * 100.0) } else { format!("{:.1} %", w * 100.0) };
            eprintln!("worst difference {:<18} {env:<5} {shown}", kind.key());
        }
    }
    assert!(failures.is_empty(), "disagreements:\n{}\n{table}", failures.join("\n"));

    // The fault shows in both: blue's error ratio is about 5 %, green's about 0.
    let p = promql.lock().unwrap().clone();
    let Some(Outcome::Value(blue)) = p.get(&(0, Env::Blue)) else { panic!("no blue error ratio") };
    assert!((0.02..0.09).contains(blue), "blue error ratio {blue}");
    let Some(Outcome::Value(green)) = p.get(&(0, Env::Green)) else { panic!("no green error ratio") };
    assert!(*green < 0.01, "green error ratio {green}");

    // Backfill: the throughput history over the last 20 s, one point a second.
    let history = prometheus::backfill(&cfg, &client(), &slos[8..10], Duration::from_secs(20), interval).await;
    for (slo, env, points) in history {
        let points = points.unwrap();
        assert_eq!(slo, 4);
        assert!(points.len() >= 19, "{env}: {points:?}");
        assert!(points.iter().all(|&(_, v)| v.is_finite() && v > 0.0), "{env}: {points:?}");
    }

    polling.abort();
    scraping.abort();
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_infinities_are_errors_with_the_reason_in_the_cockpit_and_status() {
    use cutover::domain::slo::SloRow;
    use cutover::domain::status::StatusReport;
    let prom = PromServer::start(PromOptions::default()).await;
    let cfg = PromConfig::new(prom.url());
    let slos = [
        ("error rate", "< 1%", Judge::PerEnv),
        ("availability", ">= 99.9%", Judge::PerEnv),
        ("throughput", ">= 200/s", Judge::Sum),
    ];
    let mut cockpit = Cockpit::new("go-live", "prod");
    for (name, obj, judge) in slos {
        cockpit.slos.push(SloRow::new(SloSpec {
            name: name.into(),
            objective: obj.parse().unwrap(),
            judge,
            interval_ms: 1000,
        }));
    }
    // What Prometheus answers for x/0: -Inf for the error rate, +Inf for the others.
    let queries = [(0, "-1/vector(0)"), (1, "1/vector(0)"), (2, "1/vector(0)")];
    let polled: Vec<PromSlo> = queries
        .iter()
        .flat_map(|&(slo, q)| Env::ALL.map(|env| PromSlo { slo, env, query: q.into(), reduce: None, count: None }))
        .collect();
    let (sink, mut rx) = channel_sink();
    let handle = prometheus::spawn(cfg, polled, Duration::from_secs(1), client(), sink);
    let mut seen = 0;
    while seen < 6 {
        if let Event::Sample { slo, env, outcome } = next_event(&mut rx, "the infinities").await {
            let Outcome::Value(v) = outcome else { panic!("{slo} {env:?}: {outcome:?}") };
            assert!(v.is_infinite(), "Prometheus answered {v}");
            cockpit.update(Event::Sample { slo, env, outcome }, now());
            seen += 1;
        }
    }
    handle.abort();
    let json = serde_json::to_value(StatusReport::of(&cockpit, now())).unwrap();
    let entries = json["slos"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{json}");
    for s in entries {
        assert_eq!((s["state"].as_str(), &s["value"]), (Some("error"), &serde_json::Value::Null), "{s}");
        let sign = if s["name"] == "error rate" { "-Inf" } else { "+Inf" };
        assert!(s["error"].as_str().unwrap().ends_with(&format!("not a finite number: {sign}")), "{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_count_queries_hold_a_promql_slo_to_its_minimum() {
    use cutover::sources::prometheus::CountCheck;
    let prom = PromServer::start(PromOptions::default()).await;
    let cfg = PromConfig::new(prom.url());
    let check = |count: &str| CountCheck { query: count.into(), min: 100, counted: "requests" };
    let cases = [
        ("vector(37)", Outcome::TooFew("37 requests in the window < 100".into())),
        ("vector(100)", Outcome::Value(0.002)),
        (r#"nothing_here{env="blue"}"#, Outcome::TooFew("no requests in the window (count query empty) < 100".into())),
    ];
    let slos: Vec<PromSlo> = cases
        .iter()
        .enumerate()
        .map(|(i, (count, _))| PromSlo {
            slo: i,
            env: Env::Blue,
            query: "vector(0.002)".into(),
            reduce: None,
            count: Some(check(count)),
        })
        .chain([PromSlo {
            slo: 3,
            env: Env::Blue,
            query: "vector(0.002)".into(),
            reduce: None,
            count: Some(check("sum(rate(up[1m]")),
        }])
        .collect();
    let (sink, mut rx) = channel_sink();
    let handle = prometheus::spawn(cfg, slos, Duration::from_secs(1), client(), sink);
    let mut got: BTreeMap<usize, Outcome> = BTreeMap::new();
    while got.len() < 4 {
        if let Event::Sample { slo, outcome, .. } = next_event(&mut rx, "the counted samples").await {
            got.entry(slo).or_insert(outcome);
        }
    }
    handle.abort();
    for (i, (_, want)) in cases.iter().enumerate() {
        assert_eq!(&got[&i], want, "case {i}");
    }
    let Outcome::Error(e) = &got[&3] else { panic!("{:?}", got[&3]) };
    assert!(e.starts_with("count query: bad_data"), "an unreadable count is an error, not a pass: {e}");
}

//! The fault matrix: every source and actuator against every fault a fake server can
//! produce, each row asserting the state and the reason shown (`status --json` for sources,
//! the chain's report for actuators), a bounded reason, no panic and bounded memory. Rows run
//! concurrently with short timeouts; adding a fault is one line in a table.

#[path = "common/fake_server.rs"]
mod fake_server;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::{Duration, Instant};

use cutover::actuators::{Actuator, Chain, ChainStop, Exec, Haproxy, Request, Webhook};
use cutover::domain::env::Weights;
use fake_server::{FakeServer, Reply, closed_port};
use futures_util::future::join_all;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
/// Longest reason a row may show, in bytes.
const REASON_MAX: usize = 600;
/// Peak resident memory a `status` run may reach, whatever it is sent (kB).
const RSS_MAX_KB: u64 = 150_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    PromQuery,
    PromAlerts,
    Scrape,
    HttpHealth,
    TcpHealth,
}

/// The fake's answer for a fault, per source where what is "expected" differs.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Refused,
    Hang,
    Http500,
    Http401,
    Http403,
    Html,
    Truncated,
    Body50Mb,
    Trickle,
    NaN,
    PosInf,
    NegInf,
    Empty,
    SeveralSeries,
    WrongTypes,
    RedirectLoop,
    HugeLabel,
}

fn vector(values: &[(&str, &str)]) -> String {
    let series: Vec<String> = values
        .iter()
        .map(|(labels, v)| format!(r#"{{"metric":{{{labels}}},"value":[1795707085.364,"{v}"]}}"#))
        .collect();
    format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, series.join(","))
}

fn alerts(value: &str, label: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"alerts":[{{"labels":{{"alertname":"A","team":"t","x":"{label}"}},"annotations":{{}},"state":"firing","activeAt":"2026-12-01T00:00:00Z","value":"{value}"}}]}}}}"#
    )
}

fn exposition(v: &str, label: &str) -> String {
    format!(
        "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\",x=\"{label}\"}} {v}\nhttp_requests_total{{code=\"500\"}} 0\n"
    )
}

const LOGIN: &str = "<!DOCTYPE html><html><body><form>Sign in</form></body></html>";

fn reply(source: Source, fault: Fault) -> Option<Reply> {
    use Fault::*;
    use Source::*;
    let mb = "x".repeat(1 << 20);
    Some(match (source, fault) {
        (_, Refused) => return None,
        (_, Hang) => Reply::Hang,
        (_, Http500) => Reply::text(500, "text/plain", "internal error"),
        (_, Http401) => Reply::text(401, "text/plain", "unauthorized"),
        (_, Http403) => Reply::text(403, "text/plain", "forbidden"),
        (_, Html) => Reply::text(200, "text/html", LOGIN),
        (_, Truncated) => Reply::Truncated,
        (_, Body50Mb) => Reply::Big(50 << 20),
        (_, Trickle) => Reply::Trickle,
        (_, RedirectLoop) => Reply::RedirectLoop,
        (PromQuery, NaN) => Reply::json(200, &vector(&[("", "NaN")])),
        (PromQuery, PosInf) => Reply::json(200, &vector(&[("", "+Inf")])),
        (PromQuery, NegInf) => Reply::json(200, &vector(&[("", "-Inf")])),
        (PromQuery, Empty) => Reply::json(200, &vector(&[])),
        (PromQuery, SeveralSeries) => Reply::json(200, &vector(&[(r#""a":"1""#, "0.1"), (r#""a":"2""#, "0.2")])),
        (PromQuery, WrongTypes) => Reply::json(
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,0.5]}]}}"#,
        ),
        (PromQuery, HugeLabel) => Reply::json(200, &vector(&[(&format!(r#""x":"{mb}""#), "0.001")])),
        (PromAlerts, NaN) => Reply::json(200, &alerts("NaN", "")),
        (PromAlerts, PosInf) => Reply::json(200, &alerts("+Inf", "")),
        (PromAlerts, NegInf) => Reply::json(200, &alerts("-Inf", "")),
        (PromAlerts, Empty) => Reply::json(200, r#"{"status":"success","data":{"alerts":[]}}"#),
        (PromAlerts, SeveralSeries) => Reply::json(200, &alerts("1", "")),
        (PromAlerts, WrongTypes) => Reply::json(200, r#"{"status":"success","data":{"alerts":{"a":1}}}"#),
        (PromAlerts, HugeLabel) => Reply::json(200, &alerts("1", &mb)),
        (Scrape, NaN) => Reply::text(200, "text/plain", &exposition("NaN", "")),
        (Scrape, PosInf) => Reply::text(200, "text/plain", &exposition("+Inf", "")),
        (Scrape, NegInf) => Reply::text(200, "text/plain", &exposition("-Inf", "")),
        (Scrape, Empty) => Reply::text(200, "text/plain", ""),
        (Scrape, SeveralSeries) => Reply::text(200, "text/plain", &exposition("5", "")),
        (Scrape, WrongTypes) => Reply::text(
            200,
            "text/plain",
            "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} many\n",
        ),
        (Scrape, HugeLabel) => Reply::text(200, "text/plain", &exposition("5", &mb)),
        (HttpHealth, NaN | PosInf | NegInf) => Reply::json(200, r#"{"status":NaN}"#),
        (HttpHealth, Empty) => Reply::text(200, "application/json", ""),
        (HttpHealth, SeveralSeries) => Reply::json(200, r#"{"status":"pass"}{"status":"fail"}"#),
        (HttpHealth, WrongTypes) => Reply::json(200, r#"{"status":7,"checks":[]}"#),
        (HttpHealth, HugeLabel) => Reply::json(
            200,
            &format!(
                r#"{{"status":"warn","checks":{{"db":[{{"status":"warn","output":"{}"}}]}}}}"#,
                "y".repeat(60_000)
            ),
        ),
        (TcpHealth, _) => Reply::text(200, "text/plain", ""),
    })
}

fn config(source: Source, url: &str) -> String {
    let mut c = String::from(
        "[deployment]\nname = \"faults\"\n[signals]\ninterval = \"200ms\"\ntimeout = \"400ms\"\nwindow = \"2s\"\n\
         [[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\nmin_requests = 0\n",
    );
    match source {
        Source::PromQuery => c.push_str(&format!("[prometheus]\nurl = \"{url}\"\n")),
        Source::PromAlerts => {
            c.push_str(&format!("[prometheus]\nurl = \"{url}\"\nalert_labels = {{ team = \"t\" }}\n"))
        }
        Source::Scrape => {
            c.push_str(&format!("[[target]]\nenv = \"blue\"\nservice = \"s\"\nmetrics = \"{url}/metrics\"\n"))
        }
        Source::HttpHealth => {
            c.push_str(&format!("[[target]]\nenv = \"blue\"\nservice = \"s\"\nhealth = \"{url}/health\"\n"))
        }
        Source::TcpHealth => {
            let addr = url.trim_start_matches("http://");
            c.push_str(&format!("[[target]]\nenv = \"blue\"\nservice = \"s\"\nhealth = \"tcp://{addr}\"\n"))
        }
    }
    c
}

/// What a row saw: the state and the reason of the part its source feeds.
#[derive(Debug)]
struct Seen {
    state: String,
    reason: String,
    rss_kb: u64,
    secs: f64,
}

async fn status(source: Source, fault: Fault, dir: &std::path::Path) -> Seen {
    let server = match reply(source, fault) {
        Some(r) => Some(FakeServer::start(r).await),
        None => None,
    };
    let url = server.as_ref().map_or_else(|| format!("http://127.0.0.1:{}", closed_port()), |s| s.url(""));
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("cutover.toml");
    std::fs::write(&cfg, config(source, &url)).unwrap();
    let rss = dir.join("rss");
    let started = Instant::now();
    let out = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss)
        .args([BIN, "status", "--json", "--wait", "3s", "--config"])
        .arg(&cfg)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .output()
        .await
        .expect("/usr/bin/time (Debian package `time`) runs cutover");
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{source:?} {fault:?} panicked: {stderr}");
    let json: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{source:?} {fault:?}: {e}: {stdout} {stderr}"));
    let rss_kb = std::fs::read_to_string(&rss).unwrap().lines().last().unwrap_or("0").trim().parse().unwrap_or(0);
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let (state, reason) = match source {
        Source::PromQuery | Source::Scrape => {
            let slo = json["slos"].as_array().unwrap().iter().find(|s| s["env"] == "blue").unwrap().clone();
            let reason = [text(&slo["error"]), text(&slo["reason"])].join(" ").trim().to_string();
            (text(&slo["state"]), reason)
        }
        Source::PromAlerts => match json["alerts_error"].as_str() {
            Some(e) => ("error".to_string(), e.to_string()),
            None => {
                let a = &json["alerts"];
                (format!("{} alerts", a.as_array().map_or(0, Vec::len)), a.to_string())
            }
        },
        Source::HttpHealth | Source::TcpHealth => {
            let h = &json["health"][0];
            (text(&h["state"]), text(&h["detail"]))
        }
    };
    drop(server);
    Seen { state, reason, rss_kb, secs }
}

/// source, fault, the state shown, words the reason must hold.
const MATRIX: &[(Source, Fault, &str, &str)] = {
    use Fault::*;
    use Source::*;
    &[
        (PromQuery, Refused, "error", "connection refused"),
        (PromQuery, Hang, "error", "timeout after"),
        (PromQuery, Http500, "error", "500"),
        (PromQuery, Http401, "error", "401"),
        (PromQuery, Http403, "error", "403"),
        (PromQuery, Html, "error", "not a Prometheus API answer"),
        (PromQuery, Truncated, "error", ""),
        (PromQuery, Body50Mb, "error", "16 MiB"),
        (PromQuery, Trickle, "error", "timeout after"),
        (PromQuery, NaN, "no_data", "not a number (NaN)"),
        (PromQuery, PosInf, "error", "not a finite number: +Inf"),
        (PromQuery, NegInf, "error", "not a finite number: -Inf"),
        (PromQuery, Empty, "no_data", ""),
        (PromQuery, SeveralSeries, "error", "expected 1 series, got 2"),
        (PromQuery, WrongTypes, "error", ""),
        (PromQuery, RedirectLoop, "error", "302"),
        (PromQuery, HugeLabel, "ok", ""),
        (PromAlerts, Refused, "error", "connection refused"),
        (PromAlerts, Hang, "error", "timeout after"),
        (PromAlerts, Http500, "error", "500"),
        (PromAlerts, Http401, "error", "401"),
        (PromAlerts, Http403, "error", "403"),
        (PromAlerts, Html, "error", "not a Prometheus API answer"),
        (PromAlerts, Truncated, "error", ""),
        (PromAlerts, Body50Mb, "error", "16 MiB"),
        (PromAlerts, Trickle, "error", "timeout after"),
        (PromAlerts, NaN, "1 alerts", "NaN"),
        (PromAlerts, PosInf, "1 alerts", "+Inf"),
        (PromAlerts, NegInf, "1 alerts", "-Inf"),
        (PromAlerts, Empty, "0 alerts", ""),
        (PromAlerts, SeveralSeries, "1 alerts", ""),
        (PromAlerts, WrongTypes, "error", ""),
        (PromAlerts, RedirectLoop, "error", "302"),
        (PromAlerts, HugeLabel, "1 alerts", ""),
        (Scrape, Refused, "error", "connection refused"),
        (Scrape, Hang, "error", "timeout after 400ms"),
        (Scrape, Http500, "error", "500"),
        (Scrape, Http401, "error", "401"),
        (Scrape, Http403, "error", "403"),
        (Scrape, Html, "error", "HTML"),
        (Scrape, Truncated, "error", ""),
        (Scrape, Body50Mb, "error", "16 MiB"),
        (Scrape, Trickle, "error", "timeout after 400ms"),
        (Scrape, NaN, "error", "not a finite number: NaN"),
        (Scrape, PosInf, "error", "not a finite number: +Inf"),
        (Scrape, NegInf, "error", "not a finite number: -Inf"),
        (Scrape, Empty, "error", "empty body"),
        (Scrape, SeveralSeries, "no_data", ""),
        (Scrape, WrongTypes, "error", "unreadable"),
        (Scrape, RedirectLoop, "error", "302"),
        (Scrape, HugeLabel, "no_data", ""),
        (HttpHealth, Refused, "unreachable", "connection refused"),
        (HttpHealth, Hang, "unreachable", "timeout after 400ms"),
        (HttpHealth, Http500, "down", "HTTP 500 (expected 2xx)"),
        (HttpHealth, Http401, "down", "HTTP 401 (expected 2xx)"),
        (HttpHealth, Http403, "down", "HTTP 403 (expected 2xx)"),
        (HttpHealth, Html, "degraded", "HTML answer: a login page or wrong URL?"),
        (HttpHealth, Truncated, "unreachable", "HTTP 200, then"),
        (HttpHealth, Body50Mb, "degraded", "body is over 64 KiB"),
        (HttpHealth, Trickle, "unreachable", "timeout after 400ms"),
        (HttpHealth, NaN, "up", "HTTP 200"),
        (HttpHealth, Empty, "up", "HTTP 200"),
        (HttpHealth, SeveralSeries, "up", "HTTP 200"),
        (HttpHealth, WrongTypes, "up", "HTTP 200"),
        (HttpHealth, RedirectLoop, "down", "HTTP 302 redirect to /health (not followed)"),
        (HttpHealth, HugeLabel, "degraded", "warn: db"),
        (TcpHealth, Refused, "unreachable", "connection refused"),
        (TcpHealth, Html, "up", "connected to"),
    ]
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_shows_each_fault_as_its_state_with_a_bounded_reason() {
    let base = std::env::temp_dir().join(format!("cutover-faults-{}", std::process::id()));
    let started = Instant::now();
    let rows = MATRIX.iter().enumerate().map(|(i, &(source, fault, _, _))| {
        let dir = base.join(i.to_string());
        async move { status(source, fault, &dir).await }
    });
    let seen = join_all(rows).await;
    let mut wrong = Vec::new();
    for (&(source, fault, state, words), s) in MATRIX.iter().zip(&seen) {
        println!(
            "{source:?} × {fault:?}: {} ({} bytes) {:?} · {:.1}s · {} MB peak",
            s.state,
            s.reason.len(),
            cutover::text::one_line(&s.reason, 120),
            s.secs,
            s.rss_kb / 1024
        );
        if s.state != state || !s.reason.contains(words) {
            wrong.push(format!("{source:?} × {fault:?}: want {state} with {words:?}, got {} {:?}", s.state, s.reason));
        }
        if s.reason.len() > REASON_MAX {
            wrong.push(format!("{source:?} × {fault:?}: reason of {} bytes", s.reason.len()));
        }
        if s.rss_kb > RSS_MAX_KB {
            wrong.push(format!("{source:?} × {fault:?}: {} kB peak", s.rss_kb));
        }
    }
    println!("{} rows in {:.1}s", MATRIX.len(), started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&base);
    assert!(wrong.is_empty(), "{} rows wrong:\n{}", wrong.len(), wrong.join("\n"));
}

fn weights() -> Request {
    Request::new(Weights { blue: 25, green: 75 }, "2")
}

fn webhook(url: &str) -> Actuator {
    let w = Webhook::new("PUT", url)
        .unwrap()
        .tries(3)
        .backoff(Duration::from_millis(10))
        .timeout(Duration::from_millis(400));
    Actuator::Webhook(w)
}

fn haproxy(addr: &str) -> Actuator {
    Actuator::Haproxy(
        Haproxy::new(&format!("ipv4@{addr}"), "app", "blue", "green").unwrap().with_timeout(Duration::from_millis(400)),
    )
}

fn exec(argv: &[&str]) -> Actuator {
    exec_within(argv, Duration::from_millis(500))
}

fn exec_within(argv: &[&str], timeout: Duration) -> Actuator {
    Actuator::Exec(Exec::new(argv.iter().map(|a| a.to_string()).collect()).unwrap().timeout(timeout))
}

/// What a chain did, as the log line says it, and at which step it stopped.
async fn run_chain(chain: Chain) -> (Option<usize>, String) {
    let report = chain.apply(&weights()).await;
    let stopped = match &report.stop {
        Some(ChainStop::Failed { index, .. }) => Some(*index),
        _ => None,
    };
    (stopped, report.summary())
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_actuator_fault_stops_the_chain_at_its_step_and_says_why() {
    let refused = format!("127.0.0.1:{}", closed_port());
    let hang = FakeServer::start(Reply::Hang).await;
    let flaky =
        FakeServer::start(Reply::Seq(vec![Reply::text(503, "text/plain", "busy"), Reply::json(200, "{}")])).await;
    let ok = FakeServer::start(Reply::json(200, "{}")).await;
    let failing = FakeServer::start(Reply::text(500, "text/plain", "boom")).await;
    let denied = FakeServer::start(Reply::Line(b"Permission denied\n\n".to_vec())).await;
    let hang_addr = hang.addr.to_string();
    let denied_addr = denied.addr.to_string();
    // name, chain, the step it stops at (None: completes), words the summary must hold.
    let rows: Vec<(&str, Chain, Option<usize>, &str)> = vec![
        (
            "webhook refused",
            Chain::new(vec![webhook(&format!("http://{refused}/w"))]),
            Some(0),
            "connection refused after 3 tries",
        ),
        ("webhook timeout", Chain::new(vec![webhook(&hang.url("/w"))]), Some(0), "after 3 tries"),
        ("webhook 5xx then success", Chain::new(vec![webhook(&flaky.url("/w"))]), None, "HTTP 200"),
        (
            "partial failure in a chain",
            Chain::new(vec![webhook(&ok.url("/a")), webhook(&failing.url("/b")), exec(&["true"])]),
            Some(1),
            "HTTP 500 after 3 tries: boom; not run: exec true",
        ),
        ("haproxy refused", Chain::new(vec![haproxy(&refused)]), Some(0), "cannot reach the HAProxy runtime API"),
        ("haproxy timeout", Chain::new(vec![haproxy(&hang_addr)]), Some(0), "no answer within 400ms"),
        ("haproxy permission denied", Chain::new(vec![haproxy(&denied_addr)]), Some(0), "needs admin level"),
        ("exec hangs", Chain::new(vec![exec(&["sleep", "30"])]), Some(0), "(killed): no answer within 500ms"),
        (
            "exec missing",
            Chain::new(vec![exec(&["/nonexistent/set-split"])]),
            Some(0),
            "cannot run /nonexistent/set-split",
        ),
    ];
    let names: Vec<(&str, Option<usize>, &str)> = rows.iter().map(|(n, _, s, w)| (*n, *s, *w)).collect();
    let results = join_all(rows.into_iter().map(|(_, chain, _, _)| run_chain(chain))).await;
    let mut wrong = Vec::new();
    for ((name, stop, words), (stopped, summary)) in names.iter().zip(&results) {
        println!("{name}: stopped at {stopped:?} ({} bytes) {summary}", summary.len());
        if stopped != stop || !summary.contains(words) || summary.len() > REASON_MAX {
            wrong.push(format!("{name}: want stop {stop:?} with {words:?}, got {stopped:?}: {summary}"));
        }
    }
    assert_eq!(flaky.requests(), 2, "the 503 was retried once");
    // A command printing 100 MB: kept to its start, its output never held whole.
    let before = peak_rss_kb();
    let started = Instant::now();
    let (stopped, summary) = run_chain(Chain::new(vec![exec_within(
        &["sh", "-c", "head -c 100000000 /dev/zero | tr '\\0' x; exit 3"],
        Duration::from_secs(60),
    )]))
    .await;
    let grew = peak_rss_kb().saturating_sub(before);
    println!(
        "exec prints 100 MB: stopped at {stopped:?} in {:.1}s, peak grew {grew} kB, {} bytes: {}",
        started.elapsed().as_secs_f64(),
        summary.len(),
        cutover::text::one_line(&summary, 100)
    );
    if stopped != Some(0) || !summary.contains("exited with 3") || summary.len() > REASON_MAX || grew > 20_000 {
        wrong.push(format!("exec 100 MB: {stopped:?} grew {grew} kB: {summary}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The newest frame in the frame log, in ms since the epoch.
fn last_frame(log: &std::path::Path) -> i64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(|l| l.trim().parse().ok()).max().unwrap_or(0)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_keeps_drawing_and_shows_states_while_every_source_fails() {
    let prom = FakeServer::start(Reply::Hang).await;
    let big = FakeServer::start(Reply::Big(50 << 20)).await;
    let html = FakeServer::start(Reply::text(200, "text/html", LOGIN)).await;
    let refused = closed_port();
    let t = tmux::Tmux::start("faults", 120, 40);
    let mut cfg = config(Source::PromAlerts, &prom.url(""));
    // Prometheus hangs (the SLO and the alerts); health answers 50 MB, a login page, or nothing.
    cfg.push_str(&format!(
        "[[target]]\nenv = \"blue\"\nservice = \"big\"\nhealth = \"{}\"\n\
         [[target]]\nenv = \"blue\"\nservice = \"login\"\nhealth = \"{}\"\n\
         [[target]]\nenv = \"green\"\nservice = \"db\"\nhealth = \"tcp://127.0.0.1:{refused}\"\n",
        big.url("/health"),
        html.url("/health"),
    ));
    let cfg_path = t.path("cutover.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = t.path("frames.log");
    t.type_text(
        &format!(
            "CUTOVER_FRAME_LOG={} {BIN} run --config {} --state-dir {}",
            log.display(),
            cfg_path.display(),
            t.path("s").display()
        ),
        true,
    );
    let took = t.wait_for("every fault on screen", Duration::from_secs(20), |s, _| {
        s.contains("degraded") && s.contains("unreachable") && s.contains("error")
    });
    println!("faults on screen after {took:?}");
    // Each key must be drawn within 100 ms while the faults last.
    let mut lat = Vec::new();
    for _ in 0..20 {
        let before = now_ms();
        t.key("Down");
        let deadline = Instant::now() + Duration::from_secs(5);
        while last_frame(&log) < before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        lat.push(last_frame(&log) - before);
        std::thread::sleep(Duration::from_millis(30));
    }
    lat.sort();
    let frames = std::fs::read_to_string(&log).unwrap().lines().count();
    println!("key to frame: median {} ms, max {} ms over 20 keys; {frames} frames drawn", lat[10], lat[19]);
    let screen = t.screen(false);
    t.key("q");
    assert!(lat[19] < 100, "a key took {} ms to be drawn; all: {lat:?}\n{screen}", lat[19]);
    assert!(screen.contains("degraded") && screen.contains("unreachable"), "{screen}");
}

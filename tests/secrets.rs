//! The secret test: distinct secrets planted in every place a secret can be configured, a fake
//! server that echoes them back (in bodies, headers and Prometheus error envelopes; the real
//! Prometheus cannot echo a token), and then the screen, every file of the state dir, the
//! report and all command output are searched for them: zero hits. And a megabyte from outside
//! stays a few hundred characters wherever cutover shows or keeps it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::tmux::Tmux;
use common::traffic::{TempDir, cutover, output_text};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

const TOKEN_ENV: &str = "tok-env-Q7x9Z2aa";
const TOKEN_FILE: &str = "tok-file-K3m8P1bb";
const PASSWORD_ENV: &str = "pw-env-R5n2W8cc";
const SCRAPE_PW: &str = "scrape-pw-H4j6dd";
const HEALTH_PW: &str = "health-pw-V9c1ee";
const HOOK_PATH: &str = "hook-path-L2s7D4ff";
const HOOK_HEADER: &str = "hook-hdr-B8f3G6gg";
const HOOK_BEARER: &str = "hook-bearer-Y1t5hh";

/// Every secret, and the forms they travel in (basic auth is base64 of `user:password`).
fn needles() -> Vec<String> {
    let b64 = |s: &str| base64(s.as_bytes());
    let mut v: Vec<String> =
        [TOKEN_ENV, TOKEN_FILE, PASSWORD_ENV, SCRAPE_PW, HEALTH_PW, HOOK_PATH, HOOK_HEADER, HOOK_BEARER]
            .iter()
            .map(|s| s.to_string())
            .collect();
    v.push(b64(&format!("alice:{PASSWORD_ENV}")));
    v.push(b64(&format!("scraper:{SCRAPE_PW}")));
    v.push(b64(&format!("prober:{HEALTH_PW}")));
    v
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// What the fake server answers: echoes of what it was sent, or megabytes.
#[derive(Clone, Copy)]
enum Mode {
    Echo,
    Huge,
}

/// A server on a free port, in its own thread and runtime, until the test ends.
struct Fake {
    addr: std::net::SocketAddr,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

fn fake(mode: Mode) -> Fake {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let state = (mode, seen.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = Router::new().fallback(answer).with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    Fake { addr, seen }
}

type FakeState = (Mode, Arc<std::sync::Mutex<Vec<String>>>);

async fn answer(State((mode, seen)): State<FakeState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    // Everything the client sent that could hold a secret, as servers do echo it.
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("-");
    // The credential alone as well, so the known-secret path is tested, not only `Bearer …`.
    let echo = format!(
        "uri={uri} authorization={auth} credential=({}) x-hook-token={} body={}",
        auth.split_once(' ').map_or(auth, |(_, c)| c),
        headers.get("x-hook-token").and_then(|v| v.to_str().ok()).unwrap_or("-"),
        String::from_utf8_lossy(&body)
    );
    seen.lock().unwrap().push(echo.clone());
    let path = uri.path().to_string();
    let json = |s: &str| serde_json::to_string(s).unwrap();
    let mut h = HeaderMap::new();
    h.insert("www-authenticate", format!("Bearer realm={}", json(&echo)).parse().unwrap());
    match mode {
        Mode::Echo if path.starts_with("/api/v1/") => {
            let body = format!(
                r#"{{"status":"error","errorType":"bad_data","error":{}}}"#,
                json(&format!("Unauthorized: {echo}"))
            );
            (StatusCode::UNAUTHORIZED, h, body).into_response()
        }
        Mode::Echo if path == "/metrics" => {
            (StatusCode::UNAUTHORIZED, h, format!("Unauthorized: {echo}")).into_response()
        }
        Mode::Echo if path == "/health" => {
            (StatusCode::SERVICE_UNAVAILABLE, h, format!(r#"{{"status":"DOWN","detail":{}}}"#, json(&echo)))
                .into_response()
        }
        Mode::Echo => (StatusCode::INTERNAL_SERVER_ERROR, h, format!("hook refused: {echo}")).into_response(),
        Mode::Huge if path.starts_with("/api/v1/") => {
            let big = "x".repeat(1 << 20);
            let series = |i: u32| format!(r#"{{"metric":{{"big":"{big}","i":"{i}"}},"value":[1795707085.364,"1"]}}"#);
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{},{}]}}}}"#,
                series(1),
                series(2)
            );
            (StatusCode::OK, body).into_response()
        }
        Mode::Huge => (StatusCode::SERVICE_UNAVAILABLE, "y ".repeat(1 << 19)).into_response(),
    }
}

/// The Prometheus auth lines of each variant, and the environment it needs.
fn auth_variants(dir: &Path) -> Vec<(&'static str, String)> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN_FILE}\n")).unwrap();
    // Readable by others on purpose: the warning is part of what is checked.
    set_mode(&token_file, 0o644);
    vec![
        ("token_env", "token_env = \"CUTOVER_TEST_TOKEN\"\n".to_string()),
        ("token_file", format!("token_file = \"{}\"\n", token_file.display())),
        ("password_env", "username = \"alice\"\npassword_env = \"CUTOVER_TEST_PASSWORD\"\n".to_string()),
    ]
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn write_config(dir: &Path, srv: &str, auth: &str) -> PathBuf {
    let text = format!(
        r#"[deployment]
name = "secrets"
[signals]
interval = "500ms"
timeout = "400ms"
window = "5s"
[prometheus]
url = "{srv}"
{auth}
[[slo]]
name = "error rate"
sli = "error_ratio"
objective = "< 1%"
source = "prometheus"
query = "sum(rate(errors{{env=\"{{env}}\"}}[1m]))"
[[slo]]
name = "throughput"
sli = "throughput"
objective = ">= 1/s"
source = "scrape"
[[target]]
env = "blue"
service = "api"
metrics = "http://scraper:{SCRAPE_PW}@{host}/metrics"
health = "http://prober:{HEALTH_PW}@{host}/health"
[[target]]
env = "green"
service = "api"
metrics = "http://scraper:{SCRAPE_PW}@{host}/metrics?env=green"
health = "http://prober:{HEALTH_PW}@{host}/health"
[triggers]
defaults = false
[traffic]
stages = [10, 100]
soak = "1s"
[[actuator]]
kind = "webhook"
method = "PUT"
url = "{srv}/hooks/{HOOK_PATH}/weights"
secret = true
headers = {{ "X-Hook-Token" = "{HOOK_HEADER}", "Authorization" = "Bearer {HOOK_BEARER}" }}
body = '{{"blue":{{blue}},"green":{{green}}}}'
tries = 1
timeout = "1s"
"#,
        host = srv.trim_start_matches("http://"),
    );
    let path = dir.join("cutover.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cfg: &Path, state: &Path, args: &[&str]) -> Output {
    cutover(cfg, state, args)
        .env("CUTOVER_TEST_TOKEN", TOKEN_ENV)
        .env("CUTOVER_TEST_PASSWORD", PASSWORD_ENV)
        .output()
        .expect("run cutover")
}

/// Every hit of a secret in `text`, named by `place`.
fn hits(place: &str, text: &str) -> Vec<String> {
    needles().iter().filter(|n| text.contains(n.as_str())).map(|n| format!("{place}: {n}")).collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

fn state_dir_hits(state: &Path) -> Vec<String> {
    files_under(state)
        .iter()
        .flat_map(|f| hits(&f.display().to_string(), &String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default())))
        .collect()
}

#[test]
fn no_secret_reaches_the_screen_the_state_dir_the_report_or_any_output() {
    let srv = fake(Mode::Echo);
    let url = format!("http://{}", srv.addr);
    let dir = TempDir::new("secrets");
    let mut found = Vec::new();
    let mut outputs = 0;
    for (name, auth) in auth_variants(&dir.0) {
        let sub = dir.0.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let cfg = write_config(&sub, &url, &auth);
        let state = sub.join("state");
        let report = sub.join("report.md");
        let cmds: [&[&str]; 7] = [
            &["check"],
            &["status", "--wait", "2s"],
            &["status", "--json", "--wait", "2s"],
            &["advance", "--yes", "--wait", "1s", "--override", "the fake servers are down on purpose here"],
            &["rollback", "--reason", "the secret test rolls back", "--yes"],
            &["report"],
            &["report", "--output", report.to_str().unwrap()],
        ];
        for args in cmds {
            let o = run(&cfg, &state, args);
            let all = output_text(&o);
            found.extend(hits(&format!("{name}: cutover {}", args.join(" ")), &all));
            outputs += 1;
            if args == ["check"] && name == "token_file" {
                assert!(all.contains("readable by group or others (mode 644)"), "the loose file warns: {all}");
            }
            if args[0] == "rollback" {
                assert!(all.contains("hook refused") || all.contains("HTTP 500"), "the webhook was called: {all}");
            }
        }
        found.extend(hits(&format!("{name}: report.md"), &std::fs::read_to_string(sub.join("report.md")).unwrap()));
        found.extend(state_dir_hits(&state));
    }

    // The cockpit in a real terminal, with the first variant, until it has seen every echo.
    let sub = dir.0.join("token_env");
    let cfg = sub.join("cutover.toml");
    let state = sub.join("cockpit-state");
    // The secrets go in through a script, so the command line typed on screen holds none.
    let script = sub.join("cockpit.sh");
    std::fs::write(
        &script,
        format!(
            "export CUTOVER_TEST_TOKEN={TOKEN_ENV} CUTOVER_TEST_PASSWORD={PASSWORD_ENV}\nexec {BIN} run --config {} --state-dir {}\n",
            cfg.display(),
            state.display()
        ),
    )
    .unwrap();
    let t = Tmux::start("secrets", 160, 45);
    t.type_text(&format!("sh {}", script.display()), true);
    t.wait_for("the cockpit with the errors echoed", Duration::from_secs(60), |s, _| {
        s.contains("TRIGGERS") && s.contains("q quit")
    });
    let before = srv.seen.lock().unwrap().len();
    // A few polls of every source, with their echoes on screen and in the log.
    common::tmux::wait_file(&state.join("cutover.log"), Duration::from_secs(30));
    let start = std::time::Instant::now();
    while srv.seen.lock().unwrap().len() < before + 40 {
        assert!(start.elapsed() < Duration::from_secs(30), "the sources stopped polling");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Move traffic from the cockpit so the webhook's echo is shown too: `a`, then the dialog.
    t.key("a");
    std::thread::sleep(Duration::from_millis(500));
    let screen = t.screen(false);
    found.extend(hits("screen", &screen));
    t.key("Escape");
    t.key("q");
    t.wait_for("the shell back", Duration::from_secs(20), |s, _| s.trim_end().ends_with('$'));
    let screen = t.screen(false);
    found.extend(hits("screen after quit", &screen));
    found.extend(state_dir_hits(&state));
    let log = std::fs::read_to_string(state.join("cutover.log")).unwrap();

    let seen = srv.seen.lock().unwrap().join("\n");
    // The servers really were sent the secrets they echoed: the test could fail.
    for n in [TOKEN_ENV, TOKEN_FILE, HOOK_PATH, HOOK_HEADER, HOOK_BEARER] {
        assert!(seen.contains(n), "the fake server was never sent {n}");
    }
    assert!(seen.contains(&base64(format!("alice:{PASSWORD_ENV}").as_bytes())), "basic auth was sent");
    assert!(log.contains("[redacted]"), "the log holds the scrubbed echoes: {log}");
    // A source that fails at every poll is logged when it starts failing, once, not per poll.
    let failing = log.lines().filter(|l| l.contains("SLO #0 blue: failing:")).count();
    println!("cutover.log: {} lines, {failing} saying SLO #0 blue is failing", log.lines().count());
    assert_eq!(failing, 1, "logged once: {log}");
    println!("searched {outputs} command outputs, 3 state dirs, 3 reports, the screen and cutover.log");
    println!("secrets found: {}", found.len());
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[test]
fn a_megabyte_from_outside_stays_a_few_hundred_characters() {
    let srv = fake(Mode::Huge);
    let url = format!("http://{}", srv.addr);
    let dir = TempDir::new("secrets-huge");
    let cfg = write_config(&dir.0, &url, "");
    let state = dir.0.join("state");
    let o = run(&cfg, &state, &["status", "--json", "--wait", "2s"]);
    let json = String::from_utf8_lossy(&o.stdout);
    assert!(json.contains("bytes more"), "the cut is marked: {}", output_text(&o));
    println!("status --json: {} bytes", json.len());
    assert!(json.len() < 20_000, "status --json is {} bytes", json.len());
    let longest = |text: &str| text.lines().map(str::len).max().unwrap_or(0);

    let t = Tmux::start("secrets-huge", 160, 45);
    t.type_text(&format!("{BIN} run --config {} --state-dir {}", cfg.display(), state.display()), true);
    t.wait_for("the cockpit", Duration::from_secs(60), |s, _| s.contains("TRIGGERS") && s.contains("q quit"));
    let before = srv.seen.lock().unwrap().len();
    let start = std::time::Instant::now();
    while srv.seen.lock().unwrap().len() < before + 40 {
        assert!(start.elapsed() < Duration::from_secs(30), "the sources stopped polling");
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = t.screen(false);
    let xs = screen.matches('x').count();
    println!("screen: {} x characters", xs);
    assert!(xs < 2000, "the screen is full of the label value:\n{screen}");
    t.key("q");
    t.wait_for("the shell back", Duration::from_secs(20), |s, _| s.trim_end().ends_with('$'));
    let log = std::fs::read_to_string(state.join("cutover.log")).unwrap();
    println!("cutover.log: {} bytes, longest line {} bytes", log.len(), longest(&log));
    assert!(longest(&log) < 4200, "a log line of {} bytes", longest(&log));
    assert!(log.len() < 200_000, "cutover.log grew to {} bytes", log.len());
}

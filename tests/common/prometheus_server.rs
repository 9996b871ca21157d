//! A real Prometheus for integration tests: started on 127.0.0.1 with a port chosen at run
//! time, its own config and TSDB in a temp folder, killed and cleaned up on drop.
//!
//! Include it with `#[path = "common/prometheus_server.rs"] mod prometheus_server;`.
//!
//! ```ignore
//! let prom = PromServer::start(PromOptions { targets: vec!["127.0.0.1:8080".into()], ..Default::default() }).await;
//! wait_for_result(prom.url(), "up", Duration::from_secs(30)).await;
//! ```
//!
//! Fails loudly (never skips) when the `prometheus` binary is missing.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Start-up on a debug build's busy machine: usually 1–3 s.
pub const READY_DEADLINE: Duration = Duration::from_secs(60);
const PORT_ATTEMPTS: usize = 5;

/// What the test wants Prometheus to do. Scrape and evaluation intervals are 1 s.
#[derive(Debug, Clone, Default)]
pub struct PromOptions {
    /// `host:port` targets scraped at `/metrics` under job `fleet`.
    pub targets: Vec<String>,
    /// Rule files' contents (YAML with `groups:`), written to the temp folder.
    pub rules: Vec<String>,
    /// Contents of a `--web.config.file` (e.g. `tls_server_config`); the server then speaks
    /// HTTPS when it has TLS in it and [`PromServer::url`] says so.
    pub web_config: Option<String>,
}

pub struct PromServer {
    child: Option<Child>,
    dir: PathBuf,
    url: String,
}

fn binary() -> String {
    std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into())
}

/// Panics with the install hint when Prometheus is not there.
pub fn require_prometheus() {
    match Command::new(binary()).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`{} --version` failed ({s}); these tests need Prometheus 2.42", binary()),
        Err(e) => panic!(
            "cannot run `{}` ({e}): these tests need a real Prometheus. Install it with \
             `apt-get install -y prometheus` (or set PROMETHEUS_BIN)",
            binary()
        ),
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "cutover-prom-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("create the temp folder");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

fn config_yaml(opts: &PromOptions, dir: &Path) -> String {
    let mut y = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
    if !opts.rules.is_empty() {
        y.push_str("rule_files:\n");
        for (i, rules) in opts.rules.iter().enumerate() {
            let path = dir.join(format!("rules-{i}.yml"));
            std::fs::write(&path, rules).expect("write a rule file");
            y.push_str(&format!("  - {}\n", path.display()));
        }
    }
    if !opts.targets.is_empty() {
        y.push_str("scrape_configs:\n  - job_name: fleet\n    static_configs:\n      - targets:\n");
        for t in &opts.targets {
            y.push_str(&format!("          - '{t}'\n"));
        }
    }
    y
}

impl PromServer {
    /// Starts Prometheus and waits until `/-/ready` answers 200. A port taken between choosing
    /// it and Prometheus binding it is retried with another one.
    pub async fn start(opts: PromOptions) -> PromServer {
        require_prometheus();
        let dir = temp_dir();
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_yaml(&opts, &dir)).expect("write prometheus.yml");
        let web = opts.web_config.as_ref().map(|w| {
            let p = dir.join("web.yml");
            std::fs::write(&p, w).expect("write web.yml");
            p
        });
        let scheme =
            if opts.web_config.as_deref().is_some_and(|w| w.contains("tls_server_config")) { "https" } else { "http" };
        let probe = reqwest::Client::builder()
            .no_proxy()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            let log_path = dir.join(format!("prometheus-{attempt}.log"));
            let log = File::create(&log_path).expect("create the log file");
            let mut cmd = Command::new(binary());
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            if let Some(w) = &web {
                cmd.arg(format!("--web.config.file={}", w.display()));
            }
            let child = cmd.spawn().unwrap_or_else(|e| {
                panic!("cannot start `{}` ({e}); install it with `apt-get install -y prometheus`", binary())
            });
            let mut server =
                PromServer { child: Some(child), dir: dir.clone(), url: format!("{scheme}://127.0.0.1:{port}") };
            let deadline = Instant::now() + READY_DEADLINE;
            loop {
                if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                    server.child = None;
                    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if text.contains("address already in use") && attempt < PORT_ATTEMPTS {
                        break;
                    }
                    panic!("prometheus exited before it was ready ({status}); its log:\n{text}");
                }
                let ready = probe.get(format!("{}/-/ready", server.url)).send().await;
                if ready.is_ok_and(|r| r.status().as_u16() == 200) {
                    return server;
                }
                if Instant::now() > deadline {
                    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!("prometheus not ready at {} within {READY_DEADLINE:?}; its log:\n{text}", server.url);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        unreachable!("every attempt either returned, retried or panicked")
    }

    /// `http://127.0.0.1:PORT` (or `https://` with TLS), no trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The temp folder (config, rule files, TSDB, log); removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Prometheus's log so far, for failure messages.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for i in 1..=PORT_ATTEMPTS {
            if let Ok(t) = std::fs::read_to_string(self.dir.join(format!("prometheus-{i}.log"))) {
                out = t;
            }
        }
        out
    }

    /// Kills Prometheus and waits for it to be gone (the port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PromServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `query` until it returns a non-empty result (a vector with series, or a scalar) and
/// returns that result; panics at the deadline with the last answer.
pub async fn wait_for_result(url: &str, query: &str, deadline: Duration) -> serde_json::Value {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
    let end = Instant::now() + deadline;
    loop {
        let last = match client.get(format!("{url}/api/v1/query")).query(&[("query", query)]).send().await {
            Ok(r) => {
                let body = r.text().await.unwrap_or_default();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                    let result = &v["data"]["result"];
                    let nonempty = match v["data"]["resultType"].as_str() {
                        Some("scalar") => true,
                        _ => result.as_array().is_some_and(|a| !a.is_empty()),
                    };
                    if v["status"] == "success" && nonempty {
                        return result.clone();
                    }
                }
                body
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() > end {
            panic!("`{query}` returned nothing within {deadline:?} from {url}; last answer: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

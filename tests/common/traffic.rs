//! What the traffic tests share: a config whose actuator is the simulated fleet's weights
//! webhook, a folder removed on drop, the router's split as the fleet reports it, and the stage
//! as `state.json` has it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cutover::domain::cockpit::PersistedState;
use cutover::domain::env::Weights;
use cutover::domain::traffic::GateInputs;
use cutover::fleet::FleetInfo;
use cutover::store::{StateDir, Who};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// `cutover ARGS --config CFG --state-dir STATE`, with no terminal and not read-only from the
/// environment.
pub fn cutover(cfg: &Path, state: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).arg("--config").arg(cfg).arg("--state-dir").arg(state).stdin(Stdio::null());
    c.env_remove("CUTOVER_READ_ONLY");
    c
}

/// How a run ended and what it said, for assertion messages.
pub fn output_text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A folder of the test's own (config, state dir), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("cutover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A config moving traffic through the fleet's `/admin/weights` webhook; no default triggers.
pub struct FleetConfig<'a> {
    pub name: &'a str,
    pub stages: &'a str,
    pub soak: &'a str,
    /// Actuators (TOML) that run before the webhook, e.g. a manual step.
    pub before: &'a str,
    /// More top-level TOML, e.g. a `[runbook]`.
    pub extra: &'a str,
    /// The webhook reads the split back (`read_url`).
    pub read_back: bool,
    pub timeout: &'a str,
    /// One blue target with an error-rate SLO, so a look at the sources has something to read.
    pub blue_slo: bool,
}

impl<'a> FleetConfig<'a> {
    pub fn new(name: &'a str) -> FleetConfig<'a> {
        FleetConfig {
            name,
            stages: "[10, 25, 50, 75, 100]",
            soak: "30m",
            before: "",
            extra: "",
            read_back: true,
            timeout: "2s",
            blue_slo: true,
        }
    }

    /// Writes `cutover.toml` into `dir` and returns its path.
    pub fn write(&self, dir: &Path, fleet: &FleetInfo) -> PathBuf {
        let admin = &fleet.admin;
        let slo = if self.blue_slo {
            let blue = fleet.services.iter().find(|s| s.env == cutover::domain::env::Env::Blue).unwrap();
            format!(
                "[[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n\
                 [[target]]\nenv = \"blue\"\nservice = \"api\"\nmetrics = \"{}\"\n",
                blue.metrics
            )
        } else {
            String::new()
        };
        let read_url = if self.read_back { format!("read_url = \"{admin}/weights\"\n") } else { String::new() };
        let text = format!(
            r#"[deployment]
name = "{name}"
{extra}
[signals]
interval = "1s"
timeout = "800ms"
window = "10s"
{slo}[triggers]
defaults = false
[traffic]
stages = {stages}
soak = "{soak}"
{before}
[[actuator]]
kind = "webhook"
method = "PUT"
url = "{admin}/weights"
body = '{{"blue":{{blue}},"green":{{green}}}}'
{read_url}tries = 2
backoff = "100ms"
timeout = "{timeout}"
"#,
            name = self.name,
            extra = self.extra,
            stages = self.stages,
            soak = self.soak,
            before = self.before,
            timeout = self.timeout,
        );
        let path = dir.join("cutover.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn http<T>(f: impl AsyncFnOnce(reqwest::Client) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(f(reqwest::Client::builder().no_proxy().build().unwrap()))
}

/// The router's split as the fleet reports it.
pub fn router(admin: &str) -> Weights {
    http(async |c| c.get(format!("{admin}/weights")).send().await.unwrap().json().await.unwrap())
}

/// The router's split as the fleet reports it: `(blue, green)`.
pub fn router_weights(admin: &str) -> (u64, u64) {
    let w = router(admin);
    (u64::from(w.blue), u64::from(w.green))
}

/// Sets the router's split behind cutover's back.
pub fn put_router(admin: &str, w: Weights) {
    let ok = http(async |c| c.put(format!("{admin}/weights")).json(&w).send().await.unwrap().status().is_success());
    assert!(ok);
}

/// Leaves the state as a cutover killed right after saving its intent to advance would: the next
/// stage asked for, pending.
pub fn cut_off_advance(state: &Path) {
    let mut dir = StateDir::open(state).unwrap();
    let mut s = dir.load::<PersistedState>().unwrap().unwrap().state;
    let now = cutover::store::state_dir::now();
    s.traffic =
        s.traffic.advance(None, &GateInputs::clear(), Some("CAB-1 approved early".into()), "alice", now).unwrap().0;
    dir.save(&s, &Who::new("alice", "localhost", 1)).unwrap();
}

/// Blue's percent as `state.json` has it (`None`: nothing saved yet).
pub fn stored_percent(state: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(state.join("state.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["state"]["traffic"]["blue_percent"].as_u64()
}

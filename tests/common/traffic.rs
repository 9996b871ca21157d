//! What the traffic tests share: a config whose actuator is the simulated fleet's weights
//! webhook, a folder removed on drop, the router's split as the fleet reports it, and the stage
//! as `state.json` has it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cutover::fleet::FleetInfo;

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

/// The router's split as the fleet reports it: `(blue, green)`.
pub fn router_weights(admin: &str) -> (u64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder().no_proxy().build().unwrap();
        let v: serde_json::Value = c.get(format!("{admin}/weights")).send().await.unwrap().json().await.unwrap();
        (v["blue"].as_u64().unwrap(), v["green"].as_u64().unwrap())
    })
}

/// Blue's percent as `state.json` has it (`None`: nothing saved yet).
pub fn stored_percent(state: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(state.join("state.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["state"]["traffic"]["blue_percent"].as_u64()
}

//! `cutover check` catches what it can see: each silent mistake on its own, with the file, line,
//! column and key in its message; all of them together in one run; and the shipped configs pass.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// A folder of this test process's own, for configs and the files they name.
fn dir() -> PathBuf {
    let d = scratch_path();
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn scratch_path() -> PathBuf {
    std::env::temp_dir().join(format!("cutover-check-{}", std::process::id()))
}

/// How many tests are using the folder; the last one out removes it.
static USING: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// Held by each test while it uses the folder.
struct Scratch;

impl Scratch {
    fn new() -> Scratch {
        *USING.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Scratch
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut n = USING.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            let _ = std::fs::remove_dir_all(scratch_path());
        }
    }
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `cutover <args>`; the exit code, stdout and stderr.
fn cutover(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("CUTOVER_CONFIG")
        .env_remove("CUTOVER_PROMETHEUS_URL")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// `cutover check` on `text` written as `name`: the exit code, the config's path and stderr.
fn check(name: &str, text: &str) -> (i32, PathBuf, String) {
    let p = write(name, text);
    let (code, out, err) = cutover(&["check", "--config", p.to_str().unwrap()]);
    (code, p, format!("{out}{err}"))
}

/// Asserts one run failed with exactly one error, at `line:col` and `key`, saying `says`.
fn one_error(name: &str, text: &str, line_col: &str, key: &str, says: &str) {
    let (code, p, err) = check(name, text);
    assert_eq!(code, 1, "{err}");
    let want = format!("{}:{line_col}: {key}: ", p.display());
    let line = err.lines().find(|l| l.starts_with(&want)).unwrap_or_else(|| panic!("no {want:?} in:\n{err}"));
    assert!(line.contains(says), "{line:?} lacks {says:?}");
    assert!(err.contains(": 1 error\n"), "exactly one error:\n{err}");
}

const SLO: &str = "[[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n";
const TARGET: &str = "[[target]]\nenv = \"blue\"\nservice = \"api\"\nmetrics = \"http://127.0.0.1:1/metrics\"\n";

#[test]
fn a_unitless_objective_is_an_error() {
    let _scratch = Scratch::new();
    let text = "[[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 5\"\n";
    one_error("unitless-objective.toml", text, "4:13", "slo[0].objective", "\"< 5\" has no unit");
}

#[test]
fn a_unitless_trigger_threshold_is_an_error() {
    let _scratch = Scratch::new();
    let text =
        format!("{SLO}[[trigger]]\nname = \"hot\"\ntier = \"immediate\"\nslo = \"error rate\"\ncondition = \"> 5\"\n");
    one_error("unitless-trigger.toml", &text, "9:13", "trigger[0].condition", "write it in %");
}

#[test]
fn objectives_outside_what_the_sli_can_be_are_errors() {
    let _scratch = Scratch::new();
    let slo =
        |sli: &str, objective: &str| format!("[[slo]]\nname = \"x\"\nsli = \"{sli}\"\nobjective = \"{objective}\"\n");
    let latency = slo("p95_latency", "<= 2%");
    one_error("latency-percent.toml", &latency, "4:13", "slo[0].objective", "not in the SLI's unit");
    let negative = slo("error_ratio", "< -1%");
    one_error("negative-ratio.toml", &negative, "4:13", "slo[0].objective", "a ratio is never negative");
    let over = slo("error_ratio", "< 150%");
    one_error("over-100.toml", &over, "4:13", "slo[0].objective", "a ratio is from 0% to 100%");
}

#[test]
fn unknown_placeholders_in_exec_and_webhook_templates_are_errors() {
    let _scratch = Scratch::new();
    let exec = format!("{SLO}[[actuator]]\nkind = \"exec\"\nargv = [\"set-split\", \"--blue={{blu}}\"]\n");
    one_error("exec-placeholder.toml", &exec, "7:30", "actuator[0].argv[1]", "unknown placeholder {blu}");
    let hook =
        format!("{SLO}[[actuator]]\nkind = \"webhook\"\nurl = \"http://r/w\"\nbody = '{{\"stage\":\"{{stge}}\"}}'\n");
    one_error(
        "webhook-placeholder.toml",
        &hook,
        "8:19",
        "actuator[0].body",
        "unknown placeholder {stge} (it would be sent as written); known: {blue}, {green}, {stage}, {key}",
    );
}

#[test]
fn duplicate_trigger_names_are_an_error() {
    let _scratch = Scratch::new();
    let t = "[[trigger]]\nname = \"ops\"\ntier = \"planned\"\ncondition = \"manual\"\n";
    let text = format!("{SLO}{t}{t}");
    one_error("duplicate-trigger.toml", &text, "10:8", "trigger[1].name", "trigger[0] is already named \"ops\"");
}

#[test]
fn duplicate_targets_are_an_error() {
    let _scratch = Scratch::new();
    let text = format!("{SLO}{TARGET}{TARGET}");
    one_error(
        "duplicate-target.toml",
        &text,
        "11:11",
        "target[1].service",
        "blue service \"api\" is already target[0]",
    );
}

#[test]
fn an_absurd_soak_is_an_error_naming_the_limit() {
    let _scratch = Scratch::new();
    let text = format!("{SLO}[traffic]\nsoak = \"99999999999999999h\"\n");
    one_error("absurd-soak.toml", &text, "6:8", "traffic.soak", "longer than the limit of 7 days (168h)");
    let text = format!("{SLO}[traffic]\nsoak = \"8d\"\n");
    let (code, _, err) = check("soak-days.toml", &text);
    assert_eq!(code, 1, "days are not a unit: {err}");
    let text = format!("{SLO}[traffic]\nsoak = \"169h\"\n");
    one_error("soak-169h.toml", &text, "6:8", "traffic.soak", "longer than the limit");
}

#[test]
fn a_missing_theme_or_keymap_is_a_warning_that_says_it_falls_back() {
    let _scratch = Scratch::new();
    let text = format!("{SLO}[ui]\ntheme = \"/nonexistent/theme.toml\"\nkeymap = \"no-such-keymap.toml\"\n");
    let (code, p, err) = check("missing-theme.toml", &text);
    assert_eq!(code, 0, "a warning, not an error: {err}");
    let f = p.display();
    assert!(err.contains(&format!("{f}: warning: ui.theme: theme /nonexistent/theme.toml:")), "{err}");
    assert!(err.contains("using the default theme"), "{err}");
    assert!(
        err.contains(&format!("{f}: warning: ui.keymap: keymap ")) && err.contains("using the default keys"),
        "{err}"
    );
}

#[test]
fn unset_token_env_and_missing_secret_and_ca_files_are_errors() {
    let _scratch = Scratch::new();
    let prom = "[prometheus]\nurl = \"https://127.0.0.1:1\"\n";
    let env = format!("{prom}token_env = \"CUTOVER_CHECK_TEST_SURELY_UNSET\"\n{SLO}");
    one_error(
        "token-env.toml",
        &env,
        "3:13",
        "prometheus.token_env",
        "environment variable CUTOVER_CHECK_TEST_SURELY_UNSET is not set",
    );
    let file = format!("{prom}token_file = \"no-such-token\"\n{SLO}");
    one_error("token-file.toml", &file, "3:14", "prometheus.token_file", "no-such-token");
    let ca = format!("{prom}ca_file = \"no-such-ca.pem\"\n{SLO}");
    one_error("ca-file.toml", &ca, "3:11", "prometheus.ca_file", "CA file ");
    // Present and readable: nothing to say, and the secret is never shown.
    std::fs::write(dir().join("token"), "s3cret-token-value\n").unwrap();
    let (code, _, out) = check("token-ok.toml", &format!("{prom}token_file = \"token\"\n{SLO}"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("s3cret"), "{out}");
}

#[test]
fn a_missing_runbook_is_an_error_at_its_key() {
    let _scratch = Scratch::new();
    let text = format!("[runbook]\npath = \"nowhere.md\"\n{SLO}");
    one_error("no-runbook.toml", &text, "2:8", "runbook.path", "cannot read");
}

#[test]
fn an_empty_config_fails_check_status_and_run() {
    let _scratch = Scratch::new();
    let (code, p, err) = check("empty.toml", "");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("{}: the config is empty", p.display())), "{err}");
    let state = dir().join("state-empty");
    let (code, out, err) =
        cutover(&["status", "--config", p.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("the config is empty"), "{out}{err}");
    assert!(!state.exists(), "nothing was opened");
    // The cockpit refuses it before the terminal is touched.
    let (code, out, err) = cutover(&["run", "--config", p.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cutover run: ") && err.contains("the config is empty"), "{out}{err}");
    assert!(!state.exists(), "nothing was opened");
}

#[test]
fn serde_messages_get_the_key_path_and_position() {
    let _scratch = Scratch::new();
    let t = "[[trigger]]\nname = \"a\"\ntier = \"planned\"\ncondition = \"manual\"\n";
    let text = format!("{SLO}{t}[[trigger]]\nname = true\ntier = \"planned\"\ncondition = \"manual\"\n");
    one_error("bool-name.toml", &text, "10:8", "trigger[1].name", "expected a string, found a boolean `true`");
    let text = format!("{SLO}[deployment]\nname = \"a\"\nname = \"b\"\n");
    one_error("duplicate-key.toml", &text, "7:1", "deployment.name", "set twice");
}

#[test]
fn an_haproxy_port_out_of_range_says_so() {
    let _scratch = Scratch::new();
    let text = format!("{SLO}[[actuator]]\nkind = \"haproxy\"\nsocket = \"ipv4@127.0.0.1:99999\"\n");
    one_error("haproxy-port.toml", &text, "7:10", "actuator[0].socket", "port 99999 is out of range (1 to 65535)");
}

/// Every mistake above in one config: each is reported, once, in a single run.
#[test]
fn every_mistake_in_one_config_is_reported_in_one_run() {
    let _scratch = Scratch::new();
    let text = "[prometheus]\nurl = \"https://127.0.0.1:1\"\ntoken_env = \"CUTOVER_CHECK_TEST_SURELY_UNSET\"\n\
                ca_file = \"no-such-ca.pem\"\n\
                [runbook]\npath = \"nowhere.md\"\n\
                [[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 5\"\n\
                [[slo]]\nname = \"latency\"\nsli = \"p95_latency\"\nobjective = \"<= 2%\"\n\
                [[slo]]\nname = \"errors\"\nsli = \"error_ratio\"\nobjective = \"< -1%\"\n\
                [[slo]]\nname = \"availability\"\nsli = \"availability\"\nobjective = \"< 150%\"\n\
                [[slo]]\nname = \"rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n\
                [[trigger]]\nname = \"hot\"\ntier = \"immediate\"\nslo = \"rate\"\ncondition = \"> 5\"\n\
                [[trigger]]\nname = \"hot\"\ntier = \"planned\"\ncondition = \"manual\"\n\
                [[trigger]]\nname = true\ntier = \"planned\"\ncondition = \"manual\"\n\
                [[target]]\nenv = \"blue\"\nservice = \"api\"\nmetrics = \"http://127.0.0.1:1/metrics\"\n\
                [[target]]\nenv = \"blue\"\nservice = \"api\"\nmetrics = \"http://127.0.0.1:2/metrics\"\n\
                [traffic]\nsoak = \"99999999999999999h\"\n\
                [[actuator]]\nkind = \"exec\"\nargv = [\"set-split\", \"--blue={blu}\"]\n\
                [[actuator]]\nkind = \"webhook\"\nurl = \"http://r/w?s={stge}\"\n\
                [[actuator]]\nkind = \"haproxy\"\nsocket = \"ipv4@127.0.0.1:99999\"\n\
                [ui]\ntheme = \"/nonexistent/theme.toml\"\n";
    let (code, p, err) = check("everything.toml", text);
    assert_eq!(code, 1, "{err}");
    let f = p.display();
    let expected = [
        "3:13: prometheus.token_env: bearer token: environment variable CUTOVER_CHECK_TEST_SURELY_UNSET is not set",
        "4:11: prometheus.ca_file: CA file ",
        "6:8: runbook.path: cannot read ",
        "10:13: slo[0].objective: \"< 5\" has no unit",
        "14:13: slo[1].objective: \"<= 2%\" is not in the SLI's unit",
        "18:13: slo[2].objective: \"< -1%\": a ratio is never negative",
        "22:13: slo[3].objective: \"< 150%\": a ratio is from 0% to 100%",
        "31:13: trigger[0].condition: \"> 5\" has no unit",
        "33:8: trigger[1].name: trigger[0] is already named \"hot\"",
        "37:8: trigger[2].name: expected a string, found a boolean `true`",
        "46:11: target[1].service: blue service \"api\" is already target[0]",
        "49:8: traffic.soak: \"99999999999999999h\" is longer than the limit of 7 days (168h)",
        "52:30: actuator[0].argv[1]: unknown placeholder {blu}",
        "55:21: actuator[1].url: unknown placeholder {stge}",
        "58:10: actuator[2].socket: invalid actuator settings: HAProxy socket \"ipv4@127.0.0.1:99999\": port 99999 is out of range",
    ];
    let errors: Vec<&str> = err.lines().filter(|l| !l.contains(": warning: ") && !l.ends_with(" errors")).collect();
    for (want, got) in expected.iter().zip(&errors) {
        assert!(got.starts_with(&format!("{f}:{want}")), "expected {want:?}, got {got:?}\nall:\n{err}");
    }
    assert_eq!(errors.len(), expected.len(), "{err}");
    assert!(err.contains(&format!("{f}: {} errors", expected.len())), "{err}");
    assert!(err.contains(&format!("{f}: warning: ui.theme: ")), "the theme falls back, and says so:\n{err}");
}

/// The shipped configs pass; the go-live's token lives on the production host, so it is
/// checked with a token file of the test's own in its place.
#[test]
fn the_shipped_configs_pass_check() {
    let _scratch = Scratch::new();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for name in ["cutover.example.toml", "demo.toml", "rehearsal.toml"] {
        let p = config.join(name);
        let (code, out, err) = cutover(&["check", "--config", p.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}:\n{out}{err}");
        assert!(out.contains(": ok: deployment "), "{name}: {out}");
        assert!(!err.contains("warning"), "{name}: {err}");
    }
    let go_live = std::fs::read_to_string(config.join("go-live.toml")).unwrap();
    let token = write("go-live-token", "token-for-the-check\n");
    // A secret file readable by others is warned about: keep this one private, as a real one is.
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&token, private).unwrap();
    let runbook = config.join("runbooks/go-live.md");
    assert!(go_live.contains("\"/var/run/secrets/prometheus/token\"") && go_live.contains("\"runbooks/go-live.md\""));
    let text = go_live
        .replace("\"/var/run/secrets/prometheus/token\"", &format!("{:?}", token.display().to_string()))
        .replace("\"runbooks/go-live.md\"", &format!("{:?}", runbook.display().to_string()))
        + &format!("\n[ui]\nkeymap = {:?}\n", config.join("keymap.toml").display().to_string());
    let (code, _, err) = check("go-live.toml", &text);
    assert_eq!(code, 0, "go-live.toml (with the shipped keymap):\n{err}");
    assert!(!err.contains("warning"), "{err}");
}

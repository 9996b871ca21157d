//! The command line as a user meets it: help, version, and `check`'s messages.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env_remove("CUTOVER_CONFIG").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cutover-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn help_lists_every_subcommand_and_version_prints() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in ["demo", "fleet", "run", "check", "runbook"] {
        assert!(out.lines().any(|l| l.trim_start().starts_with(sub)), "--help lacks {sub}:\n{out}");
    }
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("cutover {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn check_accepts_the_example_config_and_its_runbook() {
    let (code, out, err) = run(&["check", "--config", "config/cutover.example.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 SLOs, 12 targets"), "{out}");
    assert!(out.contains("config/runbooks/go-live.md: ok: 11 phases"), "{out}");
}

#[test]
fn check_names_file_line_column_and_key() {
    let p = temp_file("bad-objective.toml", "[[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"about 1%\"\n");
    let (code, _, err) = run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{}:4:13: slo[0].objective:", p.display())), "{err}");
    assert!(err.contains("must start with <, <=, > or >="), "{err}");
}

#[test]
fn check_reports_every_error_in_one_run_with_file_line_column() {
    let text = "[signals]\nintervall = \"2s\"\n\
                [[target]]\nenv = \"purple\"\nservice = \"x\"\nhealth = \"http://h\"\n\
                [[slo]]\nname = \"e\"\nsli = \"error_ratio\"\nobjective = \"about 1%\"\n";
    let p = temp_file("three-errors.toml", text);
    let (code, out, err) = run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let f = p.display();
    assert!(err.contains(&format!("{f}:2:1: signals.intervall: unknown field `intervall`")), "{err}");
    assert!(err.contains(&format!("{f}:4:7: target[0].env: expected \"blue\" or \"green\"")), "{err}");
    assert!(err.contains(&format!("{f}:10:13: slo[0].objective:")), "{err}");
    assert!(err.contains("3 errors"), "{err}");
}

#[test]
fn check_validates_gates_links_and_triggers_against_the_runbook_stages_and_slos() {
    let dir = temp_file("placeholder", "").parent().unwrap().to_path_buf();
    std::fs::write(dir.join("small.md"), "## Phase 1\n- [ ] T1 first\n- [ ] T2 second\n").unwrap();
    let text = "[runbook]\npath = \"small.md\"\n\
                [[runbook.gate]]\nstage = 10\ntasks = [\"T1\", \"T9999\"]\n\
                [[runbook.gate]]\nstage = 15\ntasks = [\"T2\"]\n\
                [[runbook.link]]\ntask = \"T2\"\non = \"stage:15\"\n\
                [[slo]]\nname = \"error rate\"\nsli = \"error_ratio\"\nobjective = \"< 1%\"\n\
                [[trigger]]\nname = \"x\"\ntier = \"planned\"\nslo = \"latency\"\ncondition = \"> 5%\"\n";
    let p = temp_file("refs.toml", text);
    let (code, out, err) = run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let f = p.display();
    assert!(err.contains(&format!("{f}:5:16: runbook.gate[0].tasks[1]: no task \"T9999\" in the runbook")), "{err}");
    assert!(err.contains(&format!("{f}:7:9: runbook.gate[1].stage: 15% is not a traffic stage")), "{err}");
    assert!(err.contains(&format!("{f}:11:6: runbook.link[0].on: \"stage:15\": 15% is not a traffic stage")), "{err}");
    assert!(err.contains(&format!("{f}:19:7: trigger[0].slo: no SLO named \"latency\"")), "{err}");
    assert!(err.contains("4 errors"), "{err}");
}

#[test]
fn check_reports_a_missing_runbook_and_an_unreadable_config() {
    let p = temp_file("no-runbook.toml", "[runbook]\npath = \"nowhere.md\"\n");
    let (code, _, err) = run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("runbook.path: cannot read") && err.contains("nowhere.md"), "{err}");

    let (code, _, err) = run(&["check", "--config", "/nonexistent/cutover.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/cutover.toml: cannot read the config"), "{err}");
}

#[test]
fn check_reports_invalid_utf8_in_the_runbook_with_its_position() {
    let dir = temp_file("placeholder", "").parent().unwrap().to_path_buf();
    std::fs::write(dir.join("bad.md"), b"## Phase 1\n- [ ] T1 ok\n- [ ] T2 \xff\n").unwrap();
    let p = temp_file("bad-runbook.toml", "[runbook]\npath = \"bad.md\"\n");
    let (code, _, err) = run(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.md:3"), "{err}");
}

#[test]
fn run_without_any_config_says_where_it_looked() {
    let dir = std::env::temp_dir().join(format!("cutover-cli-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(BIN)
        .arg("run")
        .current_dir(&dir)
        .env_remove("CUTOVER_CONFIG")
        .env("XDG_CONFIG_HOME", &dir)
        .env("HOME", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no config found") && err.contains("cutover.toml"), "{err}");
}

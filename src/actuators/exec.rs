//! A command that moves traffic: an argv template run directly (no shell, so a placeholder can
//! never inject anything), exit 0 required, stdout and stderr kept for the log, a timeout after
//! which the process is killed. Readback is an optional second command printing
//! `{"blue":N,"green":M}`.

use std::process::Stdio;
use std::time::Duration;

use super::{ActuatorError, Applied, Request, one_line};
use crate::domain::env::Weights;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Output kept per stream.
const KEEP: usize = 4096;

#[derive(Debug, Clone)]
pub struct Exec {
    /// Program and arguments; each may hold placeholders.
    pub argv: Vec<String>,
    pub read_argv: Option<Vec<String>>,
    pub timeout: Duration,
}

/// What a finished command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Exec {
    pub fn new(argv: Vec<String>) -> Result<Self, ActuatorError> {
        check(&argv)?;
        Ok(Exec { argv, read_argv: None, timeout: DEFAULT_TIMEOUT })
    }

    pub fn read_argv(mut self, argv: Vec<String>) -> Result<Self, ActuatorError> {
        check(&argv)?;
        self.read_argv = Some(argv);
        Ok(self)
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn name(&self) -> String {
        format!("exec {}", self.argv[0])
    }

    pub async fn apply(&self, req: &Request) -> Result<Applied, ActuatorError> {
        let argv: Vec<String> = self.argv.iter().map(|a| req.render(a)).collect();
        let out = run(&argv, self.timeout).await?;
        let mut detail = "exit 0".to_string();
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = one_line(text, 300);
            if !text.is_empty() {
                detail.push_str(&format!("; {name}: {text}"));
            }
        }
        Ok(Applied::Done { detail })
    }

    pub async fn read(&self) -> Result<Option<Weights>, ActuatorError> {
        let Some(argv) = &self.read_argv else { return Ok(None) };
        let out = run(argv, self.timeout).await?;
        serde_json::from_str::<Weights>(out.stdout.trim()).map(Some).map_err(|e| ActuatorError::BadAnswer {
            what: format!("`{}`", argv.join(" ")),
            answer: one_line(&out.stdout, 120),
            reason: format!("expected {{\"blue\":N,\"green\":M}} on stdout ({e})"),
        })
    }
}

fn check(argv: &[String]) -> Result<(), ActuatorError> {
    match argv.first() {
        Some(p) if !p.trim().is_empty() => Ok(()),
        _ => Err(ActuatorError::Config("exec needs a program: argv is empty".into())),
    }
}

/// Runs `argv` with stdin closed; exit 0 required.
pub async fn run(argv: &[String], timeout: Duration) -> Result<Output, ActuatorError> {
    let command = argv.join(" ");
    let child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropping the wait on timeout kills the process.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ActuatorError::Spawn { program: argv[0].clone(), reason: e.to_string() })?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => return Err(ActuatorError::Timeout { what: format!("`{command}` (killed)"), after: timeout }),
        Ok(Err(e)) => return Err(ActuatorError::Spawn { program: argv[0].clone(), reason: e.to_string() }),
        Ok(Ok(out)) => out,
    };
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        if s.len() <= KEEP { s.into_owned() } else { s.chars().take(KEEP).collect() }
    };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if out.status.success() {
        return Ok(Output { stdout, stderr });
    }
    let status = match out.status.code() {
        Some(code) => format!("exited with {code}"),
        None => "was killed by a signal".to_string(),
    };
    Err(ActuatorError::Exit { command, status, stdout, stderr })
}

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

/// Runs `argv` with stdin closed; exit 0 required. Only the first [`KEEP`] bytes of each stream
/// are kept: the rest is read and dropped, so a command that prints 100 MB costs no memory and
/// never blocks on a full pipe.
pub async fn run(argv: &[String], timeout: Duration) -> Result<Output, ActuatorError> {
    let command = argv.join(" ");
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropping the child on timeout kills the process.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ActuatorError::Spawn { program: argv[0].clone(), reason: e.to_string() })?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let work = async move {
        let (out, err, status) = tokio::join!(keep(stdout), keep(stderr), child.wait());
        status.map(|s| (s, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(timeout, work).await {
        Err(_) => return Err(ActuatorError::Timeout { what: format!("`{command}` (killed)"), after: timeout }),
        Ok(Err(e)) => return Err(ActuatorError::Spawn { program: argv[0].clone(), reason: e.to_string() }),
        Ok(Ok(done)) => done,
    };
    let (stdout, stderr) = (String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned());
    if status.success() {
        return Ok(Output { stdout, stderr });
    }
    let status = match status.code() {
        Some(code) => format!("exited with {code}"),
        None => "was killed by a signal".to_string(),
    };
    Err(ActuatorError::Exit { command, status, stdout, stderr })
}

/// Reads a stream to its end, keeping its first [`KEEP`] bytes.
async fn keep(stream: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let Some(mut stream) = stream else { return kept };
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = KEEP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

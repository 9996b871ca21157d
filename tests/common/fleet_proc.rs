//! Runs `cutover fleet` as a child process for integration tests; the guard kills it on drop so a
//! failing assertion never leaves a fleet running.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cutover::fleet::FleetInfo;

/// Generous: a debug build on two busy cores.
pub const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct FleetProc {
    child: Child,
    pub info: FleetInfo,
    stderr: Arc<Mutex<String>>,
}

/// How a start attempt ended when no addresses were printed.
pub struct Failed {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

impl FleetProc {
    /// Starts `cutover fleet ARGS` and waits for its JSON line; panics with stderr if none comes.
    pub fn start(args: &[&str]) -> FleetProc {
        match FleetProc::try_start(args) {
            Ok(f) => f,
            Err(failed) => {
                panic!(
                    "cutover fleet {args:?} printed no addresses (exit {:?}); stderr:\n{}",
                    failed.status, failed.stderr
                )
            }
        }
    }

    pub fn try_start(args: &[&str]) -> Result<FleetProc, Failed> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
            .arg("fleet")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cutover");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr pipe");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let out = child.stdout.take().expect("stdout pipe");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let _ = tx.send(lines.next());
            // Keep draining so the child never writes into a closed pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(START_DEADLINE);
        let mut guard = FleetProc {
            child,
            info: FleetInfo { router: String::new(), admin: String::new(), services: Vec::new() },
            stderr,
        };
        match line {
            Ok(Some(Ok(line))) => {
                guard.info = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the first stdout line is not FleetInfo JSON ({e}): {line}"));
                Ok(guard)
            }
            _ => {
                let status = guard.wait_exit(Duration::from_secs(10));
                Err(Failed { status, stderr: guard.stderr() })
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the child wrote to stderr so far (complete once it has exited).
    pub fn stderr(&self) -> String {
        // The reader thread appends at EOF; give it a moment after an exit.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.stderr.lock().unwrap().clone();
            if !text.is_empty() || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal with the system's `kill` command.
    pub fn signal(&self, name: &str) {
        let status =
            Command::new("kill").arg(format!("-{name}")).arg(self.pid().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Polls for the child's exit until `within` has passed.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for FleetProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

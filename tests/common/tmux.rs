//! Drives the real binary in a real terminal: tmux on a private socket,
//! `send-keys` to type, `capture-pane` to read. Killed on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    pub dir: PathBuf,
}

fn tmux_available() {
    let ok = Command::new("tmux").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "tmux is required for the end-to-end tests: apt-get install -y tmux");
}

impl Tmux {
    /// A shell in a `width`×`height` pane, with its own state and config folders under a temp dir.
    pub fn start(name: &str, width: u16, height: u16) -> Tmux {
        tmux_available();
        let dir = std::env::temp_dir().join(format!("cutover-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = format!("cutover-e2e-{name}-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "e2e"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args(["bash", "--norc", "--noprofile"])
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("HOME", &dir)
            .env("TERM", "xterm-256color")
            .env("PS1", "$ ")
            .env_remove("NO_COLOR")
            .current_dir(&dir)
            .status()
            .expect("tmux new-session");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket, dir }
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    /// Types literal text, then presses Enter when `enter`.
    pub fn type_text(&self, text: &str, enter: bool) {
        let st = self.tmux().args(["send-keys", "-t", "e2e", "-l", text]).status().unwrap();
        assert!(st.success());
        if enter {
            self.key("Enter");
        }
    }

    /// Presses one key by tmux's name for it (`q`, `Enter`, `Escape`, `F`).
    pub fn key(&self, key: &str) {
        let st = self.tmux().args(["send-keys", "-t", "e2e", key]).status().unwrap();
        assert!(st.success());
    }

    /// The screen as text; with `escapes`, with colour escape sequences.
    pub fn screen(&self, escapes: bool) -> String {
        let mut c = self.tmux();
        c.args(["capture-pane", "-p", "-t", "e2e"]);
        if escapes {
            c.arg("-e");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str, &str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let plain = self.screen(false);
            let coloured = self.screen(true);
            if pred(&plain, &coloured) {
                return start.elapsed();
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; screen:\n{plain}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A tmux format read from the pane, e.g. `#{alternate_on}` (1 while the alternate screen is
    /// on) or `#{cursor_flag}` (1 while the cursor is shown).
    pub fn format(&self, format: &str) -> String {
        let o = self.tmux().args(["display-message", "-p", "-t", "e2e", format]).output().unwrap();
        assert!(o.status.success(), "tmux display-message {format}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// The pid of the process in the pane (after `exec CMD` in its shell: CMD's).
    pub fn pane_pid(&self) -> u32 {
        let out = self.tmux().args(["list-panes", "-t", "e2e", "-F", "#{pane_pid}"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| panic!("tmux list-panes gave no pid: {text:?}"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().args(["kill-server"]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until a file exists and has content.
pub fn wait_file(path: &Path, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(path)
            && !s.is_empty()
        {
            return s;
        }
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

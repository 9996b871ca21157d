//! Starts a real HAProxy for integration tests: config written here, ports chosen at run time, the
//! runtime API on TCP (and on a unix socket), ready once `show info` answers (no fixed sleeps), killed on drop.
//!
//! Include with `#[path = "common/haproxy_server.rs"] mod haproxy_server;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Generous: a busy two-core machine.
const READY_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Options {
    /// `admin`, `operator` or `user`.
    pub level: &'static str,
    pub blue: SocketAddr,
    pub green: SocketAddr,
    pub blue_weight: u32,
    pub green_weight: u32,
}

impl Options {
    /// Admin level, blue weight 0, green weight 100.
    pub fn new(blue: SocketAddr, green: SocketAddr) -> Self {
        Options { level: "admin", blue, green, blue_weight: 0, green_weight: 100 }
    }
}

pub struct HaproxyServer {
    child: Option<Child>,
    /// The runtime API (`stats socket`).
    pub admin: SocketAddr,
    /// The frontend that balances over `backend app`.
    pub frontend: SocketAddr,
    dir: PathBuf,
}

/// The HAProxy binary, or a panic that says how to install it.
pub fn binary() -> PathBuf {
    let mut candidates = vec![PathBuf::from("/usr/sbin/haproxy")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("haproxy")));
    }
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "HAProxy is not installed, and these tests need a real one: \
             run `apt-get update && apt-get install -y haproxy` (HAProxy 2.6), then run the tests again"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().unwrap().port()
}

fn config(o: &Options, admin: u16, frontend: u16, unix: &Path) -> String {
    format!(
        "global
    stats socket ipv4@127.0.0.1:{admin} level {level}
    stats socket {unix} level {level}
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:{frontend}
    default_backend app

backend app
    balance roundrobin
    server blue {blue} weight {bw}
    server green {green} weight {gw}
",
        level = o.level,
        unix = unix.display(),
        blue = o.blue,
        green = o.green,
        bw = o.blue_weight,
        gw = o.green_weight,
    )
}

/// One runtime API command: connect, write `cmd\n`, read to EOF.
pub fn command_at(addr: SocketAddr, cmd: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(format!("{cmd}\n").as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

impl HaproxyServer {
    /// Starts HAProxy and waits until its runtime API answers. A port taken between choosing and
    /// binding it is retried with new ports; any other failure panics with HAProxy's output.
    pub fn start(o: &Options) -> HaproxyServer {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let bin = binary();
        for _ in 0..3 {
            let dir = std::env::temp_dir().join(format!(
                "cutover-haproxy-{}-{}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let (admin, frontend) = (free_port(), free_port());
            let cfg = dir.join("haproxy.cfg");
            std::fs::write(&cfg, config(o, admin, frontend, &dir.join("admin.sock"))).unwrap();
            let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
            let child = Command::new(&bin)
                .arg("-db")
                .arg("-f")
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            let mut server = HaproxyServer {
                child: Some(child),
                admin: SocketAddr::from(([127, 0, 0, 1], admin)),
                frontend: SocketAddr::from(([127, 0, 0, 1], frontend)),
                dir,
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(output) if output.contains("cannot bind") || output.contains("Address already in use") => {
                    continue;
                }
                Err(output) => panic!("HAProxy did not start:\n{output}"),
            }
        }
        panic!("HAProxy could not bind free ports three times in a row");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(info) = command_at(self.admin, "show info")
                && info.contains("Name: HAProxy")
            {
                return Ok(());
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!("exited with {status}: {}", self.output()));
            }
            if start.elapsed() > READY_DEADLINE {
                self.stop();
                return Err(format!("no answer to `show info` within {READY_DEADLINE:?}: {}", self.output()));
            }
            // Polling, not waiting a fixed time: HAProxy usually answers within milliseconds.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What HAProxy printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The socket as cutover's settings write it: `ipv4@127.0.0.1:PORT`.
    pub fn admin_socket(&self) -> String {
        format!("ipv4@{}", self.admin)
    }

    /// The same runtime API on a unix socket.
    pub fn unix_socket(&self) -> PathBuf {
        self.dir.join("admin.sock")
    }

    pub fn frontend_url(&self) -> String {
        format!("http://{}", self.frontend)
    }

    /// A runtime API command, sent by the test itself (behind cutover's back).
    pub fn command(&self, cmd: &str) -> String {
        command_at(self.admin, cmd).unwrap_or_else(|e| panic!("HAProxy runtime API `{cmd}`: {e}"))
    }

    /// Sessions a server has served so far: `show stat`, column 8 (`stot`).
    pub fn served(&self, backend: &str, server: &str) -> u64 {
        let csv = self.command("show stat");
        csv.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|cols| cols.len() > 7 && cols[0] == backend && cols[1] == server)
            .unwrap_or_else(|| panic!("no {backend}/{server} row in show stat:\n{csv}"))[7]
            .parse()
            .expect("stot is a number")
    }

    /// Kills HAProxy now (the runtime API goes away with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for HaproxyServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

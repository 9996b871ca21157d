//! HAProxy's runtime API: `set weight` / `get weight` over the stats socket (TCP or unix).
//!
//! One command per connection: connect, write `cmd\n`, read to EOF. The blue and green servers
//! get the weights as they are (blue 25, green 75); HAProxy accepts 0–256. The server with the
//! larger target weight is set first, so the backend never passes through 0/0 (no server at all)
//! on the way. Both weights are read back afterwards: an answer that does not match is an error.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ActuatorError, Applied, Request};
use crate::domain::env::Weights;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the runtime API listens, written as in haproxy.cfg: `ipv4@127.0.0.1:9999`,
/// `127.0.0.1:9999`, `ipv6@[::1]:9999`, `unix@/run/haproxy/admin.sock` or `/run/haproxy/admin.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketAddress {
    Tcp(String),
    Unix(PathBuf),
}

impl SocketAddress {
    pub fn parse(text: &str) -> Result<Self, ActuatorError> {
        let t = text.trim();
        let bad = |why: &str| {
            ActuatorError::Config(format!(
                "HAProxy socket {text:?}: {why}; write it like ipv4@127.0.0.1:9999 or /run/haproxy/admin.sock"
            ))
        };
        if let Some(path) = t.strip_prefix("unix@") {
            return if path.is_empty() { Err(bad("no path")) } else { Ok(SocketAddress::Unix(path.into())) };
        }
        if t.starts_with('/') || t.starts_with("./") {
            return Ok(SocketAddress::Unix(t.into()));
        }
        let hostport = t.strip_prefix("ipv4@").or_else(|| t.strip_prefix("ipv6@")).unwrap_or(t);
        let Some((_, port)) = hostport.rsplit_once(':').filter(|(_, p)| !p.is_empty() && !p.contains(']')) else {
            return Err(bad("no port"));
        };
        match port.parse::<u64>() {
            Ok(p) if (1..=65535).contains(&p) => Ok(SocketAddress::Tcp(hostport.to_string())),
            Ok(p) => Err(bad(&format!("port {p} is out of range (1 to 65535)"))),
            Err(_) => Err(bad(&format!("port {port:?} is not a number"))),
        }
    }
}

impl std::fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketAddress::Tcp(a) => write!(f, "ipv4@{a}"),
            SocketAddress::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Haproxy {
    pub socket: SocketAddress,
    pub backend: String,
    pub blue_server: String,
    pub green_server: String,
    pub timeout: Duration,
}

impl Haproxy {
    pub fn new(socket: &str, backend: &str, blue_server: &str, green_server: &str) -> Result<Self, ActuatorError> {
        for (what, name) in [("backend", backend), ("blue server", blue_server), ("green server", green_server)] {
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(ActuatorError::Config(format!(
                    "HAProxy {what} name {name:?} is empty or has a space or /"
                )));
            }
        }
        Ok(Haproxy {
            socket: SocketAddress::parse(socket)?,
            backend: backend.to_string(),
            blue_server: blue_server.to_string(),
            green_server: green_server.to_string(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn name(&self) -> String {
        format!("haproxy {} {}/{},{}", self.socket, self.backend, self.blue_server, self.green_server)
    }

    /// Sends one runtime API command and returns the answer, trimmed.
    pub async fn command(&self, command: &str) -> Result<String, ActuatorError> {
        let io = async {
            match &self.socket {
                SocketAddress::Tcp(addr) => exchange(tokio::net::TcpStream::connect(addr).await?, command).await,
                SocketAddress::Unix(path) => exchange(tokio::net::UnixStream::connect(path).await?, command).await,
            }
        };
        match tokio::time::timeout(self.timeout, io).await {
            Err(_) => Err(ActuatorError::Timeout {
                what: format!("HAProxy at {}: `{command}`", self.socket),
                after: self.timeout,
            }),
            Ok(Err(e)) => Err(ActuatorError::Unreachable { addr: self.socket.to_string(), reason: describe_io(&e) }),
            Ok(Ok(answer)) => Ok(answer.trim().to_string()),
        }
    }

    /// Sends a command that answers nothing on success.
    async fn order(&self, command: &str) -> Result<(), ActuatorError> {
        let answer = self.command(command).await?;
        if answer.is_empty() { Ok(()) } else { Err(self.refusal(command, answer)) }
    }

    fn refusal(&self, command: &str, answer: String) -> ActuatorError {
        refusal(&self.socket.to_string(), command, answer)
    }

    /// `get weight app/blue` → `25 (initial 0)` → 25.
    pub async fn get_weight(&self, server: &str) -> Result<u32, ActuatorError> {
        let command = format!("get weight {}/{server}", self.backend);
        let answer = self.command(&command).await?;
        read_weight(&answer).ok_or_else(|| self.refusal(&command, answer))
    }

    pub async fn apply(&self, req: &Request) -> Result<Applied, ActuatorError> {
        let w = req.weights;
        for (what, v) in [("blue", w.blue), ("green", w.green)] {
            if v > 256 {
                return Err(ActuatorError::Config(format!("{what} weight {v}: HAProxy accepts 0–256")));
            }
        }
        let mut order = [(&self.blue_server, w.blue), (&self.green_server, w.green)];
        if w.green > w.blue {
            order.swap(0, 1);
        }
        for (server, weight) in order {
            self.order(&format!("set weight {}/{server} {weight}", self.backend)).await?;
        }
        let now = self.read().await?;
        for (server, expected, actual) in
            [(&self.blue_server, w.blue, now.blue), (&self.green_server, w.green, now.green)]
        {
            if expected != actual {
                let what = format!("HAProxy at {}: {}/{server}", self.socket, self.backend);
                return Err(ActuatorError::NotApplied { what, expected, actual });
            }
        }
        Ok(Applied::Done {
            detail: format!(
                "{b}/{} = {}, {b}/{} = {} (read back)",
                self.blue_server,
                w.blue,
                self.green_server,
                w.green,
                b = self.backend
            ),
        })
    }

    /// The current weights of the blue and green servers.
    pub async fn read(&self) -> Result<Weights, ActuatorError> {
        let blue = self.get_weight(&self.blue_server).await?;
        let green = self.get_weight(&self.green_server).await?;
        Ok(Weights { blue, green })
    }
}

/// The weight in an answer to `get weight`: `25 (initial 0)` → 25. Anything else (an error
/// text, an empty answer) is `None`: the caller turns the answer into a [`refusal`].
pub fn read_weight(answer: &str) -> Option<u32> {
    answer.split_whitespace().next()?.parse::<u32>().ok()
}

/// What an answer other than the expected one means, for `command` sent to `addr`.
pub fn refusal(addr: &str, command: &str, answer: String) -> ActuatorError {
    let (addr, command) = (addr.to_string(), command.to_string());
    if answer.starts_with("Permission denied") {
        ActuatorError::PermissionDenied { addr, command }
    } else if answer.starts_with("No such server") || answer.starts_with("No such backend") {
        ActuatorError::NoSuchServer { addr, command, answer }
    } else {
        ActuatorError::Rejected { addr, command, answer: super::one_line(&answer, 200) }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, command: &str) -> std::io::Result<String> {
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        NotFound => "no such socket file".into(),
        PermissionDenied => "permission denied opening the socket".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_as_in_haproxy_cfg() {
        assert_eq!(SocketAddress::parse("ipv4@127.0.0.1:9999").unwrap(), SocketAddress::Tcp("127.0.0.1:9999".into()));
        assert_eq!(SocketAddress::parse("localhost:9999").unwrap(), SocketAddress::Tcp("localhost:9999".into()));
        assert_eq!(SocketAddress::parse("ipv6@[::1]:9999").unwrap(), SocketAddress::Tcp("[::1]:9999".into()));
        assert_eq!(
            SocketAddress::parse("unix@/run/haproxy/admin.sock").unwrap(),
            SocketAddress::Unix("/run/haproxy/admin.sock".into())
        );
        assert_eq!(SocketAddress::parse("/run/h.sock").unwrap(), SocketAddress::Unix("/run/h.sock".into()));
        let err = SocketAddress::parse("127.0.0.1").unwrap_err().to_string();
        assert!(err.contains("no port") && err.contains("ipv4@127.0.0.1:9999"), "{err}");
        let err = SocketAddress::parse("ipv4@127.0.0.1:99999").unwrap_err().to_string();
        assert!(err.contains("port 99999 is out of range (1 to 65535)"), "{err}");
        let err = SocketAddress::parse("127.0.0.1:0").unwrap_err().to_string();
        assert!(err.contains("port 0 is out of range"), "{err}");
        let err = SocketAddress::parse("127.0.0.1:http").unwrap_err().to_string();
        assert!(err.contains("\"http\" is not a number"), "{err}");
        assert!(Haproxy::new("127.0.0.1:1", "app", "blue green", "green").is_err());
    }

    #[test]
    fn weight_answers_and_refusals() {
        assert_eq!(read_weight("25 (initial 0)"), Some(25));
        assert_eq!(read_weight("\n"), None);
        assert_eq!(read_weight("No such server."), None);
        assert!(matches!(refusal("a", "c", "Permission denied.".into()), ActuatorError::PermissionDenied { .. }));
        assert!(matches!(refusal("a", "c", "No such server.".into()), ActuatorError::NoSuchServer { .. }));
        assert!(matches!(refusal("a", "c", "Unknown command".into()), ActuatorError::Rejected { .. }));
    }

    #[tokio::test]
    async fn refused_connection_names_the_address() {
        // Port 1 on loopback: nothing listens there.
        let h = Haproxy::new("ipv4@127.0.0.1:1", "app", "blue", "green").unwrap();
        let err = h.read().await.unwrap_err().to_string();
        assert!(err.contains("127.0.0.1:1") && err.contains("connection refused"), "{err}");
    }
}

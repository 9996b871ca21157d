//! One small configurable fake HTTP/TCP server for the faults real servers cannot produce on
//! demand: hanging, trickling, cut-off, huge, looping and scripted answers. It listens on a
//! free loopback port and stops when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole answer.
    Status { code: u16, content_type: &'static str, body: Vec<u8> },
    /// Reads the request and never answers.
    Hang,
    /// Headers for a 1000-byte body, then one byte a second.
    Trickle,
    /// Announces 1000 bytes, sends 10 and closes.
    Truncated,
    /// A body of this many bytes, generated as it is sent.
    Big(usize),
    /// `302` to the very path asked for.
    RedirectLoop,
    /// Not HTTP: reads one line and writes these bytes back, then closes (HAProxy's runtime API).
    Line(Vec<u8>),
    /// The n-th request gets the n-th reply; the last one repeats.
    Seq(Vec<Reply>),
}

impl Reply {
    pub fn json(code: u16, body: &str) -> Reply {
        Reply::Status { code, content_type: "application/json", body: body.as_bytes().to_vec() }
    }

    pub fn text(code: u16, content_type: &'static str, body: &str) -> Reply {
        Reply::Status { code, content_type, body: body.as_bytes().to_vec() }
    }
}

pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(reply: Reply) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let reply = match &reply {
                    Reply::Seq(all) => all[n.min(all.len() - 1)].clone(),
                    r => r.clone(),
                };
                tokio::spawn(serve(stream, reply));
            }
        });
        FakeServer { addr, requests, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

async fn serve(mut stream: TcpStream, reply: Reply) {
    if let Reply::Line(bytes) = &reply {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(bytes).await;
        return;
    }
    let head = read_head(&mut stream).await;
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let header = |code: u16, ct: &str, len: usize| {
        format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            reason(code)
        )
    };
    let _ = match reply {
        Reply::Status { code, content_type, body } => {
            let mut out = header(code, content_type, body.len()).into_bytes();
            out.extend_from_slice(&body);
            stream.write_all(&out).await
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Reply::Trickle => {
            let _ = stream.write_all(header(200, "application/json", 1000).as_bytes()).await;
            for _ in 0..1000 {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Reply::Truncated => {
            let _ = stream.write_all(header(200, "application/json", 1000).as_bytes()).await;
            stream.write_all(b"{\"status\":").await
        }
        Reply::Big(n) => {
            let _ = stream.write_all(header(200, "application/json", n).as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                if stream.write_all(&chunk[..k]).await.is_err() {
                    break;
                }
                left -= k;
            }
            Ok(())
        }
        Reply::RedirectLoop => {
            let out =
                format!("HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            stream.write_all(out.as_bytes()).await
        }
        Reply::Line(_) | Reply::Seq(_) => Ok(()),
    };
    let _ = stream.shutdown().await;
}

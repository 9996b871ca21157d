//! The weighted router: splits requests between blue and green by weight, then round-robins over
//! the chosen environment's services and relays their answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::faults::FaultTable;
use crate::domain::env::{Env, Weights};

/// Longer than any latency fault (60 s at most) would be pointless; shorter would turn a latency
/// spike into errors the services never produced.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(65);

/// Smooth weighted round-robin (the nginx algorithm): deterministic and evenly spread, so 10/90
/// sends exactly 1 request in 10 to blue, never a burst of blue then a burst of green.
#[derive(Debug, Clone)]
pub struct Wrr {
    weights: Weights,
    current: [i64; 2],
}

impl Wrr {
    pub fn new(weights: Weights) -> Wrr {
        Wrr { weights, current: [0, 0] }
    }

    pub fn weights(&self) -> Weights {
        self.weights
    }

    /// New weights restart the sequence, so the new split holds from the next request on.
    pub fn set(&mut self, weights: Weights) {
        *self = Wrr::new(weights);
    }

    /// The environment for the next request, or `None` when both weights are 0.
    pub fn pick(&mut self) -> Option<Env> {
        let w = [i64::from(self.weights.blue), i64::from(self.weights.green)];
        let total = w[0] + w[1];
        if total == 0 {
            return None;
        }
        self.current[0] += w[0];
        self.current[1] += w[1];
        // Ties go to blue; either choice keeps the long-run split exact.
        let env = if self.current[0] >= self.current[1] { Env::Blue } else { Env::Green };
        self.current[env.index()] -= total;
        Some(env)
    }
}

pub struct RouterState {
    pub wrr: Mutex<Wrr>,
    pub faults: Arc<FaultTable>,
    /// Base URLs of each environment's services, indexed by `Env::index`.
    upstreams: [Vec<String>; 2],
    next: [AtomicUsize; 2],
    client: reqwest::Client,
}

impl RouterState {
    pub fn new(weights: Weights, upstreams: [Vec<String>; 2], faults: Arc<FaultTable>) -> std::io::Result<Self> {
        let client = reqwest::Client::builder()
            // Loopback traffic must never go through a proxy taken from the environment.
            .no_proxy()
            .timeout(UPSTREAM_TIMEOUT)
            .build()
            .map_err(|e| std::io::Error::other(format!("cannot build the router's HTTP client: {e}")))?;
        Ok(RouterState {
            wrr: Mutex::new(Wrr::new(weights)),
            faults,
            upstreams,
            next: [AtomicUsize::new(0), AtomicUsize::new(0)],
            client,
        })
    }

    pub fn lock_wrr(&self) -> std::sync::MutexGuard<'_, Wrr> {
        self.wrr.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn app(state: Arc<RouterState>) -> Router {
    super::admin::routes().fallback(forward).with_state(state)
}

async fn forward(
    State(state): State<Arc<RouterState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(env) = state.lock_wrr().pick() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no weights: blue and green are both 0\n").into_response();
    };
    let services = &state.upstreams[env.index()];
    let i = state.next[env.index()].fetch_add(1, Ordering::Relaxed) % services.len();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", services[i]);
    let mut request = state.client.request(method, &url).body(body);
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let served_by = HeaderValue::from_str(&format!("{env}/{}", super::SERVICES[i])).ok();
    let answer = match request.send().await {
        Ok(r) => r,
        Err(e) => return upstream_error(&url, &e),
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return upstream_error(&url, &e),
    };
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    if let Some(v) = served_by {
        // Says which environment and service answered: handy with curl -i.
        response.headers_mut().insert("x-served-by", v);
    }
    response
}

fn upstream_error(url: &str, e: &reqwest::Error) -> Response {
    let code = if e.is_timeout() { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY };
    (code, format!("upstream {url}: {e}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_blue(w: Weights, n: usize) -> usize {
        let mut wrr = Wrr::new(w);
        (0..n).filter(|_| wrr.pick() == Some(Env::Blue)).count()
    }

    #[test]
    fn split_is_exact() {
        assert_eq!(count_blue(Weights { blue: 10, green: 90 }, 1000), 100);
        assert_eq!(count_blue(Weights { blue: 25, green: 75 }, 400), 100);
        assert_eq!(count_blue(Weights { blue: 1, green: 3 }, 1000), 250);
        assert_eq!(count_blue(Weights { blue: 0, green: 100 }, 1000), 0);
        assert_eq!(count_blue(Weights { blue: 100, green: 0 }, 1000), 1000);
        assert_eq!(count_blue(Weights { blue: u32::MAX, green: u32::MAX }, 1000), 500);
    }

    #[test]
    fn split_is_smooth() {
        // 10/90: blue never twice within ten requests.
        let mut wrr = Wrr::new(Weights { blue: 10, green: 90 });
        let picks: Vec<_> = (0..100).map(|_| wrr.pick()).collect();
        for window in picks.windows(10) {
            assert_eq!(window.iter().filter(|p| **p == Some(Env::Blue)).count(), 1);
        }
    }

    #[test]
    fn zero_weights_pick_nothing() {
        let mut wrr = Wrr::new(Weights { blue: 0, green: 0 });
        assert_eq!(wrr.pick(), None);
        wrr.set(Weights { blue: 1, green: 0 });
        assert_eq!(wrr.pick(), Some(Env::Blue));
    }
}

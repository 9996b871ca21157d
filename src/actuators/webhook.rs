//! An HTTP call that moves traffic: method, URL, headers and a body template; 2xx required.
//!
//! Transport errors, timeouts, 408, 429 and 5xx are retried with exponential backoff, up to
//! `tries` attempts in all; any other status fails at once (a 400 will not heal by itself).
//! Every attempt of one action carries the same idempotency key header, so a receiver that
//! executed an attempt whose answer got lost can recognise the retry.
//! Readback is an optional GET answering `{"blue":N,"green":M}`.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use super::{ActuatorError, Applied, Request, one_line};
use crate::domain::env::Weights;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_TRIES: u32 = 3;
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);
pub const DEFAULT_IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Backoff never grows past this.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Webhook {
    pub method: Method,
    /// URL template.
    pub url: String,
    /// Header name and value template.
    pub headers: Vec<(HeaderName, String)>,
    /// Body template; no body when `None`.
    pub body: Option<String>,
    pub read_url: Option<String>,
    pub idempotency_header: HeaderName,
    pub tries: u32,
    /// Wait before the second try; doubled before each further one.
    pub backoff: Duration,
    /// Per attempt.
    pub timeout: Duration,
    client: reqwest::Client,
}

impl Webhook {
    /// `method` like `PUT`; `url` may hold placeholders. Defaults: no headers, no body, 3 tries,
    /// 500 ms backoff, 5 s per attempt, `Idempotency-Key`.
    pub fn new(method: &str, url: &str) -> Result<Self, ActuatorError> {
        let method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| ActuatorError::Config(format!("webhook method {method:?} is not an HTTP method")))?;
        check_url(url)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ActuatorError::Config(format!("cannot build the webhook's HTTP client: {e}")))?;
        Ok(Webhook {
            method,
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
            read_url: None,
            idempotency_header: HeaderName::from_static("idempotency-key"),
            tries: DEFAULT_TRIES,
            backoff: DEFAULT_BACKOFF,
            timeout: DEFAULT_TIMEOUT,
            client,
        })
    }

    pub fn header(mut self, name: &str, value: &str) -> Result<Self, ActuatorError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ActuatorError::Config(format!("webhook header name {name:?} is not valid")))?;
        self.headers.push((name, value.to_string()));
        Ok(self)
    }

    pub fn body(mut self, template: &str) -> Self {
        self.body = Some(template.to_string());
        self
    }

    pub fn read_url(mut self, url: &str) -> Result<Self, ActuatorError> {
        check_url(url)?;
        self.read_url = Some(url.to_string());
        Ok(self)
    }

    pub fn idempotency_header(mut self, name: &str) -> Result<Self, ActuatorError> {
        self.idempotency_header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ActuatorError::Config(format!("idempotency header name {name:?} is not valid")))?;
        Ok(self)
    }

    /// At least 1.
    pub fn tries(mut self, tries: u32) -> Self {
        self.tries = tries.max(1);
        self
    }

    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn name(&self) -> String {
        crate::text::scrub(&format!("webhook {} {}", self.method, self.url))
    }

    pub async fn apply(&self, req: &Request) -> Result<Applied, ActuatorError> {
        let url = req.render(&self.url);
        let body = self.body.as_deref().map(|b| req.render(b));
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, template) in &self.headers {
            let value = HeaderValue::from_str(&req.render(template)).map_err(|_| {
                ActuatorError::Config(format!("webhook header {name}: {template:?} does not make a valid value"))
            })?;
            headers.append(name.clone(), value);
        }
        let key = HeaderValue::from_str(&req.key)
            .map_err(|_| ActuatorError::Config(format!("idempotency key {:?} is not a valid header value", req.key)))?;
        headers.insert(self.idempotency_header.clone(), key);
        let method = self.method.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request =
                self.client.request(self.method.clone(), &url).headers(headers.clone()).timeout(self.timeout);
            if let Some(b) = &body {
                request = request.body(b.clone());
            }
            let failure = match request.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        let mut detail = format!("HTTP {}", status.as_u16());
                        if attempt > 1 {
                            detail.push_str(&format!(" on try {attempt}"));
                        }
                        return Ok(Applied::Done { detail });
                    }
                    let retry = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
                    let error = ActuatorError::Http {
                        method: method.clone(),
                        url: url.clone(),
                        status: status.as_u16(),
                        attempts: attempt,
                        body: one_line(&text, 200),
                    };
                    (error, retry)
                }
                Err(e) => {
                    let reason = describe(&e, self.timeout);
                    (
                        ActuatorError::Transport {
                            method: method.clone(),
                            url: url.clone(),
                            reason,
                            attempts: attempt,
                        },
                        true,
                    )
                }
            };
            match failure {
                (error, true) if attempt < self.tries => {
                    tracing::warn!("webhook try {attempt}/{} failed: {error}; retrying", self.tries);
                    let factor = 2u32.saturating_pow(attempt - 1);
                    tokio::time::sleep(self.backoff.saturating_mul(factor).min(MAX_BACKOFF)).await;
                }
                (error, _) => return Err(error),
            }
        }
    }

    /// `GET read_url` → `{"blue":N,"green":M}`; `None` without a read URL.
    pub async fn read(&self) -> Result<Option<Weights>, ActuatorError> {
        let Some(url) = &self.read_url else { return Ok(None) };
        let get =
            |reason: String| ActuatorError::Transport { method: "GET".into(), url: url.clone(), reason, attempts: 1 };
        let resp =
            self.client.get(url).timeout(self.timeout).send().await.map_err(|e| get(describe(&e, self.timeout)))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| get(describe(&e, self.timeout)))?;
        if !status.is_success() {
            return Err(ActuatorError::Http {
                method: "GET".into(),
                url: url.clone(),
                status: status.as_u16(),
                attempts: 1,
                body: one_line(&text, 200),
            });
        }
        serde_json::from_str::<Weights>(&text).map(Some).map_err(|e| ActuatorError::BadAnswer {
            what: format!("GET {url}"),
            answer: one_line(&text, 120),
            reason: format!("expected {{\"blue\":N,\"green\":M}} ({e})"),
        })
    }
}

fn check_url(url: &str) -> Result<(), ActuatorError> {
    // Placeholders may stand anywhere; check the URL with them filled in.
    let sample = Request { weights: Weights { blue: 0, green: 100 }, stage: "0".into(), key: "k".into() };
    match reqwest::Url::parse(&sample.render(url)) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => {
            Err(ActuatorError::Config(format!("webhook URL {url:?}: scheme {:?}, expected http or https", u.scheme())))
        }
        Err(e) => Err(ActuatorError::Config(format!("webhook URL {url:?} is not a URL: {e}"))),
    }
}

fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return format!("no answer within {}", super::fmt_duration(timeout));
    }
    let mut source = e.source();
    let mut innermost = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".into();
        }
        innermost = Some(s.to_string());
        source = s.source();
    }
    innermost.unwrap_or_else(|| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_up_front() {
        assert!(Webhook::new("PUT", "http://127.0.0.1:1/admin/weights?stage={stage}").is_ok());
        assert!(Webhook::new("P UT", "http://x/").unwrap_err().to_string().contains("not an HTTP method"));
        assert!(Webhook::new("PUT", "ftp://x/").unwrap_err().to_string().contains("scheme"));
        assert!(Webhook::new("PUT", "not a url").unwrap_err().to_string().contains("not a URL"));
        assert!(Webhook::new("PUT", "http://x/").unwrap().header("bad header", "v").is_err());
        assert_eq!(Webhook::new("put", "http://x/").unwrap().tries(0).tries, 1);
    }
}

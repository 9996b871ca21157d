//! One redactor that knows every configured secret and scrubs text before it is shown, logged,
//! audited, stored or printed.
//!
//! It replaces each known secret (a token, a password, a webhook URL marked secret, a header
//! value) with [`MASK`], wherever it appears: a server that echoes `Unauthorized: Bearer …`
//! gets its echo scrubbed too. It also strips the user information from every URL
//! (`https://user:pw@host/` → `https://host/`) and masks any `Bearer <token>`, known or not.

use std::borrow::Cow;
use std::fmt;

/// What a secret is replaced with.
pub const MASK: &str = "[redacted]";

/// Shorter values are not scrubbed by value: masking every `ab` in every message would make
/// the messages unreadable. Such a secret is too weak to be worth hiding anyway.
pub const MIN_SECRET_CHARS: usize = 4;

/// The secrets to scrub. `Debug` shows how many, never which.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub const fn new() -> Self {
        Redactor { secrets: Vec::new() }
    }

    /// Adds a secret, and the forms it takes in JSON and in a URL. Surrounding white space is
    /// ignored (a token file ends in a newline); values shorter than [`MIN_SECRET_CHARS`] are not kept.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let json = secret.replace('\\', "\\\\").replace('"', "\\\"");
        for form in [secret.to_string(), json, percent_encode(secret)] {
            if !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Adds a basic-auth pair: the password, and `user:password` as it travels in base64.
    pub fn add_basic(&mut self, user: &str, password: &str) {
        self.add(password);
        if !password.trim().is_empty() {
            self.add(&base64(format!("{user}:{}", password.trim()).as_bytes()));
        }
    }

    /// Adds the user information of a URL (`user:password@`), if it has any.
    pub fn add_url(&mut self, url: &str) {
        if let Some((user, password)) = userinfo(url) {
            match password {
                Some(p) => {
                    self.add_basic(&percent_decode(user), &percent_decode(p));
                    self.add(p);
                }
                // A lone user part is often a token (`https://TOKEN@host`).
                None => self.add(&percent_decode(user)),
            }
        }
    }

    /// Adds a URL that is a credential as a whole (a hook with its token in the path): the URL,
    /// and its path and query, which is what a server echoes back.
    pub fn add_secret_url(&mut self, url: &str) {
        self.add_url(url);
        self.add(url);
        self.add(&strip_userinfo(url));
        if let Some(start) = url.find("://").map(|i| i + 3)
            && let Some(path) = url[start..].find('/').map(|i| &url[start + i..])
            && path.len() > 1
        {
            self.add(path);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with URL user information stripped, bearer tokens masked and every known secret
    /// replaced with [`MASK`]. Borrows when there was nothing to scrub.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = strip_userinfo(text);
        if let Some(masked) = mask_bearer(&out) {
            out = Cow::Owned(masked);
        }
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        out
    }

    /// Scrubs `text` in place; no copy when there was nothing to scrub.
    pub fn scrub_in_place(&self, text: &mut String) {
        if let Cow::Owned(s) = self.scrub(text) {
            *text = s;
        }
    }
}

/// Where a URL's authority ends.
fn ends_authority(c: char) -> bool {
    matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | ',' | ';' | ')' | ']' | '}') || c.is_whitespace()
}

/// The user and password of the first URL in `text` that has user information.
fn userinfo(text: &str) -> Option<(&str, Option<&str>)> {
    let start = text.find("://")? + 3;
    let rest = &text[start..];
    let authority = &rest[..rest.find(ends_authority).unwrap_or(rest.len())];
    let (info, _) = authority.rsplit_once('@')?;
    Some(match info.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (info, None),
    })
}

/// Every `scheme://user:password@host` in `text` as `scheme://host`.
pub fn strip_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(ends_authority).unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => rest = &tail[at + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    if out.len() == text.len() { Cow::Borrowed(text) } else { Cow::Owned(out) }
}

/// `Bearer <token>` (any case) with the token masked; `None` when there is none.
fn mask_bearer(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("bearer") {
        return None;
    }
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut changed = false;
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer") {
        let word_end = from + i + "bearer".len();
        let after = &text[word_end..];
        let gap = after.len() - after.trim_start_matches([' ', '\t', '=', ':']).len();
        let token_start = word_end + gap;
        let token_len = text[token_start..].find(|c: char| !token_char(c)).unwrap_or(text.len() - token_start);
        let token = &text[token_start..token_start + token_len];
        // A plain lowercase word (`bearer token: …`) is prose, not a credential.
        let prose = token.chars().all(|c| c.is_ascii_lowercase());
        if gap > 0 && token_len >= MIN_SECRET_CHARS && !prose {
            out.push_str(&text[done..token_start]);
            out.push_str(MASK);
            done = token_start + token_len;
            changed = true;
        }
        from = token_start.max(word_end) + token_len.min(text.len() - token_start);
        if from >= text.len() {
            break;
        }
    }
    changed.then(|| {
        out.push_str(&text[done..]);
        out
    })
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_are_masked_in_every_form() {
        let mut r = Redactor::new();
        r.add("s3cr3t-t0ken\n");
        r.add(r#"pa"ss\word"#);
        r.add("ab");
        assert_eq!(r.scrub("401: Unauthorized s3cr3t-t0ken!"), "401: Unauthorized [redacted]!");
        assert_eq!(r.scrub(r#"{"echo":"pa\"ss\\word"}"#), r#"{"echo":"[redacted]"}"#, "JSON-escaped");
        assert_eq!(r.scrub("q=pa%22ss%5Cword"), "q=[redacted]", "percent-encoded");
        assert_eq!(r.scrub("ab cd"), "ab cd", "too short to scrub by value");
        assert!(matches!(r.scrub("nothing here"), Cow::Borrowed(_)));
        assert_eq!(format!("{r:?}"), "Redactor(4 secrets)");
    }

    #[test]
    fn basic_auth_is_masked_as_it_travels() {
        let mut r = Redactor::new();
        r.add_basic("alice", "hunter22");
        assert_eq!(base64(b"alice:hunter22"), "YWxpY2U6aHVudGVyMjI=");
        assert_eq!(r.scrub("Authorization: Basic YWxpY2U6aHVudGVyMjI="), "Authorization: Basic [redacted]");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn url_userinfo_is_stripped_everywhere() {
        let r = Redactor::new();
        assert_eq!(r.scrub("GET https://bob:pw@host:9/m?x=1 failed"), "GET https://host:9/m?x=1 failed");
        assert_eq!(r.scrub("a http://tok@h/ and \"http://u:p@k\""), "a http://h/ and \"http://k\"");
        assert_eq!(r.scrub("mail me@host, see http://host/a@b"), "mail me@host, see http://host/a@b");
        let mut r = Redactor::new();
        r.add_url("http://metrics:p%40ssw0rd@10.0.0.1:9100/metrics");
        assert_eq!(r.scrub("echo: p@ssw0rd / p%40ssw0rd"), "echo: [redacted] / [redacted]");
        r.add_url("https://T0KEN-abc@hooks.example/x");
        assert_eq!(r.scrub("token T0KEN-abc"), "token [redacted]");
    }

    #[test]
    fn secret_urls_are_masked_whole_and_by_path() {
        let mut r = Redactor::new();
        r.add_secret_url("https://hooks.example/services/T0/B1/xyz?k=1");
        assert_eq!(r.scrub("PUT https://hooks.example/services/T0/B1/xyz?k=1: HTTP 500"), "PUT [redacted]: HTTP 500");
        assert_eq!(r.scrub("no route for /services/T0/B1/xyz?k=1"), "no route for [redacted]");
    }

    #[test]
    fn bearer_tokens_are_masked_even_when_unknown() {
        let r = Redactor::new();
        assert_eq!(r.scrub("Unauthorized: Bearer abc.def-123 is bad"), "Unauthorized: Bearer [redacted] is bad");
        assert_eq!(r.scrub("bearer=xyz1234"), "bearer=[redacted]");
        assert_eq!(r.scrub("bearer token: FILE is empty"), "bearer token: FILE is empty", "prose stays");
        assert_eq!(r.scrub("no bearer"), "no bearer");
        assert_eq!(r.scrub("Bearer  "), "Bearer  ");
    }

    #[test]
    fn scrub_in_place_leaves_clean_text_alone() {
        let mut r = Redactor::new();
        r.add("topsecret");
        let mut s = "a topsecret b".to_string();
        r.scrub_in_place(&mut s);
        assert_eq!(s, "a [redacted] b");
    }
}

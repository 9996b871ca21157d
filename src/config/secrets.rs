//! The secrets a config names: gathered into one [`Redactor`], and their files checked for
//! loose permissions.

use crate::actuators::ActuatorSpec;
use crate::domain::redact::Redactor;
use crate::sources::prometheus::{Auth, PromConfig, SecretRef};

use super::Config;

/// Header names whose values are credentials (matched in lower case, as parts of the name).
const SECRET_HEADER_WORDS: [&str; 7] = ["authorization", "token", "key", "secret", "auth", "cookie", "password"];

impl Config {
    /// Every secret this config names, read now: the Prometheus token or password, the user
    /// information of every URL, webhook URLs marked `secret = true`, and the values of headers
    /// that carry credentials. A secret that cannot be read now is left out (it cannot be echoed
    /// either: requests fail before sending it).
    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::new();
        if let Some(p) = &self.prometheus {
            r.add_url(&p.prom.url);
            match &p.prom.auth {
                Auth::None => {}
                Auth::Bearer { token } => token.load().into_iter().for_each(|t| r.add(t.expose())),
                Auth::Basic { username, password } => {
                    password.load().into_iter().for_each(|p| r.add_basic(username, p.expose()))
                }
            }
            add_headers(&mut r, p.prom.headers.iter().map(|(k, v)| (k, v)));
        }
        for t in &self.targets {
            t.metrics.iter().for_each(|u| r.add_url(u));
            t.health.iter().for_each(|h| r.add_url(&h.url));
        }
        self.weights_url.iter().for_each(|u| r.add_url(u));
        for a in &self.actuators {
            if let ActuatorSpec::Webhook(w) = a {
                r.add_url(&w.url);
                w.read_url.iter().for_each(|u| r.add_url(u));
                if w.secret {
                    r.add_secret_url(&w.url);
                    w.read_url.iter().for_each(|u| r.add_secret_url(u));
                }
                add_headers(&mut r, &w.headers);
            }
        }
        r
    }
}

fn add_headers<'a>(r: &mut Redactor, headers: impl IntoIterator<Item = (&'a String, &'a String)>) {
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if SECRET_HEADER_WORDS.iter().any(|w| name.contains(w)) {
            r.add(value);
            // `Bearer xyz` / `Basic xyz`: the credential alone, too.
            if let Some((_, cred)) = value.split_once(' ') {
                r.add(cred);
            }
        }
    }
}

/// Warnings for secret files that others may read: `chmod 600` them.
pub(super) fn loose_files(prom: &PromConfig) -> Vec<String> {
    let file = match &prom.auth {
        Auth::Bearer { token: SecretRef::File(f) } => Some(("token_file", f)),
        Auth::Basic { password: SecretRef::File(f), .. } => Some(("password_file", f)),
        _ => None,
    };
    let Some((key, path)) = file else { return Vec::new() };
    loose(path)
        .map(|mode| {
            format!(
                "prometheus.{key} {} is readable by group or others (mode {mode:o}): run chmod 600 on it",
                path.display()
            )
        })
        .into_iter()
        .collect()
}

#[cfg(unix)]
fn loose(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose(_: &std::path::Path) -> Option<u32> {
    None
}

//! What the config names outside itself, opened now so a missing secret or CA file fails
//! `cutover check`, not the go-live: the Prometheus token or password and its CA file.

use super::{Config, ConfigError, spans};
use crate::sources::prometheus::{Auth, ConfigPart, SecretRef};

/// Every file or variable the config needs that cannot be read (or read as what it must be),
/// each at its key. Secrets are loaded to be checked and never shown.
pub fn open_files(config: &Config, text: &str) -> Vec<ConfigError> {
    let Some(p) = &config.prometheus else { return Vec::new() };
    let secret_key = |secret: &SecretRef, stem: &str| match secret {
        SecretRef::Env(_) => format!("prometheus.{stem}_env"),
        SecretRef::File(_) => format!("prometheus.{stem}_file"),
    };
    p.prom
        .problems()
        .into_iter()
        .map(|(part, message)| {
            let key = match (part, &p.prom.auth) {
                (ConfigPart::Token, Auth::Bearer { token }) => secret_key(token, "token"),
                (ConfigPart::Password, Auth::Basic { password, .. }) => secret_key(password, "password"),
                (ConfigPart::CaFile, _) => "prometheus.ca_file".into(),
                (ConfigPart::Headers, _) => "prometheus.headers".into(),
                (ConfigPart::Timeout, _) => "prometheus.timeout".into(),
                _ => "prometheus.url".into(),
            };
            let span = spans::value_span(text, &key).or_else(|| spans::value_span(text, "prometheus.url"));
            ConfigError::at(&config.file, text, span, Some(key), message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn unset_tokens_and_missing_files_are_named_at_their_keys() {
        let dir = std::env::temp_dir().join(format!("cutover-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = "[prometheus]\nurl = \"https://p:9090\"\ntoken_env = \"CUTOVER_TEST_FILES_UNSET\"\n\
                    ca_file = \"missing-ca.pem\"\n";
        let c = crate::config::parse(text, Path::new("t.toml"), Some(&dir)).unwrap();
        let shown: Vec<String> = open_files(&c, text).iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(
            shown[0],
            "t.toml:3:13: prometheus.token_env: bearer token: environment variable CUTOVER_TEST_FILES_UNSET is not set"
        );
        assert!(shown[1].starts_with("t.toml:4:11: prometheus.ca_file: CA file "), "{shown:?}");
        assert!(shown[1].contains("missing-ca.pem"), "{shown:?}");

        let text = "[prometheus]\nurl = \"http://p:9090\"\ntoken_file = \"token\"\n";
        let c = crate::config::parse(text, Path::new("t.toml"), Some(&dir)).unwrap();
        let e = open_files(&c, text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].key.as_deref(), Some("prometheus.token_file"));
        std::fs::write(dir.join("token"), "s3cret-value\n").unwrap();
        assert_eq!(open_files(&c, text), Vec::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

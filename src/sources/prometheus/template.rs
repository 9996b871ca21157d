//! Query templates: per-environment variables in PromQL text.
//!
//! # The rule
//!
//! A **placeholder** is `{` + a name + `}` with nothing else between the braces, where the
//! name is an identifier: `[A-Za-z_][A-Za-z0-9_]*`. It is replaced by the variable's value.
//! Everything else is copied as written. This never touches PromQL's own braces, because a
//! PromQL label matcher always has an operator inside (`{env="blue"}`, `{code=~"5.."}`), an
//! empty selector is `{}`, and a regex repetition starts with a digit (`"5.{2}"`):
//!
//! ```text
//! rate(x{env="{env}",code=~"5.{2}"}[1m])   with env=blue
//! rate(x{env="blue",code=~"5.{2}"}[1m])
//! ```
//!
//! A placeholder whose name is not a variable is an error (caught when the config is
//! checked), not passed on to Prometheus. `{{name}}` is written as the literal text `{name}`,
//! for the rare query that needs those characters inside a string or a regex.

use std::collections::HashMap;

/// One piece of a template.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    /// `{name}`: the variable `name`.
    Var(&'a str),
    /// `{{name}}`: the literal `{name}` (the inner braces included).
    Escaped(&'a str),
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The length of an identifier at the start of `s` (0 when there is none).
fn ident_len(s: &str) -> usize {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    if is_ident(&s[..end]) { end } else { 0 }
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(off) = template[i..].find('{') {
        let at = i + off;
        let rest = &template[at..];
        if let Some(inner) = rest.strip_prefix("{{") {
            let n = ident_len(inner);
            if n > 0 && inner[n..].starts_with("}}") {
                out.push(Piece::Text(&template[text_start..at]));
                out.push(Piece::Escaped(&template[at + 1..at + 2 + n + 1]));
                i = at + 2 + n + 2;
                text_start = i;
                continue;
            }
        }
        let inner = &rest[1..];
        let n = ident_len(inner);
        if n > 0 && inner[n..].starts_with('}') {
            out.push(Piece::Text(&template[text_start..at]));
            out.push(Piece::Var(&inner[..n]));
            i = at + 1 + n + 1;
            text_start = i;
            continue;
        }
        i = at + 1;
    }
    out.push(Piece::Text(&template[text_start..]));
    out.retain(|p| *p != Piece::Text(""));
    out
}

/// The variable names a template uses, in order of first use.
pub fn variables(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in pieces(template) {
        match p {
            Piece::Var(name) if !names.contains(&name) => names.push(name),
            _ => {}
        }
    }
    names
}

/// Substitutes `vars` into `template` (see the module docs for the rule). Values are inserted
/// as they are; a value that must sit inside a PromQL string is the config's business to quote.
///
/// Errors name every unknown placeholder and the known variables.
pub fn resolve(template: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut unknown: Vec<&str> = Vec::new();
    for p in pieces(template) {
        match p {
            Piece::Text(t) | Piece::Escaped(t) => out.push_str(t),
            Piece::Var(name) => match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    if !unknown.contains(&name) {
                        unknown.push(name);
                    }
                }
            },
        }
    }
    if unknown.is_empty() {
        return Ok(out);
    }
    let mut known: Vec<&str> = vars.keys().map(String::as_str).collect();
    known.sort_unstable();
    let list = unknown.iter().map(|n| format!("{{{n}}}")).collect::<Vec<_>>().join(", ");
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    Err(format!(
        "unknown variable{} {list} in the query; known variables: {known} (write {{{{name}}}} for a literal {{name}})",
        if unknown.len() > 1 { "s" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_are_replaced_and_label_matchers_left_alone() {
        let v = vars(&[("env", "blue"), ("job", "api")]);
        assert_eq!(resolve(r#"rate(x{env="{env}"}[1m])"#, &v).unwrap(), r#"rate(x{env="blue"}[1m])"#);
        assert_eq!(resolve(r#"rate(x{env="blue"}[1m])"#, &v).unwrap(), r#"rate(x{env="blue"}[1m])"#);
        assert_eq!(
            resolve(r#"sum by (le) (rate(h_bucket{job="{job}",env=~"{env}|canary"}[5m]))"#, &v).unwrap(),
            r#"sum by (le) (rate(h_bucket{job="api",env=~"blue|canary"}[5m]))"#
        );
        assert_eq!(resolve("up{}", &v).unwrap(), "up{}");
        assert_eq!(resolve(r#"x{code=~"5.{2}"}"#, &v).unwrap(), r#"x{code=~"5.{2}"}"#, "regex repetition");
        assert_eq!(resolve(r#"x{code=~"5.{1,2}"}"#, &v).unwrap(), r#"x{code=~"5.{1,2}"}"#);
        assert_eq!(resolve("{ env }", &v).unwrap(), "{ env }", "spaces: not a placeholder");
        assert_eq!(resolve("{env}{env}", &v).unwrap(), "blueblue");
        assert_eq!(resolve("{", &v).unwrap(), "{");
        assert_eq!(resolve("}{", &v).unwrap(), "}{");
        assert_eq!(resolve("{env", &v).unwrap(), "{env");
        assert_eq!(resolve("", &v).unwrap(), "");
        assert_eq!(resolve("{{env}}", &v).unwrap(), "{env}", "escaped");
        assert_eq!(resolve("é{env}ü", &v).unwrap(), "éblueü", "multi-byte text around");
    }

    #[test]
    fn unknown_placeholders_are_errors_that_list_the_known_ones() {
        let v = vars(&[("env", "blue"), ("job", "api")]);
        let e = resolve(r#"x{env="{enviroment}"}"#, &v).unwrap_err();
        assert_eq!(
            e,
            "unknown variable {enviroment} in the query; known variables: env, job \
             (write {{name}} for a literal {name})"
        );
        let e = resolve("{a} {B} {a}", &HashMap::new()).unwrap_err();
        assert!(e.starts_with("unknown variables {a}, {B} in the query; known variables: none"), "{e}");
    }

    #[test]
    fn variables_are_listed_once_in_order() {
        assert_eq!(variables(r#"x{env="{env}",job="{job}"} / y{env="{env}"} {{lit}}"#), ["env", "job"]);
        assert!(variables(r#"x{env="blue"}"#).is_empty());
    }

    #[test]
    fn identifiers() {
        assert!(is_ident("env") && is_ident("_x1") && is_ident("Env"));
        assert!(!is_ident("") && !is_ident("1x") && !is_ident("a-b") && !is_ident("a=b"));
    }
}

//! Where things are in the config text: the key path at a byte offset (for serde's and toml's
//! messages, which carry a position but not the key) and the span of a value given its path
//! (for checks made after the typed config is built, such as one argument of an actuator).

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The dotted key path (`trigger[1].name`, `actuator[0].argv[2]`) of the deepest key or value at
/// `offset`; read from the text itself when the parse tree lacks it (a key written twice).
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let (tree, _) = DeTable::parse_recoverable(text);
    let mut best: Option<(usize, String)> = None;
    visit_table(tree.get_ref(), offset, "", 0, &mut best);
    best.map(|(_, path)| path).or_else(|| key_from_lines(text, offset))
}

fn visit_table(table: &DeTable<'_>, offset: usize, prefix: &str, depth: usize, best: &mut Option<(usize, String)>) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() { k.get_ref().to_string() } else { format!("{prefix}.{}", k.get_ref()) };
        let whole = k.span().start.min(v.span().start)..k.span().end.max(v.span().end);
        if !matches!(v.get_ref(), DeValue::Table(_)) || k.span().contains(&offset) {
            consider(&whole, offset, &path, depth + 1, best);
        }
        visit_value(v, offset, &path, depth + 1, best);
    }
}

fn visit_value(v: &Spanned<DeValue<'_>>, offset: usize, path: &str, depth: usize, best: &mut Option<(usize, String)>) {
    match v.get_ref() {
        DeValue::Table(t) => visit_table(t, offset, path, depth, best),
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if !matches!(e.get_ref(), DeValue::Table(_)) {
                    consider(&e.span(), offset, &p, depth + 1, best);
                }
                visit_value(e, offset, &p, depth + 1, best);
            }
        }
        _ => {}
    }
}

fn consider(span: &Range<usize>, offset: usize, path: &str, depth: usize, best: &mut Option<(usize, String)>) {
    let inside = span.start <= offset && offset < span.end.max(span.start + 1);
    if inside && best.as_ref().is_none_or(|(d, _)| depth > *d) {
        *best = Some((depth, path.to_string()));
    }
}

/// The key path from the lines: the last table header before `offset` (`[[x]]` counted) and
/// the key the offset's line sets, if any.
fn key_from_lines(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let header = |l: &str| -> Option<(bool, String)> {
        let l = l.split('#').next().unwrap_or("").trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            return Some((true, name.trim().to_string()));
        }
        l.strip_prefix('[').and_then(|r| r.strip_suffix(']')).map(|name| (false, name.trim().to_string()))
    };
    // The line itself is a header: the key is that table.
    if let Some((array, name)) = header(line) {
        let n = before[..line_start].lines().filter(|l| header(l) == Some((array, name.clone()))).count();
        return Some(if array { format!("{name}[{n}]") } else { name });
    }
    let table = before[..line_start].lines().rev().find_map(header).map(|(array, name)| {
        if array {
            let n = before[..line_start].lines().filter(|l| header(l) == Some((true, name.clone()))).count();
            format!("{name}[{}]", n.saturating_sub(1))
        } else {
            name
        }
    });
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string()).filter(|k| !k.is_empty());
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
}

/// The span of the value at a dotted path such as `prometheus.token_env` or
/// `actuator[0].argv[2]`; `None` when the text has no such value.
pub fn value_span(text: &str, path: &str) -> Option<Range<usize>> {
    let (tree, _) = DeTable::parse_recoverable(text);
    let empty = DeTable::default();
    let mut table = tree.get_ref();
    let mut found: Option<&Spanned<DeValue<'_>>> = None;
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        let mut v = table.get(name)?;
        for index in indexes.split(']').filter_map(|s| s.strip_prefix('[')) {
            let i: usize = index.parse().ok()?;
            v = match v.get_ref() {
                DeValue::Array(a) => a.get(i)?,
                _ => return None,
            };
        }
        found = Some(v);
        // A further segment is looked up in this value, which must then be a table.
        table = match v.get_ref() {
            DeValue::Table(t) => t,
            _ => &empty,
        };
    }
    found.map(|v| v.span())
}

/// serde's `invalid type: boolean `true`, expected a string` said the way round the other
/// messages are: what was expected first, then what was found.
pub fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {expected}, found {}", with_article(found));
    }
    if message == "duplicate key" {
        return "set twice; a key (or table) may appear only once".into();
    }
    message.to_string()
}

fn with_article(found: &str) -> String {
    let vowel = found.starts_with(['a', 'e', 'i', 'o', 'u']);
    if found.starts_with("a ") || found.starts_with("an ") {
        found.to_string()
    } else if vowel {
        format!("an {found}")
    } else {
        format!("a {found}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_at_offsets_name_arrays_of_tables_and_array_items() {
        let text = "[[trigger]]\nname = \"a\"\n[[trigger]]\nname = true\n[[actuator]]\nargv = [\"x\", \"{blu}\"]\n";
        let at = |needle: &str| key_at(text, text.find(needle).unwrap());
        assert_eq!(at("true").as_deref(), Some("trigger[1].name"));
        assert_eq!(at("\"a\"").as_deref(), Some("trigger[0].name"));
        assert_eq!(at("{blu}").as_deref(), Some("actuator[0].argv[1]"));
        assert_eq!(value_span(text, "actuator[0].argv[1]").map(|s| &text[s]), Some("\"{blu}\""));
        assert_eq!(value_span(text, "trigger[1].name").map(|s| &text[s]), Some("true"));
        assert_eq!(value_span(text, "trigger[2].name"), None);
        assert_eq!(value_span(text, "actuator[0].argv.name"), None, "not looked up in another table");
    }

    #[test]
    fn a_key_set_twice_is_found_from_the_lines() {
        let text = "[deployment]\nname = \"a\"\n[[trigger]]\nname = \"x\"\n[[trigger]]\nname = \"y\"\nname = \"z\"\n";
        let second = text.rfind("name").unwrap();
        assert_eq!(key_at(text, second).as_deref(), Some("trigger[1].name"));
        let text = "[signals]\ninterval = \"1s\"\n[signals]\n";
        assert_eq!(key_at(text, text.rfind("signals").unwrap()).as_deref(), Some("signals"));
    }

    #[test]
    fn serde_messages_say_what_was_expected_first() {
        assert_eq!(
            reword("invalid type: boolean `true`, expected a string"),
            "expected a string, found a boolean `true`"
        );
        assert_eq!(reword("invalid type: integer `3`, expected a string"), "expected a string, found an integer `3`");
        assert_eq!(reword("unknown field `x`"), "unknown field `x`");
    }
}

//! The Prometheus text exposition format (version 0.0.4), read so that nothing is lost
//! silently: every sample comes back exactly as written, or its line comes back in
//! [`Exposition::unreadable`] with its number and the reason.
//!
//! What is read:
//! - `# HELP name text` (escapes `\\` and `\n`; any other backslash is kept as written) and
//!   `# TYPE name counter|gauge|histogram|summary|untyped`; other `#` lines are comments;
//! - samples `name{label="value",…} value [timestamp]`: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`,
//!   label names `[a-zA-Z_][a-zA-Z0-9_]*`, label values with the escapes `\\`, `\"`, `\n`
//!   (any other escape is an error, as in Prometheus' own text parser), a trailing comma in
//!   the label set, blanks and tabs between tokens; values as Go's `ParseFloat` reads them
//!   (`NaN`, `+Inf`, `-Inf`, exponents), timestamps as integer milliseconds;
//! - blank lines; CRLF line ends (the `\r` is dropped).
//!
//! What is reported as unreadable (and the sample, if any, left out):
//! - syntax errors, invalid UTF-8, unknown escapes, unknown types;
//! - a second `TYPE`/`HELP` for a name, or a `TYPE` after samples it would have typed;
//! - a series (name and label set; an empty label value is the same as no label) that
//!   already appeared: summing both would count twice;
//! - in a declared histogram, a `_bucket` without a numeric `le` or a sample without a
//!   suffix; in a declared summary, a quantile sample without a numeric `quantile`;
//! - a last line without its line feed: the body may have been cut off mid-number.
//!
//! Samples keep the file order. Each names the family it belongs to by the `TYPE` lines
//! before it: a histogram `x` owns `x_bucket`, `x_sum`, `x_count` (and `x_created`), a
//! summary `x` owns `x` (quantiles), `x_sum`, `x_count`, `x_created`; a counter `x` owns
//! `x_total` and `x_created`, a counter `x_total` owns `x_created`. Anything else is its own
//! family, untyped unless declared.

use std::collections::HashMap;
use std::fmt;

/// A metric type as declared by `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// Declared `untyped`, or not declared at all.
    Untyped,
}

impl MetricKind {
    pub const ALL: [MetricKind; 5] =
        [MetricKind::Counter, MetricKind::Gauge, MetricKind::Histogram, MetricKind::Summary, MetricKind::Untyped];

    /// The word used in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::Untyped => "untyped",
        }
    }

    fn from_type(word: &str) -> Option<MetricKind> {
        MetricKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One sample as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The full sample name (`http_request_duration_seconds_bucket`).
    pub name: String,
    /// Labels in the order written, values unescaped.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the line carries one.
    pub timestamp_ms: Option<i64>,
    /// The family the sample belongs to (`http_request_duration_seconds`).
    pub family: String,
    /// The family's declared type.
    pub kind: MetricKind,
    /// 1-based line number.
    pub line: usize,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// What the name adds to the family name: `""`, `"_bucket"`, `"_sum"`, `"_count"`,
    /// `"_total"`, `"_created"`.
    pub fn suffix(&self) -> &str {
        suffix_of(&self.name, &self.family)
    }
}

/// What a family's `# HELP` and `# TYPE` lines said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    pub name: String,
    pub kind: MetricKind,
    pub help: Option<String>,
}

/// The kind of line an unreadable line is (or seemed to be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A sample line: a sample is missing from [`Exposition::samples`].
    Sample,
    Help,
    Type,
    /// Not even the start could be read: it may have been anything, a sample too.
    Unknown,
}

/// A line that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// 1-based line number.
    pub line: usize,
    pub what: LineKind,
    /// The metric name the line is about, when that much could be read.
    pub name: Option<String>,
    pub reason: String,
    /// The line itself (invalid UTF-8 replaced, cut to [`MAX_TEXT_CHARS`]).
    pub text: String,
}

/// How much of an unreadable line [`Unreadable::text`] keeps.
pub const MAX_TEXT_CHARS: usize = 120;

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {:?}", self.line, self.reason, self.text)
    }
}

/// A whole exposition as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// In file order.
    pub samples: Vec<Sample>,
    /// Declared families in the order first declared.
    pub families: Vec<FamilyInfo>,
    /// In file order.
    pub unreadable: Vec<Unreadable>,
}

/// Reads a body. Never fails and never panics: what cannot be read is listed.
pub fn parse(body: &[u8]) -> Exposition {
    let mut p = Parser::default();
    let mut rest = body;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (line, terminated) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                (line, true)
            }
            None => {
                let line = rest;
                rest = &[];
                (line, false)
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        p.line(number, line, terminated);
    }
    p.out
}

#[derive(Default)]
struct Parser {
    out: Exposition,
    /// Family name -> index in `out.families`.
    families: HashMap<String, usize>,
    /// Family name -> line of its `TYPE` / `HELP`.
    type_lines: HashMap<String, usize>,
    help_lines: HashMap<String, usize>,
    /// Sample name -> first line it appeared on.
    names_seen: HashMap<String, usize>,
    /// Series (name, sorted non-empty labels) -> line.
    series: HashMap<(String, Vec<(String, String)>), usize>,
}

/// A line as the grammar sees it.
enum Line {
    Blank,
    Comment,
    Help { name: String, text: String },
    Type { name: String, kind: MetricKind },
    Sample { name: String, labels: Vec<(String, String)>, value: f64, timestamp_ms: Option<i64> },
}

/// Why a line could not be read.
struct LineError {
    what: LineKind,
    name: Option<String>,
    reason: String,
}

impl LineError {
    fn new(what: LineKind, name: Option<&str>, reason: impl Into<String>) -> Self {
        LineError { what, name: name.map(str::to_owned), reason: reason.into() }
    }
}

/// The part of a sample name past its family's name (`x_created` of family `x_total`: `_created`).
fn suffix_of<'a>(name: &'a str, family: &str) -> &'a str {
    match name.strip_prefix(family) {
        Some(rest) => rest,
        None if name.ends_with("_created") => "_created",
        None => "",
    }
}

const HISTOGRAM_SUFFIXES: [&str; 4] = ["_bucket", "_sum", "_count", "_created"];
const SUMMARY_SUFFIXES: [&str; 3] = ["_sum", "_count", "_created"];
const COUNTER_SUFFIXES: [&str; 2] = ["_total", "_created"];

fn suffixes(kind: MetricKind) -> &'static [&'static str] {
    match kind {
        MetricKind::Histogram => &HISTOGRAM_SUFFIXES,
        MetricKind::Summary => &SUMMARY_SUFFIXES,
        MetricKind::Counter => &COUNTER_SUFFIXES,
        MetricKind::Gauge | MetricKind::Untyped => &[],
    }
}

impl Parser {
    fn line(&mut self, number: usize, bytes: &[u8], terminated: bool) {
        let result = match std::str::from_utf8(bytes) {
            Ok(text) => read_line(text),
            Err(e) => {
                // Find out what the line was meant to be, to say which family lost a sample.
                let lossy = String::from_utf8_lossy(bytes);
                let (what, name) = match read_line(&lossy) {
                    Ok(Line::Blank | Line::Comment) => return,
                    Ok(Line::Help { name, .. }) => (LineKind::Help, Some(name)),
                    Ok(Line::Type { name, .. }) => (LineKind::Type, Some(name)),
                    Ok(Line::Sample { name, .. }) => (LineKind::Sample, Some(name)),
                    Err(err) => (err.what, err.name),
                };
                let at = e.valid_up_to();
                let column = String::from_utf8_lossy(&bytes[..at]).chars().count() + 1;
                let reason = format!("not UTF-8 (byte 0x{:02X} at column {column})", bytes[at]);
                Err(LineError { what, name, reason })
            }
        };
        let result = match result {
            Ok(line) if !terminated && !matches!(line, Line::Blank) => {
                let (what, name) = match &line {
                    Line::Help { name, .. } => (LineKind::Help, Some(name.as_str())),
                    Line::Type { name, .. } => (LineKind::Type, Some(name.as_str())),
                    Line::Sample { name, .. } => (LineKind::Sample, Some(name.as_str())),
                    Line::Blank | Line::Comment => (LineKind::Unknown, None),
                };
                if what == LineKind::Unknown {
                    // A comment cut short loses nothing.
                    return;
                }
                Err(LineError::new(what, name, "the last line has no line feed (the body may be cut off)"))
            }
            other => other,
        };
        let result = result.and_then(|line| self.apply(number, line));
        if let Err(e) = result {
            let text = String::from_utf8_lossy(bytes);
            let text = super::bound::bound(&text, MAX_TEXT_CHARS);
            self.out.unreadable.push(Unreadable { line: number, what: e.what, name: e.name, reason: e.reason, text });
        }
    }

    fn family_mut(&mut self, name: &str) -> &mut FamilyInfo {
        let i = *self.families.entry(name.to_owned()).or_insert_with(|| {
            self.out.families.push(FamilyInfo { name: name.to_owned(), kind: MetricKind::Untyped, help: None });
            self.out.families.len() - 1
        });
        &mut self.out.families[i]
    }

    fn declared(&self, name: &str) -> Option<MetricKind> {
        self.type_lines.contains_key(name).then(|| self.out.families[self.families[name]].kind)
    }

    /// The family and type of a sample name, by the `TYPE` lines so far.
    fn resolve(&self, name: &str) -> (String, MetricKind) {
        if let Some(kind) = self.declared(name) {
            return (name.to_owned(), kind);
        }
        for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] {
            let Some(base) = name.strip_suffix(suffix) else { continue };
            if let Some(kind) = self.declared(base).filter(|k| suffixes(*k).contains(&suffix)) {
                return (base.to_owned(), kind);
            }
            if suffix == "_created" {
                let total = format!("{base}_total");
                if self.declared(&total) == Some(MetricKind::Counter) {
                    return (total, MetricKind::Counter);
                }
            }
        }
        (name.to_owned(), MetricKind::Untyped)
    }

    fn apply(&mut self, number: usize, line: Line) -> Result<(), LineError> {
        match line {
            Line::Blank | Line::Comment => Ok(()),
            Line::Help { name, text } => {
                if let Some(first) = self.help_lines.get(&name) {
                    let reason = format!("a second HELP line for {name} (the first is on line {first})");
                    return Err(LineError::new(LineKind::Help, Some(&name), reason));
                }
                self.help_lines.insert(name.clone(), number);
                self.family_mut(&name).help = Some(text);
                Ok(())
            }
            Line::Type { name, kind } => {
                if let Some(first) = self.type_lines.get(&name) {
                    let reason = format!("a second TYPE line for {name} (the first is on line {first})");
                    return Err(LineError::new(LineKind::Type, Some(&name), reason));
                }
                let owned = std::iter::once(String::new()).chain(suffixes(kind).iter().map(|s| s.to_string()));
                let earlier = owned.filter_map(|s| self.names_seen.get(&format!("{name}{s}"))).min();
                if let Some(first) = earlier {
                    let reason = format!("TYPE for {name} after its samples (line {first}); they stay untyped");
                    return Err(LineError::new(LineKind::Type, Some(&name), reason));
                }
                self.type_lines.insert(name.clone(), number);
                self.family_mut(&name).kind = kind;
                Ok(())
            }
            Line::Sample { name, labels, value, timestamp_ms } => {
                let (family, kind) = self.resolve(&name);
                let suffix = suffix_of(&name, &family);
                let err = |reason: String| LineError::new(LineKind::Sample, Some(&name), reason);
                let bound = |label: &str| -> Result<(), LineError> {
                    let Some(v) = labels.iter().find(|(k, _)| k == label).map(|(_, v)| v) else {
                        return Err(err(format!("{kind} {family} sample without a {label} label")));
                    };
                    match parse_float(v) {
                        Some(x) if !x.is_nan() => Ok(()),
                        _ => Err(err(format!("{label}={v:?} is not a number"))),
                    }
                };
                match (kind, suffix) {
                    (MetricKind::Histogram, "") => {
                        return Err(err(format!(
                            "histogram {family} has no plain series (expected _bucket, _sum, _count)"
                        )));
                    }
                    (MetricKind::Histogram, "_bucket") => bound("le")?,
                    (MetricKind::Summary, "") => bound("quantile")?,
                    _ => {}
                }
                let mut key: Vec<(String, String)> = labels.iter().filter(|(_, v)| !v.is_empty()).cloned().collect();
                key.sort();
                let key = (name.clone(), key);
                if let Some(first) = self.series.get(&key) {
                    return Err(err(format!("the same series as line {first}")));
                }
                self.series.insert(key, number);
                self.names_seen.entry(name.clone()).or_insert(number);
                self.out.samples.push(Sample { name, labels, value, timestamp_ms, family, kind, line: number });
                Ok(())
            }
        }
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn is_label_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` is a valid metric name.
pub fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// Whether `s` is a valid label name.
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_label_start) && chars.all(is_label_char)
}

/// A float as Go's `strconv.ParseFloat` reads the common forms: decimal with an optional
/// exponent, `NaN`, `Inf`, `+Inf`, `-Inf` (any case, `Infinity` too). Hex floats are not read.
pub fn parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// A cursor over one line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|c| f(*c)) {
            self.pos += c.len_utf8();
        }
        &self.s[start..self.pos]
    }

    /// A token: everything up to the next blank.
    fn token(&mut self) -> &'a str {
        self.take_while(|c| !is_blank(c))
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    /// 1-based column (in characters) of the cursor.
    fn column(&self) -> usize {
        self.s[..self.pos].chars().count() + 1
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
}

/// Describes the character at the cursor for an error message.
fn found(c: &Cursor) -> String {
    match c.peek() {
        None => "the end of the line".into(),
        Some(ch) => format!("{ch:?} at column {}", c.column()),
    }
}

fn read_line(text: &str) -> Result<Line, LineError> {
    let mut c = Cursor { s: text, pos: 0 };
    c.skip_blanks();
    match c.peek() {
        None => Ok(Line::Blank),
        Some('#') => {
            c.bump();
            read_comment(&mut c)
        }
        Some(_) => read_sample(&mut c),
    }
}

fn read_comment(c: &mut Cursor) -> Result<Line, LineError> {
    c.skip_blanks();
    let word = c.token();
    let what = match word {
        "HELP" => LineKind::Help,
        "TYPE" => LineKind::Type,
        _ => return Ok(Line::Comment),
    };
    c.skip_blanks();
    let name = c.token();
    if name.is_empty() {
        return Err(LineError::new(what, None, format!("{word} without a metric name")));
    }
    if !is_metric_name(name) {
        return Err(LineError::new(what, None, format!("{word} for {name:?}, which is not a metric name")));
    }
    c.skip_blanks();
    if what == LineKind::Help {
        return Ok(Line::Help { name: name.to_owned(), text: unescape_help(c.rest().trim_end_matches(is_blank)) });
    }
    let kind_word = c.token();
    let Some(kind) = MetricKind::from_type(kind_word) else {
        let reason = if kind_word.is_empty() {
            format!("TYPE for {name} without a type")
        } else {
            format!("unknown metric type {kind_word:?} (expected counter, gauge, histogram, summary or untyped)")
        };
        return Err(LineError::new(what, Some(name), reason));
    };
    c.skip_blanks();
    if !c.at_end() {
        return Err(LineError::new(what, Some(name), format!("unexpected {} after the type", found(c))));
    }
    Ok(Line::Type { name: name.to_owned(), kind })
}

/// HELP text escapes: `\\` and `\n`; any other backslash stays as written.
fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, chars.peek()) {
            ('\\', Some('\\')) => {
                chars.next();
                out.push('\\');
            }
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            _ => out.push(ch),
        }
    }
    out
}

fn read_sample(c: &mut Cursor) -> Result<Line, LineError> {
    let start = c.column();
    let name = c.take_while(is_name_char);
    let unknown = |reason: String| LineError::new(LineKind::Unknown, None, reason);
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(unknown(format!("expected a metric name or '#' at column {start}, found {}", found(c))));
    }
    match c.peek() {
        None | Some('{') => {}
        Some(ch) if is_blank(ch) => {}
        Some(_) => {
            return Err(unknown(format!("{} is not allowed in a metric name", found(c))));
        }
    }
    let err = |reason: String| LineError::new(LineKind::Sample, Some(name), reason);
    c.skip_blanks();
    let mut labels: Vec<(String, String)> = Vec::new();
    if c.peek() == Some('{') {
        c.bump();
        loop {
            c.skip_blanks();
            if c.peek() == Some('}') {
                c.bump();
                break;
            }
            let at = c.column();
            let label = c.take_while(is_label_char);
            if label.is_empty() || !label.starts_with(is_label_start) {
                return Err(err(format!("expected a label name or '}}' at column {at}, found {}", found(c))));
            }
            c.skip_blanks();
            if c.bump() != Some('=') {
                return Err(err(format!("expected '=' after label {label}")));
            }
            c.skip_blanks();
            if c.bump() != Some('"') {
                return Err(err(format!("expected '\"' to open the value of label {label}")));
            }
            let value = read_label_value(c).map_err(|r| err(format!("label {label}: {r}")))?;
            if labels.iter().any(|(k, _)| k == label) {
                return Err(err(format!("label {label} appears twice")));
            }
            labels.push((label.to_owned(), value));
            c.skip_blanks();
            match c.bump() {
                Some(',') => {}
                Some('}') => break,
                _ => return Err(err(format!("expected ',' or '}}' after the value of label {label}"))),
            }
        }
        c.skip_blanks();
    }
    let token = c.token();
    if token.is_empty() {
        return Err(err("no value".into()));
    }
    let Some(value) = parse_float(token) else {
        return Err(err(format!("value {token:?} is not a number")));
    };
    c.skip_blanks();
    let token = c.token();
    let timestamp_ms = if token.is_empty() {
        None
    } else {
        let ok = token.trim_start_matches(['+', '-']).chars().all(|ch| ch.is_ascii_digit());
        match token.parse::<i64>().ok().filter(|_| ok) {
            Some(t) => Some(t),
            None => return Err(err(format!("timestamp {token:?} is not an integer (milliseconds)"))),
        }
    };
    c.skip_blanks();
    if !c.at_end() {
        return Err(err(format!("unexpected {} after the timestamp", found(c))));
    }
    Ok(Line::Sample { name: name.to_owned(), labels, value, timestamp_ms })
}

/// Reads a label value after its opening quote, up to and including the closing one.
fn read_label_value(c: &mut Cursor) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let Some(ch) = c.bump() else { return Err("the value is never closed (no '\"')".into()) };
        match ch {
            '"' => return Ok(out),
            '\\' => match c.bump() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                Some(other) => {
                    return Err(format!(
                        "invalid escape \\{other} at column {} (only \\\\, \\\" and \\n)",
                        c.column() - 2
                    ));
                }
                None => return Err("the value is never closed (ends in '\\')".into()),
            },
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Sample {
        let e = parse(format!("{line}\n").as_bytes());
        assert!(e.unreadable.is_empty(), "{:?}", e.unreadable);
        assert_eq!(e.samples.len(), 1);
        e.samples.into_iter().next().unwrap()
    }

    fn bad(body: &str) -> Unreadable {
        let e = parse(body.as_bytes());
        assert_eq!(e.unreadable.len(), 1, "{body:?}: {:?}", e.unreadable);
        e.unreadable.into_iter().next().unwrap()
    }

    #[test]
    fn reads_names_labels_values_and_timestamps() {
        let s = one(r#"job:req:rate5m{a="x,}=\"y\\\n",b="2",} -1.5e3 1700000000123"#);
        assert_eq!(s.name, "job:req:rate5m");
        assert_eq!(s.labels, [("a".into(), "x,}=\"y\\\n".into()), ("b".into(), "2".into())]);
        assert_eq!((s.value, s.timestamp_ms), (-1500.0, Some(1_700_000_000_123)));
        assert_eq!((s.family.as_str(), s.kind, s.line), ("job:req:rate5m", MetricKind::Untyped, 1));
        assert!(one("a NaN").value.is_nan());
        assert_eq!(one("a +Inf").value, f64::INFINITY);
        assert_eq!(one("a\t-Inf\t-5").value, f64::NEG_INFINITY);
        assert_eq!(one("a -Inf -5").timestamp_ms, Some(-5));
        assert_eq!(one(" a { x = \"1\" } 2 ").labels, [("x".into(), "1".into())]);
        assert_eq!(one("a{x=\"1\"}2").value, 2.0);
        assert!(one("a{} 1").labels.is_empty());
    }

    #[test]
    fn families_follow_type_lines() {
        let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 2\nh_count 1\nh_created 5\n\
                    # TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n\
                    # TYPE c counter\nc_total 3\nc_created 4\n# TYPE d_total counter\nd_total 1\nd_created 2\n\
                    h_other 1\n";
        let e = parse(body.as_bytes());
        assert!(e.unreadable.is_empty(), "{:?}", e.unreadable);
        let got: Vec<(&str, &str, MetricKind, &str)> =
            e.samples.iter().map(|s| (s.name.as_str(), s.family.as_str(), s.kind, s.suffix())).collect();
        use MetricKind::*;
        assert_eq!(
            got,
            [
                ("h_bucket", "h", Histogram, "_bucket"),
                ("h_sum", "h", Histogram, "_sum"),
                ("h_count", "h", Histogram, "_count"),
                ("h_created", "h", Histogram, "_created"),
                ("s", "s", Summary, ""),
                ("s_sum", "s", Summary, "_sum"),
                ("s_count", "s", Summary, "_count"),
                ("c_total", "c", Counter, "_total"),
                ("c_created", "c", Counter, "_created"),
                ("d_total", "d_total", Counter, ""),
                ("d_created", "d_total", Counter, "_created"),
                ("h_other", "h_other", Untyped, ""),
            ]
        );
    }

    #[test]
    fn unreadable_lines_say_where_and_why() {
        let u = bad("ok 1\nx{a=\"1\" 2\n");
        assert_eq!((u.line, u.what, u.name.as_deref()), (2, LineKind::Sample, Some("x")));
        assert!(u.reason.contains("expected ',' or '}'"), "{u}");
        let u = bad("3abc 1\n");
        assert_eq!((u.what, u.name), (LineKind::Unknown, None));
        let u = bad("x{a=\"\\t\"} 1\n");
        assert!(u.reason.contains("invalid escape \\t"), "{u}");
        let u = bad("x 1 1.5\n");
        assert!(u.reason.contains("timestamp"), "{u}");
        let u = bad("x 1 2 3\n");
        assert!(u.reason.contains("after the timestamp"), "{u}");
        let u = bad("x{a=\"1\",a=\"2\"} 1\n");
        assert!(u.reason.contains("twice"), "{u}");
        let u = bad("x 0x1p3\n");
        assert!(u.reason.contains("not a number"), "{u}");
        let u = bad("x 1");
        assert!(u.reason.contains("no line feed"), "{u}");
    }

    #[test]
    fn invalid_utf8_is_reported_with_the_family() {
        let e = parse(b"a{x=\"\xff\"} 1\n#\xff comment\nb 2\n");
        assert_eq!(e.samples.len(), 1);
        let u = &e.unreadable[0];
        assert_eq!((u.line, u.what, u.name.as_deref()), (1, LineKind::Sample, Some("a")));
        assert_eq!(u.reason, "not UTF-8 (byte 0xFF at column 6)");
    }

    #[test]
    fn metadata_problems() {
        let u = bad("a 1\n# TYPE a counter\n");
        assert_eq!((u.line, u.what), (2, LineKind::Type));
        assert!(u.reason.contains("after its samples (line 1)"), "{u}");
        let u = bad("# TYPE a counter\n# TYPE a gauge\n");
        assert!(u.reason.contains("second TYPE"), "{u}");
        let u = bad("# TYPE a stateset\n");
        assert!(u.reason.contains("unknown metric type"), "{u}");
        let u = bad("# TYPE a counter extra\n");
        assert!(u.reason.contains("after the type"), "{u}");
        let e = parse(b"# HELP a one \\\\ two\\nthree \\x\n# just a comment\n#\n");
        assert!(e.unreadable.is_empty());
        assert_eq!(e.families[0].help.as_deref(), Some("one \\ two\nthree \\x"));
    }
}

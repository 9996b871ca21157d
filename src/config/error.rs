//! Config errors that say what was wrong and where: file, line, column, key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The dotted key, when known (`slo[2].objective`).
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn at(file: &Path, text: &str, span: Option<Range<usize>>, key: Option<String>, message: String) -> Self {
        ConfigError { file: file.to_path_buf(), position: span.map(|s| line_col(text, s.start)), key, message }
    }

    pub fn file(file: &Path, message: String) -> Self {
        ConfigError { file: file.to_path_buf(), position: None, key: None, message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 8), (2, 3));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn display_names_file_line_column_and_key() {
        let e = ConfigError::at(Path::new("c.toml"), "x\ny = 1", Some(2..3), Some("y".into()), "bad".into());
        assert_eq!(e.to_string(), "c.toml:2:1: y: bad");
    }
}

//! Themes map roles to styles. A broken theme never stops start-up: the
//! built-in default is used and a notice says why.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const DEFAULT_THEME: &str = include_str!("../../themes/default.toml");
pub const MONO_THEME: &str = include_str!("../../themes/mono.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub text: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub stale: Style,
    pub muted: Style,
    pub accent: Style,
    pub blue: Style,
    pub green: Style,
    pub border: Style,
    pub header: Style,
    pub selected: Style,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    #[serde(default)]
    roles: BTreeMap<String, RawStyle>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

impl Theme {
    /// The built-in default theme.
    pub fn builtin() -> Theme {
        Theme::parse(DEFAULT_THEME).unwrap_or_else(|_| Theme::plain())
    }

    /// No styling at all: the last resort.
    pub fn plain() -> Theme {
        let s = Style::default();
        Theme {
            text: s,
            ok: s,
            warn: s,
            crit: s,
            stale: s,
            muted: s,
            accent: s,
            blue: s,
            green: s,
            border: s,
            header: s,
            selected: s.add_modifier(Modifier::REVERSED),
        }
    }

    /// Parses a theme file; roles it leaves out keep the default's style.
    pub fn parse(text: &str) -> Result<Theme, String> {
        let raw: RawTheme = toml::from_str(text).map_err(|e| match e.span() {
            Some(s) => {
                let (l, c) = crate::config::line_col(text, s.start);
                format!("{l}:{c}: {}", e.message().trim())
            }
            None => e.message().trim().to_string(),
        })?;
        let mut theme = if text == DEFAULT_THEME { Theme::plain() } else { Theme::builtin() };
        for (role, style) in raw.roles {
            let style = style.to_style().map_err(|e| format!("roles.{role}: {e}"))?;
            let slot = match role.as_str() {
                "text" => &mut theme.text,
                "ok" => &mut theme.ok,
                "warn" => &mut theme.warn,
                "crit" => &mut theme.crit,
                "stale" => &mut theme.stale,
                "muted" => &mut theme.muted,
                "accent" => &mut theme.accent,
                "blue" => &mut theme.blue,
                "green" => &mut theme.green,
                "border" => &mut theme.border,
                "header" => &mut theme.header,
                "selected" => &mut theme.selected,
                other => return Err(format!("unknown role {other:?}")),
            };
            *slot = style;
        }
        Ok(theme)
    }

    /// Picks a theme by name (`default`, `mono`) or path. Returns the theme
    /// and, when it had to fall back, a notice saying why.
    pub fn load(name: Option<&str>, no_color: bool) -> (Theme, Option<String>) {
        let name = match name {
            Some(n) => n,
            None if no_color => "mono",
            None => "default",
        };
        let text = match name {
            "default" => DEFAULT_THEME.to_string(),
            "mono" => MONO_THEME.to_string(),
            path => match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => return (Theme::builtin(), Some(format!("theme {path}: {e}; using the default theme"))),
            },
        };
        match Theme::parse(&text) {
            Ok(t) => (t, None),
            Err(e) => (Theme::builtin(), Some(format!("theme {name}: {e}; using the default theme"))),
        }
    }
}

impl RawStyle {
    fn to_style(&self) -> Result<Style, String> {
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(parse_color(bg)?);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        Ok(s)
    }
}

fn parse_color(text: &str) -> Result<Color, String> {
    text.parse::<Color>().map_err(|_| format!("unknown colour {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        let t = Theme::parse(DEFAULT_THEME).unwrap();
        assert_eq!(t.ok.fg, Some(Color::Green));
        assert!(t.crit.add_modifier.contains(Modifier::BOLD));
        let m = Theme::parse(MONO_THEME).unwrap();
        assert_eq!(m.crit.fg, None);
    }

    #[test]
    fn a_broken_theme_falls_back_with_a_notice() {
        assert!(Theme::parse("[roles]\nok = { fg = \"chartreuse-ish\" }\n").unwrap_err().contains("roles.ok"));
        assert!(Theme::parse("[roles]\nsparkle = { }\n").unwrap_err().contains("sparkle"));
        assert!(Theme::parse("[roles\n").unwrap_err().starts_with("1:"));
        let (t, notice) = Theme::load(Some("/nonexistent/theme.toml"), false);
        assert_eq!(t, Theme::builtin());
        assert!(notice.unwrap().contains("/nonexistent/theme.toml"));
    }

    #[test]
    fn no_color_picks_mono_unless_told_otherwise() {
        assert_eq!(Theme::load(None, true).0, Theme::parse(MONO_THEME).unwrap());
        assert_eq!(Theme::load(Some("default"), true).0, Theme::builtin());
    }

    #[test]
    fn partial_themes_keep_the_default_for_other_roles() {
        let t = Theme::parse("[roles]\nok = { fg = \"#00ff00\" }\n").unwrap();
        assert_eq!(t.ok.fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(t.crit, Theme::builtin().crit);
    }
}

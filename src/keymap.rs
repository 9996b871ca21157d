//! Keymaps are data: actions, the keys bound to them, and a description that
//! also feeds the help overlay. The default is built in; a user file is merged over it.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

pub const DEFAULT_KEYMAP: &str = include_str!("../config/keymap.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Help,
    Quit,
    Down,
    Up,
    PageDown,
    PageUp,
    FocusNext,
    Faults,
    Close,
    Tick,
    Find,
    NextOpen,
    OpenOnly,
    Detail,
    Acknowledge,
    RaiseManual,
    Expand,
    Collapse,
    Advance,
    Rollback,
    Revert,
    /// Record the router's split as the stage after drift (asks why).
    Adopt,
    ConfirmManual,
    TakeControls,
    /// Answers to a handover request; only heard while one is shown.
    HandOver,
    KeepControls,
}

impl Action {
    /// Keys of a prompt action are live only while its prompt is shown, so they may share keys
    /// with ordinary actions (`n` keeps the controls there, and finds the next open task elsewhere).
    pub fn is_prompt(self) -> bool {
        matches!(self, Action::HandOver | Action::KeepControls)
    }
}

/// Where a binding is heard. A key may do one thing per mode, never two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The cockpit without a prompt.
    Normal,
    /// While a request for the controls is shown on the holder: its answers.
    ControlsRequest,
}

impl Action {
    pub fn mode(self) -> Mode {
        if self.is_prompt() { Mode::ControlsRequest } else { Mode::Normal }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Reads `q`, `?`, `F`, `ctrl-c`, `alt-x`, `pageup`, `space`, …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            s if s.chars().count() == 1 => KeyCode::Char(s.chars().next().unwrap_or(' ')),
            _ => return Err(format!("unknown key {text:?}")),
        };
        Ok(Key { code, mods })
    }

    /// The key as it arrived from the terminal, normalised so `F` and shift-F match.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        Key { code: ev.code, mods }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<Key>,
    pub desc: String,
    /// The action changes production, a file or the audit log: absent in read-only mode.
    pub acts: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeymap {
    #[serde(default)]
    bind: Vec<RawBinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    action: Action,
    keys: Vec<String>,
    desc: Option<String>,
    acts: Option<bool>,
    /// Written in the file for the reader; must be the action's own mode.
    mode: Option<Mode>,
}

impl Keymap {
    pub fn builtin() -> Keymap {
        let mut km = Keymap { bindings: Vec::new() };
        // The built-in file is part of the binary and covered by a test.
        km.merge_str(DEFAULT_KEYMAP).unwrap_or_default();
        km
    }

    /// Merges a user keymap over this one. On error nothing changes and the
    /// message says what and where.
    pub fn merge_str(&mut self, text: &str) -> Result<(), String> {
        let raw: RawKeymap = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| crate::config::line_col(text, s.start));
            match at {
                Some((l, c)) => format!("{l}:{c}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
            }
        })?;
        let mut next = self.clone();
        for b in raw.bind {
            if let Some(m) = b.mode
                && m != b.action.mode()
            {
                return Err(format!("{:?} is heard in mode {:?}, not {m:?}", b.action, b.action.mode()));
            }
            let keys = b.keys.iter().map(|k| Key::parse(k)).collect::<Result<Vec<_>, _>>()?;
            // A key belongs to one action: taking it away from any other keeps the map unambiguous.
            for other in next.bindings.iter_mut().filter(|o| o.action.is_prompt() == b.action.is_prompt()) {
                other.keys.retain(|k| !keys.contains(k));
            }
            match next.bindings.iter_mut().find(|x| x.action == b.action) {
                Some(existing) => {
                    existing.keys = keys;
                    // A user keymap may mark more actions as acting, never fewer.
                    existing.acts |= b.acts.unwrap_or(false);
                    if let Some(d) = b.desc {
                        existing.desc = d;
                    }
                }
                None => next.bindings.push(Binding {
                    action: b.action,
                    keys,
                    desc: b.desc.unwrap_or_default(),
                    acts: b.acts.unwrap_or(false),
                }),
            }
        }
        *self = next;
        Ok(())
    }

    /// The ordinary action bound to a key.
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        self.find(ev, false)
    }

    /// The prompt action bound to a key (see [`Action::is_prompt`]).
    pub fn prompt_action(&self, ev: &KeyEvent) -> Option<Action> {
        self.find(ev, true)
    }

    fn find(&self, ev: &KeyEvent, prompt: bool) -> Option<Action> {
        let key = Key::from_event(ev);
        self.bindings.iter().find(|b| b.action.is_prompt() == prompt && b.keys.contains(&key)).map(|b| b.action)
    }

    pub fn keys_for(&self, action: Action) -> &[Key] {
        self.bindings.iter().find(|b| b.action == action).map_or(&[], |b| &b.keys)
    }

    /// Whether the action acts (see [`Binding::acts`]); unknown actions count as acting.
    pub fn acts(&self, action: Action) -> bool {
        self.bindings.iter().find(|b| b.action == action).is_none_or(|b| b.acts)
    }

    /// The bindings that can be shown: all of them, or in read-only mode only those that watch.
    pub fn shown(&self, read_only: bool) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| !b.keys.is_empty() && (!read_only || !b.acts))
    }

    /// Keys bound to two actions of one mode (empty for a usable keymap).
    pub fn conflicts(&self) -> Vec<(Mode, Key, Action, Action)> {
        let mut out = Vec::new();
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                if a.action.mode() != b.action.mode() {
                    continue;
                }
                for k in a.keys.iter().filter(|k| b.keys.contains(k)) {
                    out.push((a.action.mode(), *k, a.action, b.action));
                }
            }
        }
        out
    }

    /// The first key of an action as text, for the footer.
    pub fn first_key(&self, action: Action) -> Option<String> {
        self.keys_for(action).first().map(|k| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn the_builtin_keymap_binds_every_action() {
        let km = Keymap::builtin();
        for a in [
            Action::Help,
            Action::Quit,
            Action::Down,
            Action::Up,
            Action::PageDown,
            Action::PageUp,
            Action::FocusNext,
            Action::Faults,
            Action::Close,
            Action::Tick,
            Action::Find,
            Action::NextOpen,
            Action::OpenOnly,
            Action::Detail,
            Action::Acknowledge,
            Action::RaiseManual,
            Action::Expand,
            Action::Collapse,
            Action::Advance,
            Action::Rollback,
            Action::Revert,
            Action::Adopt,
            Action::ConfirmManual,
            Action::TakeControls,
            Action::HandOver,
            Action::KeepControls,
        ] {
            assert!(!km.keys_for(a).is_empty(), "{a:?} unbound");
        }
        assert!(km.bindings.iter().all(|b| !b.desc.is_empty()));
        assert_eq!(km.action(&press(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(km.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(km.action(&press(KeyCode::Char('F'), KeyModifiers::SHIFT)), Some(Action::Faults));
        assert_eq!(km.action(&press(KeyCode::Char('c'), KeyModifiers::NONE)), Some(Action::ConfirmManual));
        assert_eq!(km.action(&press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::NextOpen));
        assert_eq!(km.prompt_action(&press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::KeepControls));
        assert_eq!(km.prompt_action(&press(KeyCode::Char('y'), KeyModifiers::NONE)), Some(Action::HandOver));
        assert_eq!(km.action(&press(KeyCode::Char('t'), KeyModifiers::NONE)), Some(Action::TakeControls));
    }

    #[test]
    fn acting_actions_are_marked_and_a_user_keymap_cannot_unmark_them() {
        let mut km = Keymap::builtin();
        let acting = [
            Action::Tick,
            Action::Advance,
            Action::Rollback,
            Action::Revert,
            Action::Adopt,
            Action::Acknowledge,
            Action::RaiseManual,
            Action::Faults,
            Action::ConfirmManual,
            Action::TakeControls,
            Action::HandOver,
            Action::KeepControls,
        ];
        for b in &km.bindings {
            assert_eq!(b.acts, acting.contains(&b.action), "{:?}", b.action);
        }
        km.merge_str("[[bind]]\naction = \"advance\"\nkeys = [\"x\"]\nacts = false\n").unwrap();
        assert!(km.acts(Action::Advance));
        assert!(km.shown(true).all(|b| !acting.contains(&b.action)));
        assert_eq!(km.shown(false).count(), km.bindings.len());
    }

    #[test]
    fn no_key_does_two_things_in_one_mode() {
        let km = Keymap::builtin();
        assert_eq!(km.conflicts(), vec![], "the built-in keymap");
        // The check itself: two actions of the normal mode on `n` are found.
        let mut bad = km.clone();
        let n = Key::parse("n").unwrap();
        bad.bindings.iter_mut().find(|b| b.action == Action::OpenOnly).unwrap().keys.push(n);
        assert_eq!(bad.conflicts(), vec![(Mode::Normal, n, Action::NextOpen, Action::OpenOnly)]);
        // `n` answers a request for the controls in its own mode, and moves to the next open task otherwise.
        assert_eq!(km.action(&press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::NextOpen));
        assert_eq!(km.prompt_action(&press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::KeepControls));
        // A user keymap stays free of conflicts: a key it binds is taken from the mode's other action.
        let mut user = km.clone();
        user.merge_str("[[bind]]\naction = \"open_only\"\nkeys = [\"n\"]\n").unwrap();
        assert_eq!(user.conflicts(), vec![]);
        assert_eq!(user.prompt_action(&press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::KeepControls));
        let e = user.merge_str("[[bind]]\naction = \"hand_over\"\nmode = \"normal\"\nkeys = [\"y\"]\n").unwrap_err();
        assert!(e.contains("ControlsRequest"), "{e}");
    }

    #[test]
    fn user_bindings_replace_and_steal_keys() {
        let mut km = Keymap::builtin();
        km.merge_str("[[bind]]\naction = \"down\"\nkeys = [\"n\", \"k\"]\n").unwrap();
        assert_eq!(km.action(&press(KeyCode::Char('k'), KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(km.action(&press(KeyCode::Char('j'), KeyModifiers::NONE)), None);
        assert_eq!(km.keys_for(Action::Up), &[Key::parse("up").unwrap()]);
    }

    #[test]
    fn a_broken_user_keymap_changes_nothing_and_says_where() {
        let mut km = Keymap::builtin();
        let before = km.clone();
        let e = km.merge_str("[[bind]]\naction = \"explode\"\nkeys = [\"x\"]\n").unwrap_err();
        assert!(e.starts_with("2:"), "{e}");
        let e = km.merge_str("[[bind]]\naction = \"quit\"\nkeys = [\"hyper-x\"]\n").unwrap_err();
        assert!(e.contains("hyper-x"), "{e}");
        assert_eq!(km, before);
    }
}

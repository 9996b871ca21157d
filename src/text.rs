//! Small text helpers shared by the IO layers' error messages, and the process's redactor:
//! every string from outside passes [`one_line`] or [`scrub`] before it is shown or kept.

use std::sync::RwLock;
use std::time::Duration;

use crate::domain::bound;
use crate::domain::redact::Redactor;

/// The secrets of the config this process runs with (set once the config is read).
static REDACTOR: RwLock<Redactor> = RwLock::new(Redactor::new());

/// Makes `r` the redactor every later [`scrub`] uses.
pub fn set_redactor(r: Redactor) {
    *REDACTOR.write().unwrap_or_else(|e| e.into_inner()) = r;
}

/// `text` with every configured secret and all URL user information masked.
pub fn scrub(text: &str) -> String {
    REDACTOR.read().unwrap_or_else(|e| e.into_inner()).scrub(text).into_owned()
}

/// Scrubs `text` in place (no copy when clean).
pub fn scrub_in_place(text: &mut String) {
    REDACTOR.read().unwrap_or_else(|e| e.into_inner()).scrub_in_place(text);
}

/// Serialized bytes (a JSON line, a state file) scrubbed as [`scrub`] does. JSON stays valid:
/// the mask has no quote or backslash, and stripped user information only removes characters.
pub fn scrub_bytes(bytes: Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(&bytes) {
        Ok(text) => match REDACTOR.read().unwrap_or_else(|e| e.into_inner()).scrub(text) {
            std::borrow::Cow::Owned(s) => s.into_bytes(),
            std::borrow::Cow::Borrowed(_) => bytes,
        },
        Err(_) => bytes,
    }
}

/// A string from outside as it may be shown and kept: scrubbed, then bounded to
/// [`bound::MAX_CHARS`]. Cut before scrubbing (with room for a secret across the cut) so a
/// megabyte costs no more than a line.
pub fn outside(text: &mut String) {
    bound::bound_in_place(text, bound::MAX_CHARS + 256);
    scrub_in_place(text);
    bound::bound_in_place(text, bound::MAX_CHARS);
}

/// `text` on one line, at most `max` characters, secrets masked (see [`bound::one_line`]).
pub fn one_line(text: &str, max: usize) -> String {
    let mut s = bound::one_line(text, max + 256);
    scrub_in_place(&mut s);
    bound::bound_in_place(&mut s, max);
    s
}

/// `250ms`, `2s`, `1.5s`.
pub fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(short_duration(Duration::from_secs(2)), "2s");
        assert_eq!(short_duration(Duration::from_millis(1500)), "1.5s");
    }
}

//! Strings from outside (answer bodies, error envelopes, label values, command output) kept to
//! a size fit to show, log, audit and store. The one place text is cut.
//!
//! A cut text keeps its first characters and says how much was left out: `… (1048576 bytes
//! more)`, so a reader knows it is not the whole answer. Cells on the screen use [`fit`],
//! which ends in a bare `…` because the width is the limit there.

/// What one string from outside is cut to, in characters: enough for a reason, not a body.
pub const MAX_CHARS: usize = 300;

/// `text`'s first `max` characters and how many bytes follow them (0: nothing was cut).
fn split(text: &str, max: usize) -> (&str, usize) {
    match text.char_indices().nth(max) {
        Some((i, _)) => (&text[..i], text.len() - i),
        None => (text, 0),
    }
}

fn marked(kept: &str, more: usize) -> String {
    if more == 0 { kept.to_string() } else { format!("{kept}… ({more} bytes more)") }
}

/// At most `max` characters of `text`; a longer text ends in `… (N bytes more)`.
pub fn bound(text: &str, max: usize) -> String {
    let (kept, more) = split(text, max);
    marked(kept, more)
}

/// Cuts `text` in place as [`bound`] does; a text short enough is left as it is (no copy).
pub fn bound_in_place(text: &mut String, max: usize) {
    // Fewer bytes than `max` means fewer characters too: nothing to count.
    if text.len() > max {
        let (kept, more) = split(text, max);
        if more > 0 {
            *text = marked(kept, more);
        }
    }
}

/// `text` on one line (runs of white space folded to one space, ends trimmed), at most `max`
/// characters, ending in `… (N bytes more)` when cut. Reads only as far as it keeps, so a
/// megabyte body costs no more than a short one.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut kept = 0;
    let mut gap = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            gap = !out.is_empty();
            continue;
        }
        let need = if gap { 2 } else { 1 };
        if kept + need > max {
            return marked(&out, text.len() - i);
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
        kept += need;
    }
    out
}

/// `text` cut to `width` characters for a cell on the screen, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    match split(text, width) {
        (kept, 0) => kept.to_string(),
        _ => {
            let (kept, _) = split(text, width - 1);
            format!("{kept}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_keeps_short_text_and_says_how_much_was_cut() {
        assert_eq!(bound("abc", 3), "abc");
        assert_eq!(bound("abcdef", 4), "abcd… (2 bytes more)");
        assert_eq!(bound("ééé", 1), "é… (4 bytes more)", "counts characters, reports bytes");
        let big = "x".repeat(1 << 20);
        let b = bound(&big, MAX_CHARS);
        assert!(b.ends_with(&format!("… ({} bytes more)", (1 << 20) - MAX_CHARS)), "{}", &b[b.len() - 40..]);
        assert!(b.len() < MAX_CHARS + 40);
    }

    #[test]
    fn bound_in_place_copies_only_what_it_cuts() {
        let mut s = "short".to_string();
        bound_in_place(&mut s, 10);
        assert_eq!(s, "short");
        let mut s = "é".repeat(10); // 20 bytes, 10 characters: not cut
        bound_in_place(&mut s, 10);
        assert_eq!(s, "é".repeat(10));
        let mut s = "abcdefghijkl".to_string();
        bound_in_place(&mut s, 10);
        assert_eq!(s, "abcdefghij… (2 bytes more)");
    }

    #[test]
    fn one_line_folds_white_space_and_cuts() {
        assert_eq!(one_line("  a\n  b\tc \n", 10), "a b c");
        assert_eq!(one_line("abcdef", 4), "abcd… (2 bytes more)");
        assert_eq!(one_line("ab  cd", 3), "ab… (2 bytes more)");
        assert_eq!(one_line("ab  cd", 4), "ab c… (1 bytes more)");
        assert_eq!(one_line("", 4), "");
        let big = format!("{}\n", "y ".repeat(1 << 19));
        let b = one_line(&big, 100);
        assert!(b.starts_with("y y y") && b.contains("… (") && b.chars().count() < 130, "{b}");
    }

    #[test]
    fn fit_ends_in_an_ellipsis_at_the_width() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcd", 4), "abcd");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("éééé", 2), "é…");
    }
}

//! Wall-clock time as a plain value, so the domain never reads a clock.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch. Wall-clock rather than monotonic so
/// timestamps can be stored and compared across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Ts(pub i64);

impl Ts {
    pub fn from_secs(s: i64) -> Self {
        Ts(s * 1000)
    }

    pub fn from_secs_f64(s: f64) -> Self {
        Ts((s * 1000.0).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Seconds elapsed from `earlier` to `self` (negative if `earlier` is later).
    pub fn secs_since(self, earlier: Ts) -> f64 {
        (self.0 - earlier.0) as f64 / 1000.0
    }

    pub fn plus_ms(self, ms: i64) -> Ts {
        Ts(self.0 + ms)
    }
}

/// RFC 3339 with milliseconds, UTC: `2026-05-01T14:02:11.123Z`: the one time format of
/// everything cutover writes for machines.
pub fn rfc3339(ts: Ts) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ts.0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ts.0.to_string())
}

/// Formats a duration in seconds the way the cockpit shows ages and countdowns:
/// `0.4s`, `12s`, `3m05s`, `2h04m`.
pub fn format_age(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    if secs < 10.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_since_is_signed_and_fractional() {
        assert_eq!(Ts(2500).secs_since(Ts(1000)), 1.5);
        assert_eq!(Ts(1000).secs_since(Ts(2500)), -1.5);
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(format_age(0.42), "0.4s");
        assert_eq!(format_age(12.4), "12s");
        assert_eq!(format_age(185.0), "3m05s");
        assert_eq!(format_age(7440.0), "2h04m");
        assert_eq!(format_age(f64::NAN), "–");
        assert_eq!(format_age(-1.0), "–");
    }
}

/// Reads a duration written like `500ms`, `2s`, `1.5s`, `10m`, `24h` (a bare number is seconds).
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{text:?} is not a duration; write it like 500ms, 2s, 10m or 24h"))?;
    let factor = match unit.trim() {
        "ms" => 1.0,
        "" | "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        other => return Err(format!("{text:?}: unknown unit {other:?}; use ms, s, m or h")),
    };
    let ms = (n * factor).round();
    // Past the limit a countdown or a deadline would overflow, or be meant as something else.
    if !ms.is_finite() || ms > MAX_DURATION_MS as f64 {
        return Err(format!("{text:?} is longer than the limit of {MAX_DURATION_TEXT}"));
    }
    Ok(ms as i64)
}

/// The longest duration cutover accepts anywhere (a soak, a trigger's `for`, a timeout).
pub const MAX_DURATION_MS: i64 = 7 * 24 * 3_600_000;
/// [`MAX_DURATION_MS`] as a person reads it.
pub const MAX_DURATION_TEXT: &str = "7 days (168h)";

#[cfg(test)]
mod duration_tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2s"), Ok(2000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
        assert_eq!(parse_duration_ms("10m"), Ok(600_000));
        assert_eq!(parse_duration_ms("24h"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("3"), Ok(3000));
        assert!(parse_duration_ms("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration_ms("5 fortnights").unwrap_err().contains("fortnights"));
    }

    #[test]
    fn durations_past_the_limit_are_refused_not_wrapped() {
        assert_eq!(parse_duration_ms("168h"), Ok(super::MAX_DURATION_MS));
        let e = parse_duration_ms("99999999999999999h").unwrap_err();
        assert!(e.contains("longer than the limit of 7 days (168h)"), "{e}");
        assert!(parse_duration_ms("169h").is_err());
        assert!(parse_duration_ms("10081m").is_err());
    }
}

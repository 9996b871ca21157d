//! A source's run of failures, for the log: the first failure is logged, an identical one
//! again is only counted, a different one is logged with the count of the one before, and
//! recovery is logged with the count. A poll every second never floods the log.

/// Where a source stands between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streak {
    /// The current error and how many polls in a row gave it.
    failing: Option<(String, u64)>,
}

impl Streak {
    /// A failed poll: the line to log, or `None` when it repeats the last error.
    pub fn failed(&mut self, error: &str) -> Option<String> {
        match &mut self.failing {
            Some((last, n)) if last == error => {
                *n += 1;
                None
            }
            Some((last, n)) => {
                let line = format!("failing: {error} (before: {last}, {})", times(*n));
                self.failing = Some((error.to_string(), 1));
                Some(line)
            }
            None => {
                self.failing = Some((error.to_string(), 1));
                Some(format!("failing: {error}"))
            }
        }
    }

    /// A good poll: the line to log when it ends a run of failures.
    pub fn succeeded(&mut self) -> Option<String> {
        self.failing.take().map(|(last, n)| format!("recovered after {} (last: {last})", times(n)))
    }
}

fn times(n: u64) -> String {
    if n == 1 { "1 failed poll".into() } else { format!("{n} failed polls") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_failures_is_logged_at_start_change_and_end() {
        let mut s = Streak::default();
        assert_eq!(s.succeeded(), None, "healthy: nothing to say");
        assert_eq!(s.failed("timeout after 1s").as_deref(), Some("failing: timeout after 1s"));
        for _ in 0..99 {
            assert_eq!(s.failed("timeout after 1s"), None);
        }
        assert_eq!(
            s.failed("connection refused").as_deref(),
            Some("failing: connection refused (before: timeout after 1s, 100 failed polls)")
        );
        assert_eq!(s.succeeded().as_deref(), Some("recovered after 1 failed poll (last: connection refused)"));
        assert_eq!(s.succeeded(), None);
    }
}

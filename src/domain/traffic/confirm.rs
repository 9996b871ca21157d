//! The typed confirmation in front of a traffic change: the operator types the target percent
//! (`50`) or `ROLLBACK`, so a stray key or a muscle-memory `y` can never move production.

/// What is being confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Moving blue to this percent.
    Stage(u8),
    Rollback,
}

impl Confirmation {
    /// The prompt: `type 50 to send 50% of traffic to blue`.
    pub fn prompt(self) -> String {
        match self {
            Confirmation::Stage(p) => format!("type {p} to send {p}% of traffic to blue"),
            Confirmation::Rollback => "type ROLLBACK to send all traffic back to green".to_string(),
        }
    }
}

/// The exact text to type: the percent (`50`) or `ROLLBACK`.
pub fn expected_confirmation(target: Confirmation) -> String {
    match target {
        Confirmation::Stage(p) => p.to_string(),
        Confirmation::Rollback => "ROLLBACK".to_string(),
    }
}

/// Whether `input` confirms `target`. Surrounding whitespace is ignored, and a percent may carry
/// its `%`; nothing else is forgiven: `5` is not `50`, `rollback` is not `ROLLBACK`.
pub fn confirm(target: Confirmation, input: &str) -> bool {
    let input = input.trim();
    let expected = expected_confirmation(target);
    match target {
        Confirmation::Stage(_) => input.strip_suffix('%').unwrap_or(input).trim_end() == expected,
        Confirmation::Rollback => input == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_target_confirms() {
        let fifty = Confirmation::Stage(50);
        assert_eq!(expected_confirmation(fifty), "50");
        assert!(confirm(fifty, "50"));
        assert!(confirm(fifty, " 50% "));
        for wrong in ["", "5", "500", "y", "yes", "050", "50%%", "25"] {
            assert!(!confirm(fifty, wrong), "{wrong:?}");
        }
        assert_eq!(expected_confirmation(Confirmation::Rollback), "ROLLBACK");
        assert!(confirm(Confirmation::Rollback, "ROLLBACK\n"));
        for wrong in ["rollback", "R", "ROLLBAK", "y"] {
            assert!(!confirm(Confirmation::Rollback, wrong), "{wrong:?}");
        }
        assert_eq!(Confirmation::Stage(25).prompt(), "type 25 to send 25% of traffic to blue");
    }
}

//! Comparing what the router says with what cutover expects.

use std::fmt;

use crate::domain::env::Weights;

/// The router's split differs from cutover's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drift {
    pub expected: Weights,
    pub actual: Weights,
}

impl fmt::Display for Drift {
    /// `router says 10/90, cutover expects 25/75`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "router says {}/{}, cutover expects {}/{}",
            self.actual.blue, self.actual.green, self.expected.blue, self.expected.green
        )
    }
}

/// Whether two sets of weights split traffic the same way (`1/3` is `25/75`; `0/0`, no traffic
/// at all, only equals itself).
pub fn same_split(a: Weights, b: Weights) -> bool {
    let zero = |w: Weights| w.blue == 0 && w.green == 0;
    if zero(a) || zero(b) {
        return zero(a) && zero(b);
    }
    u64::from(a.blue) * u64::from(b.green) == u64::from(a.green) * u64::from(b.blue)
}

/// `Some(Drift)` when the weights read back do not give the expected split.
pub fn reconcile(expected: Weights, actual: Weights) -> Option<Drift> {
    (!same_split(expected, actual)).then_some(Drift { expected, actual })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(blue: u32, green: u32) -> Weights {
        Weights { blue, green }
    }

    #[test]
    fn splits_compare_by_ratio() {
        assert!(same_split(w(25, 75), w(1, 3)));
        assert!(same_split(w(0, 100), w(0, 1)));
        assert!(same_split(w(100, 0), w(256, 0)));
        assert!(!same_split(w(0, 100), w(0, 0)));
        assert!(same_split(w(0, 0), w(0, 0)));
        assert!(!same_split(w(25, 75), w(10, 90)));
    }

    #[test]
    fn drift_message() {
        assert_eq!(reconcile(w(25, 75), w(25, 75)), None);
        let d = reconcile(w(25, 75), w(10, 90)).unwrap();
        assert_eq!(d.to_string(), "router says 10/90, cutover expects 25/75");
    }
}

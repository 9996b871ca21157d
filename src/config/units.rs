//! Whether an objective or a trigger threshold is written in a unit its SLI is measured in, and
//! within the values the SLI can take: `"> 5"` on an error ratio reads as 500 % and can never be
//! crossed, `"<= 2%"` on a latency compares seconds with a ratio.

use crate::domain::sli::SliKind;
use crate::domain::slo::{Objective, Unit};

/// What an SLI measures, for messages and for the units it may be written in.
struct Measure {
    what: &'static str,
    units: &'static [Unit],
    spelled: &'static str,
    example: &'static str,
    /// The largest value (base units) the SLI can take, when bounded.
    max: Option<f64>,
}

fn measure(sli: SliKind) -> Measure {
    match sli {
        SliKind::ErrorRatio | SliKind::Availability => {
            Measure { what: "a ratio", units: &[Unit::Percent], spelled: "%", example: "< 1%", max: Some(1.0) }
        }
        SliKind::P95Latency | SliKind::EventLatencyP95 => Measure {
            what: "a latency",
            units: &[Unit::Seconds, Unit::Millis],
            spelled: "s or ms",
            example: "<= 2s",
            max: None,
        },
        SliKind::Throughput => {
            Measure { what: "a rate", units: &[Unit::PerSecond], spelled: "/s", example: ">= 200/s", max: None }
        }
    }
}

/// `None` when `o` (as written in `text`) fits `sli`; else what is wrong and how to write it.
pub fn unit_problem(sli: SliKind, o: &Objective, text: &str) -> Option<String> {
    let m = measure(sli);
    // An SLI without a unit takes plain numbers; none of today's SLIs is one.
    if m.units.is_empty() {
        return None;
    }
    let how = format!("sli {:?} is {}: write it in {} (like {:?})", sli.key(), m.what, m.spelled, m.example);
    if o.unit == Unit::Plain {
        return Some(format!("{text:?} has no unit; {how}"));
    }
    if !m.units.contains(&o.unit) {
        return Some(format!("{text:?} is not in the SLI's unit; {how}"));
    }
    if o.threshold < 0.0 {
        return Some(format!("{text:?}: {} is never negative", m.what));
    }
    if let Some(max) = m.max
        && o.threshold > max
    {
        return Some(format!("{text:?}: {} is from 0% to 100%", m.what));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(sli: SliKind, text: &str) -> Option<String> {
        unit_problem(sli, &text.parse().unwrap(), text)
    }

    #[test]
    fn objectives_in_the_slis_unit_pass() {
        for (sli, text) in [
            (SliKind::ErrorRatio, "< 1%"),
            (SliKind::Availability, ">= 99.9%"),
            (SliKind::Availability, "<= 100%"),
            (SliKind::P95Latency, "<= 2s"),
            (SliKind::EventLatencyP95, "<= 500ms"),
            (SliKind::Throughput, ">= 200/s"),
            (SliKind::ErrorRatio, "> 0%"),
        ] {
            assert_eq!(problem(sli, text), None, "{text}");
        }
    }

    #[test]
    fn unitless_wrong_unit_and_out_of_range_are_named() {
        let e = problem(SliKind::ErrorRatio, "> 5").unwrap();
        assert!(e.contains("has no unit") && e.contains("write it in %"), "{e}");
        let e = problem(SliKind::P95Latency, "<= 2%").unwrap();
        assert!(e.contains("not in the SLI's unit") && e.contains("s or ms"), "{e}");
        let e = problem(SliKind::Throughput, ">= 2s").unwrap();
        assert!(e.contains("/s"), "{e}");
        let e = problem(SliKind::ErrorRatio, "< -1%").unwrap();
        assert!(e.contains("never negative"), "{e}");
        let e = problem(SliKind::ErrorRatio, "< 150%").unwrap();
        assert!(e.contains("from 0% to 100%"), "{e}");
        let e = problem(SliKind::P95Latency, "< -1s").unwrap();
        assert!(e.contains("a latency is never negative"), "{e}");
    }
}

//! Service level objectives: how a signal is judged, and the honest states a
//! reading can be in. No data is not zero, an error is not a breach, and old
//! data is not fresh data.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::env::Env;
use super::time::Ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "≤",
            Cmp::Gt => ">",
            Cmp::Ge => "≥",
        }
    }
}

/// The unit an objective is written in. Values are always held in base units:
/// a ratio (0.01 for 1 %), seconds, or events per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Seconds,
    Millis,
    PerSecond,
    Plain,
}

impl Unit {
    fn scale(self) -> f64 {
        match self {
            Unit::Percent => 100.0,
            Unit::Millis => 1000.0,
            _ => 1.0,
        }
    }

    /// Formats a base-unit value in this unit, with precision that suits it.
    pub fn format(self, v: f64) -> String {
        self.format_with(v, self.decimals(v))
    }

    /// The decimals [`Unit::format`] uses for `v` (base units).
    fn decimals(self, v: f64) -> usize {
        let x = v * self.scale();
        match self {
            Unit::Percent if x != 0.0 && x.abs() < 0.01 => 3,
            Unit::Percent | Unit::Seconds => 2,
            Unit::Millis => 0,
            Unit::PerSecond if x.abs() < 10.0 => 1,
            Unit::PerSecond => 0,
            Unit::Plain => 3,
        }
    }

    /// Formats a base-unit value in this unit with `decimals` digits after the point.
    /// Infinities and NaN are named, never shown as numbers.
    pub fn format_with(self, v: f64, decimals: usize) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{:.*}{}", decimals, v * self.scale(), self.suffix())
    }

    /// Formats `v` (base units) with as many digits as it takes for the shown figure to be judged
    /// against `cmp threshold` as `v` itself is, and not to look equal to the threshold unless it
    /// is: `99.897%` against `≥ 99.9%`, not `99.90%`; `0.996%` against `< 1%`, not `1.00%`.
    pub fn format_against(self, v: f64, cmp: Cmp, threshold: f64) -> String {
        let base = self.decimals(v);
        if !v.is_finite() || !threshold.is_finite() {
            return self.format_with(v, base);
        }
        let scale = self.scale();
        let (x, thr) = (v * scale, threshold * scale);
        // Thresholds are parsed from text and scaled, so 99.9 % may be 99.89999999999999: equal
        // within a few ulps is equal.
        let tol = thr.abs().max(1.0) * 1e-12;
        let exact = (x - thr).abs() <= tol;
        let judge = |y: f64| {
            let eq = (y - thr).abs() <= tol;
            match cmp {
                Cmp::Lt => y < thr && !eq,
                Cmp::Le => y < thr || eq,
                Cmp::Gt => y > thr && !eq,
                Cmp::Ge => y > thr || eq,
            }
        };
        let truth = judge(x);
        // Enough for any threshold written in a config; beyond it the figure is shown as is.
        for d in base..=base + 9 {
            let text = format!("{x:.d$}");
            let shown: f64 = text.parse().unwrap_or(x);
            let looks_equal = (shown - thr).abs() <= tol;
            if judge(shown) == truth && (!looks_equal || exact) {
                return format!("{text}{}", self.suffix());
            }
        }
        self.format_with(v, base + 9)
    }

    fn suffix(self) -> &'static str {
        match self {
            Unit::Percent => "%",
            Unit::Seconds => "s",
            Unit::Millis => "ms",
            Unit::PerSecond => "/s",
            Unit::Plain => "",
        }
    }
}

/// A target such as `< 1%`, `<= 2.0s`, `>= 99.9%`, `<= 500ms`, `>= 200/s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub cmp: Cmp,
    /// Threshold in base units.
    pub threshold: f64,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectiveError {
    #[error("objective is empty; write it like \"< 1%\", \"<= 2.0s\", \">= 200/s\"")]
    Empty,
    #[error("objective {0:?} must start with <, <=, > or >= (≤ and ≥ work too)")]
    NoComparison(String),
    #[error("objective {0:?} has no number after the comparison")]
    NoNumber(String),
    #[error("objective {text:?}: unknown unit {unit:?}; use %, s, ms, /s or none")]
    UnknownUnit { text: String, unit: String },
}

impl FromStr for Objective {
    type Err = ObjectiveError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        if t.is_empty() {
            return Err(ObjectiveError::Empty);
        }
        let (cmp, rest) = if let Some(r) = t.strip_prefix("<=").or_else(|| t.strip_prefix('≤')) {
            (Cmp::Le, r)
        } else if let Some(r) = t.strip_prefix(">=").or_else(|| t.strip_prefix('≥')) {
            (Cmp::Ge, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (Cmp::Lt, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (Cmp::Gt, r)
        } else {
            return Err(ObjectiveError::NoComparison(text.into()));
        };
        let rest = rest.trim();
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            .unwrap_or(rest.len());
        let (num, unit_text) = rest.split_at(num_end);
        let number: f64 = num.parse().map_err(|_| ObjectiveError::NoNumber(text.into()))?;
        if !number.is_finite() {
            return Err(ObjectiveError::NoNumber(text.into()));
        }
        let unit = match unit_text.trim() {
            "%" => Unit::Percent,
            "s" => Unit::Seconds,
            "ms" => Unit::Millis,
            "/s" | "rps" | "req/s" => Unit::PerSecond,
            "" => Unit::Plain,
            other => {
                return Err(ObjectiveError::UnknownUnit { text: text.into(), unit: other.into() });
            }
        };
        Ok(Objective { cmp, threshold: number / unit.scale(), unit })
    }
}

impl Objective {
    /// Whether `value` (base units) meets the objective. NaN never does.
    pub fn holds(&self, value: f64) -> bool {
        match self.cmp {
            Cmp::Lt => value < self.threshold,
            Cmp::Le => value <= self.threshold,
            Cmp::Gt => value > self.threshold,
            Cmp::Ge => value >= self.threshold,
        }
    }

    /// `v` in the objective's unit, with enough digits never to look equal to the threshold
    /// unless it is (see [`Unit::format_against`]).
    pub fn format_value(&self, v: f64) -> String {
        self.unit.format_against(v, self.cmp, self.threshold)
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.threshold * self.unit.scale();
        // Print the threshold as written: no trailing zeros beyond what it needs.
        let num = format!("{x}");
        write!(f, "{} {}{}", self.cmp.symbol(), num, self.unit.suffix())
    }
}

/// How an SLO with two environments is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Judge {
    /// Each environment on its own (error rate, latency, availability).
    #[default]
    PerEnv,
    /// The sum over both environments (a system-wide throughput target).
    Sum,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    pub name: String,
    pub objective: Objective,
    pub judge: Judge,
    /// How often the source is expected to deliver; stale after twice this.
    pub interval_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SloState {
    Ok,
    Breach,
    NoData,
    Error,
    Stale,
}

impl SloState {
    pub fn label(self) -> &'static str {
        match self {
            SloState::Ok => "ok",
            SloState::Breach => "breach",
            SloState::NoData => "no data",
            SloState::Error => "error",
            SloState::Stale => "stale",
        }
    }
}

/// What a source said about one SLO for one environment at one time.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Value(f64),
    /// The source answered but had nothing to say (empty result, empty window).
    NoData,
    /// The source answered but too little happened in the window to judge (`37 requests in 60s
    /// < 100`): no data, with the reason.
    TooFew(String),
    Error(String),
}

/// Points kept for the sparkline and detail views.
pub const HISTORY_LEN: usize = 240;

/// One SLO for one environment: the latest outcome and a short history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloCell {
    /// Latest numeric value and when it was read.
    pub value: Option<(Ts, f64)>,
    /// When the source last answered without error (value or no data).
    pub last_success: Option<Ts>,
    /// The latest success was "no data".
    pub no_data: bool,
    /// Why the latest success was "no data", when the source said (too few requests).
    pub no_data_reason: Option<String>,
    pub last_error: Option<(Ts, String)>,
    pub consecutive_errors: u32,
    pub history: VecDeque<(Ts, f64)>,
}

impl SloCell {
    pub fn record(&mut self, at: Ts, outcome: Outcome) {
        match outcome {
            // An infinity is not a value: a -Inf error rate is not "ok", a +Inf throughput is not
            // "ok". The source answered with something that cannot be judged.
            Outcome::Value(v) if v.is_infinite() => {
                let sign = if v > 0.0 { "+Inf" } else { "-Inf" };
                self.record(at, Outcome::Error(format!("not a finite number: {sign}")));
            }
            // NaN is what 0/0 gives (no requests): nothing to judge.
            Outcome::Value(v) if v.is_nan() => self.record(at, Outcome::TooFew("not a number (NaN)".into())),
            Outcome::Value(v) => {
                self.value = Some((at, v));
                self.last_success = Some(at);
                self.no_data = false;
                self.no_data_reason = None;
                self.consecutive_errors = 0;
                if self.history.len() == HISTORY_LEN {
                    self.history.pop_front();
                }
                self.history.push_back((at, v));
            }
            Outcome::NoData => {
                self.last_success = Some(at);
                self.no_data = true;
                self.no_data_reason = None;
                self.consecutive_errors = 0;
            }
            Outcome::TooFew(why) => {
                self.last_success = Some(at);
                self.no_data = true;
                self.no_data_reason = Some(why);
                self.consecutive_errors = 0;
            }
            Outcome::Error(e) => {
                self.last_error = Some((at, e));
                self.consecutive_errors += 1;
            }
        }
    }

    /// Why the cell stands where it does when it has no value to show: the error, the staleness,
    /// or the reason for no data; `None` for a value.
    pub fn why(&self, spec: &SloSpec, now: Ts) -> Option<String> {
        match self.current(spec, now) {
            Ok(_) => None,
            Err(SloState::Error) => self.last_error.as_ref().map(|(_, e)| e.clone()),
            Err(SloState::Stale) => {
                let age = self.age(now).map_or_else(|| "–".to_string(), super::time::format_age);
                let last = self.last_error.as_ref().map(|(_, e)| format!(": {e}")).unwrap_or_default();
                Some(format!("no answer for {age}{last}"))
            }
            Err(_) => self.no_data_reason.clone(),
        }
    }

    /// Fills the sparkline with history read afterwards (a range query at start). Only
    /// points older than anything already held are taken; the current value is untouched.
    pub fn backfill(&mut self, points: &[(Ts, f64)]) {
        let first = self.history.front().map(|(t, _)| *t);
        let older: Vec<(Ts, f64)> =
            points.iter().filter(|(t, v)| v.is_finite() && first.is_none_or(|f| *t < f)).copied().collect();
        for p in older.into_iter().rev() {
            if self.history.len() == HISTORY_LEN {
                break;
            }
            self.history.push_front(p);
        }
    }

    /// The state of this cell at `now`, judged against `spec`.
    pub fn state(&self, spec: &SloSpec, now: Ts) -> SloState {
        match self.current(spec, now) {
            Err(state) => state,
            Ok(v) => {
                if spec.objective.holds(v) {
                    SloState::Ok
                } else {
                    SloState::Breach
                }
            }
        }
    }

    /// The value that counts now, or the state that stands in for it.
    pub fn current(&self, spec: &SloSpec, now: Ts) -> Result<f64, SloState> {
        let Some(success) = self.last_success else {
            return Err(if self.consecutive_errors > 0 { SloState::Error } else { SloState::NoData });
        };
        if now.0 - success.0 > 2 * spec.interval_ms {
            return Err(SloState::Stale);
        }
        if self.consecutive_errors > 0 {
            return Err(SloState::Error);
        }
        if self.no_data {
            return Err(SloState::NoData);
        }
        match self.value {
            Some((_, v)) => Ok(v),
            None => Err(SloState::NoData),
        }
    }

    /// Seconds since the value now shown was read.
    pub fn age(&self, now: Ts) -> Option<f64> {
        self.last_success.map(|t| now.secs_since(t).max(0.0))
    }
}

/// An SLO with a cell per environment.
#[derive(Debug, Clone, PartialEq)]
pub struct SloRow {
    pub spec: SloSpec,
    pub cells: [SloCell; 2],
    /// How each environment's number is made (a resolved query, a derivation), for the detail view.
    pub how: [String; 2],
}

impl SloRow {
    pub fn new(spec: SloSpec) -> Self {
        SloRow { spec, cells: Default::default(), how: Default::default() }
    }

    pub fn cell(&self, env: Env) -> &SloCell {
        &self.cells[env.index()]
    }

    /// The state of one environment. For a `Sum` SLO an environment's own value is
    /// informative only; its state is that of the sum.
    pub fn env_state(&self, env: Env, now: Ts) -> SloState {
        match self.spec.judge {
            Judge::PerEnv => self.cell(env).state(&self.spec, now),
            Judge::Sum => self.sum_state(now),
        }
    }

    /// The sum over environments, when both have a value.
    pub fn sum(&self, now: Ts) -> Result<f64, SloState> {
        let mut total = 0.0;
        let mut worst: Option<SloState> = None;
        for cell in &self.cells {
            match cell.current(&self.spec, now) {
                Ok(v) => total += v,
                Err(s) => worst = Some(worse(worst, s)),
            }
        }
        match worst {
            None => Ok(total),
            Some(s) => Err(s),
        }
    }

    pub fn sum_state(&self, now: Ts) -> SloState {
        match self.sum(now) {
            Ok(v) if self.spec.objective.holds(v) => SloState::Ok,
            Ok(_) => SloState::Breach,
            Err(s) => s,
        }
    }

    /// Blue's difference to green in percent of green's value.
    pub fn blue_vs_green(&self, now: Ts) -> Option<f64> {
        let b = self.cells[0].current(&self.spec, now).ok()?;
        let g = self.cells[1].current(&self.spec, now).ok()?;
        if !b.is_finite() || !g.is_finite() {
            return None;
        }
        // Against a green of exactly zero any blue above it is infinitely worse, not unknown.
        Some(match (b == g, g == 0.0) {
            (true, _) => 0.0,
            (false, true) => f64::INFINITY.copysign(b),
            (false, false) => (b - g) / g.abs() * 100.0,
        })
    }
}

fn worse(a: Option<SloState>, b: SloState) -> SloState {
    let rank = |s: SloState| match s {
        SloState::Ok => 0,
        SloState::NoData => 1,
        SloState::Breach => 2,
        SloState::Stale => 3,
        SloState::Error => 4,
    };
    match a {
        Some(a) if rank(a) >= rank(b) => a,
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(obj: &str) -> SloSpec {
        SloSpec { name: "x".into(), objective: obj.parse().unwrap(), judge: Judge::PerEnv, interval_ms: 1000 }
    }

    #[test]
    fn objectives_parse_into_base_units() {
        let o: Objective = "< 1%".parse().unwrap();
        assert_eq!((o.cmp, o.threshold, o.unit), (Cmp::Lt, 0.01, Unit::Percent));
        let o: Objective = "<= 2.0s".parse().unwrap();
        assert_eq!((o.cmp, o.threshold), (Cmp::Le, 2.0));
        let o: Objective = ">= 99.9%".parse().unwrap();
        assert!((o.threshold - 0.999).abs() < 1e-12);
        let o: Objective = "<=500ms".parse().unwrap();
        assert_eq!((o.threshold, o.unit), (0.5, Unit::Millis));
        let o: Objective = "≥ 200/s".parse().unwrap();
        assert_eq!((o.cmp, o.threshold, o.unit), (Cmp::Ge, 200.0, Unit::PerSecond));
    }

    #[test]
    fn bad_objectives_say_what_is_wrong() {
        assert_eq!("".parse::<Objective>(), Err(ObjectiveError::Empty));
        assert!(matches!("1%".parse::<Objective>(), Err(ObjectiveError::NoComparison(_))));
        assert!(matches!("< %".parse::<Objective>(), Err(ObjectiveError::NoNumber(_))));
        let e = "< 1 parsecs".parse::<Objective>().unwrap_err();
        assert!(e.to_string().contains("parsecs"), "{e}");
    }

    #[test]
    fn objective_display_round_trips_the_written_form() {
        assert_eq!("< 1%".parse::<Objective>().unwrap().to_string(), "< 1%");
        assert_eq!(">= 99.9%".parse::<Objective>().unwrap().to_string(), "≥ 99.9%");
        assert_eq!("<= 2.0s".parse::<Objective>().unwrap().to_string(), "≤ 2s");
        assert_eq!("<= 500ms".parse::<Objective>().unwrap().to_string(), "≤ 500ms");
    }

    #[test]
    fn comparisons_are_strict_or_not_as_written() {
        let lt: Objective = "< 1%".parse().unwrap();
        assert!(lt.holds(0.0099) && !lt.holds(0.01));
        let le: Objective = "<= 1%".parse().unwrap();
        assert!(le.holds(0.01));
        assert!(!le.holds(f64::NAN));
    }

    #[test]
    fn states_are_honest() {
        let s = spec("< 1%");
        let mut c = SloCell::default();
        assert_eq!(c.state(&s, Ts(0)), SloState::NoData, "nothing read yet");
        c.record(Ts(1000), Outcome::Value(0.004));
        assert_eq!(c.state(&s, Ts(1500)), SloState::Ok);
        c.record(Ts(2000), Outcome::Value(0.02));
        assert_eq!(c.state(&s, Ts(2500)), SloState::Breach);
        c.record(Ts(3000), Outcome::NoData);
        assert_eq!(c.state(&s, Ts(3500)), SloState::NoData, "no data is not zero");
        c.record(Ts(4000), Outcome::Error("boom".into()));
        assert_eq!(c.state(&s, Ts(4500)), SloState::Error, "an error is not a breach");
        assert_eq!(c.consecutive_errors, 1);
        assert_eq!(c.state(&s, Ts(5001)), SloState::Stale, "no success for 2x the interval");
        c.record(Ts(6000), Outcome::Value(0.001));
        assert_eq!(c.state(&s, Ts(6000)), SloState::Ok);
        assert_eq!(c.consecutive_errors, 0);
    }

    #[test]
    fn errors_before_any_success_are_errors_not_stale() {
        let s = spec("< 1%");
        let mut c = SloCell::default();
        c.record(Ts(0), Outcome::Error("refused".into()));
        assert_eq!(c.state(&s, Ts(60_000)), SloState::Error);
    }

    #[test]
    fn sum_judges_the_total_and_needs_both() {
        let mut row = SloRow::new(SloSpec { judge: Judge::Sum, ..spec(">= 200/s") });
        row.cells[0].record(Ts(0), Outcome::Value(30.0));
        assert_eq!(row.sum_state(Ts(0)), SloState::NoData);
        row.cells[1].record(Ts(0), Outcome::Value(180.0));
        assert_eq!(row.sum(Ts(0)), Ok(210.0));
        assert_eq!(row.env_state(Env::Blue, Ts(0)), SloState::Ok, "blue alone is below 200/s but the sum holds");
        row.cells[1].record(Ts(0), Outcome::Value(150.0));
        assert_eq!(row.sum_state(Ts(0)), SloState::Breach);
    }

    #[test]
    fn blue_vs_green_in_percent() {
        let mut row = SloRow::new(spec("<= 2s"));
        row.cells[0].record(Ts(0), Outcome::Value(0.9));
        row.cells[1].record(Ts(0), Outcome::Value(0.6));
        assert!((row.blue_vs_green(Ts(0)).unwrap() - 50.0).abs() < 1e-9);
        row.cells[1].record(Ts(1), Outcome::Value(0.0));
        assert_eq!(row.blue_vs_green(Ts(1)), Some(f64::INFINITY), "blue errs where green never does");
        row.cells[0].record(Ts(2), Outcome::Value(0.0));
        assert_eq!(row.blue_vs_green(Ts(2)), Some(0.0), "both at zero: no difference");
        row.cells[0].record(Ts(3), Outcome::NoData);
        assert_eq!(row.blue_vs_green(Ts(3)), None, "no data on one side: nothing to compare");
    }

    #[test]
    fn backfill_goes_before_what_is_held_and_leaves_the_state_alone() {
        let s = spec("< 1%");
        let mut c = SloCell::default();
        c.record(Ts(10_000), Outcome::Value(0.002));
        c.backfill(&[(Ts(8_000), 0.001), (Ts(9_000), f64::NAN), (Ts(9_500), 0.003), (Ts(12_000), 0.5)]);
        let h: Vec<_> = c.history.iter().map(|(t, _)| t.0).collect();
        assert_eq!(h, vec![8_000, 9_500, 10_000], "older finite points only, in order");
        assert_eq!(c.state(&s, Ts(10_500)), SloState::Ok, "the current value is untouched");
        let mut empty = SloCell::default();
        empty.backfill(&[(Ts(1), 0.5)]);
        assert_eq!(empty.state(&s, Ts(2)), SloState::NoData, "history is not a reading");
    }

    #[test]
    fn history_is_bounded() {
        let mut c = SloCell::default();
        for i in 0..(HISTORY_LEN as i64 + 10) {
            c.record(Ts(i), Outcome::Value(i as f64));
        }
        assert_eq!(c.history.len(), HISTORY_LEN);
        assert_eq!(c.history.back().unwrap().1, (HISTORY_LEN + 9) as f64);
    }

    #[test]
    fn infinities_are_errors_with_the_reason_never_values() {
        for (obj, v, sign) in [
            ("< 1%", f64::NEG_INFINITY, "-Inf"),
            (">= 99.9%", f64::INFINITY, "+Inf"),
            (">= 200/s", f64::INFINITY, "+Inf"),
        ] {
            let s = spec(obj);
            let mut c = SloCell::default();
            c.record(Ts(0), Outcome::Value(0.5));
            c.record(Ts(1000), Outcome::Value(v));
            assert_eq!(c.state(&s, Ts(1000)), SloState::Error, "{obj} at {v}");
            assert_eq!(c.why(&s, Ts(1000)), Some(format!("not a finite number: {sign}")));
            assert!(c.history.iter().all(|(_, x)| x.is_finite()), "no infinity in the sparkline");
        }
        let s = spec("< 1%");
        let mut c = SloCell::default();
        c.record(Ts(0), Outcome::Value(f64::NAN));
        assert_eq!(c.state(&s, Ts(0)), SloState::NoData, "NaN (0/0) is nothing to judge");
        assert_eq!(c.why(&s, Ts(0)).as_deref(), Some("not a number (NaN)"));
    }

    #[test]
    fn too_few_is_no_data_with_the_reason_and_hides_the_old_value() {
        let s = spec("<= 2s");
        let mut c = SloCell::default();
        c.record(Ts(0), Outcome::Value(0.2));
        c.record(Ts(1000), Outcome::TooFew("37 requests in 60s < 100".into()));
        assert_eq!(c.current(&s, Ts(1000)), Err(SloState::NoData));
        assert_eq!(c.why(&s, Ts(1000)).as_deref(), Some("37 requests in 60s < 100"));
        c.record(Ts(2000), Outcome::Value(0.3));
        assert_eq!((c.state(&s, Ts(2000)), c.why(&s, Ts(2000))), (SloState::Ok, None));
        c.record(Ts(3000), Outcome::NoData);
        assert_eq!(c.why(&s, Ts(3000)), None, "a plain no data has no reason to give");
    }

    #[test]
    fn values_never_look_equal_to_an_objective_they_miss() {
        let f = |obj: &str, v: f64| obj.parse::<Objective>().unwrap().format_value(v);
        assert_eq!(f(">= 99.9%", 0.99897), "99.897%", "a breach does not round up onto the threshold");
        assert_eq!(f(">= 99.9%", 0.99982), "99.98%", "the usual digits when they tell the truth");
        assert_eq!(f(">= 99.9%", 0.999), "99.90%", "exactly the threshold may look like it");
        assert_eq!(f("< 1%", 0.00996), "0.996%", "an ok value does not round onto the threshold");
        assert_eq!(f("< 1%", 0.01004), "1.004%");
        assert_eq!(f("< 1%", 0.01), "1.00%", "at a strict threshold: a breach, and shown as it is");
        assert_eq!(f("<= 2s", 2.004), "2.004s");
        assert_eq!(f("<= 500ms", 0.5004), "500.4ms");
        assert_eq!(f(">= 200/s", 199.6), "199.6/s");
        assert_eq!(f(">= 200/s", 212.4), "212/s");
        assert_eq!(f("< 1%", f64::INFINITY), "+Inf");
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            /// The figure shown, read back, is judged as the value itself is, and only looks equal
            /// to the threshold when the value is the threshold.
            #[test]
            fn shown_figures_are_judged_like_the_value(
                thr in 0.001f64..1000.0,
                delta in -0.01f64..0.01,
                unit in 0usize..4,
                cmp in 0usize..4,
            ) {
                let (u, scale, suffix) = [(Unit::Percent, 100.0, "%"), (Unit::Seconds, 1.0, "s"), (Unit::Millis, 1000.0, "ms"), (Unit::PerSecond, 1.0, "/s")][unit];
                let cmp = [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge][cmp];
                let o = Objective { cmp, threshold: thr / scale, unit: u };
                let v = o.threshold * (1.0 + delta);
                let text = o.format_value(v);
                let shown: f64 = text.trim_end_matches(suffix).parse().unwrap();
                let back = Objective { threshold: o.threshold * scale, unit: Unit::Plain, ..o };
                if v != o.threshold {
                    prop_assert_eq!(back.holds(shown), o.holds(v), "{} for {} against {}", text, v, o);
                }
            }
        }
    }

    #[test]
    fn units_format_for_humans() {
        assert_eq!(Unit::Percent.format(0.004), "0.40%");
        assert_eq!(Unit::Percent.format(0.99982), "99.98%");
        assert_eq!(Unit::Seconds.format(0.812), "0.81s");
        assert_eq!(Unit::Millis.format(0.21), "210ms");
        assert_eq!(Unit::PerSecond.format(212.4), "212/s");
        assert_eq!(Unit::PerSecond.format(f64::NAN), "NaN");
    }
}

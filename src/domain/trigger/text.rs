//! What the triggers panel, the reason view and the log say about a trigger.

use super::spec::{Condition, Reference, TriggerSpec};
use super::state::{Effect, Phase, Sample, Seen, TriggerEvent, TriggerState};
use crate::domain::env::{Env, EnvNames};
use crate::domain::slo::{SloRow, Unit};
use crate::domain::time::Ts;

/// A countdown as the panel shows it: `3:48`, `30:00`, `1:02:03`. Rounds up to the second, so
/// `0:00` means "due at the next evaluation".
pub fn format_countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A duration as written in a trigger: `10m`, `6m12s`, `45s`, `1h`, `1h30m`, `500ms`. Rounds down.
pub fn format_span(ms: i64) -> String {
    let ms = ms.max(0);
    if ms > 0 && ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    match (h, m, sec) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m:02}m"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

/// Time of day `14:02:11` of `ts`, at `utc_offset_secs` from UTC (the caller knows the zone).
pub fn clock(ts: Ts, utc_offset_secs: i32) -> String {
    let t = (ts.0.div_euclid(1000) + i64::from(utc_offset_secs)).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", t / 3600, t % 3600 / 60, t % 60)
}

/// A value in `unit` without trailing zeros: `5%`, `1.5s`, `200/s`.
fn compact(unit: Unit, v: f64) -> String {
    let text = unit.format(v);
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(text.len());
    let (num, suffix) = text.split_at(end);
    if num.contains('.') { format!("{}{suffix}", num.trim_end_matches('0').trim_end_matches('.')) } else { text }
}

/// A reading with enough digits to be on the side of `limit` it is on: `5.003% > 5%`, never
/// `5.00% > 5%`.
fn against(unit: Unit, spec: &TriggerSpec, value: f64, limit: f64) -> String {
    let cmp = match spec.condition {
        Condition::Threshold { cmp: super::spec::Direction::Below, .. } => crate::domain::slo::Cmp::Lt,
        _ => crate::domain::slo::Cmp::Gt,
    };
    unit.format_against(value, cmp, limit)
}

/// What the texts need besides the trigger: names, units, and the time zone for times of day.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub env_names: &'a EnvNames,
    pub slos: &'a [SloRow],
    pub utc_offset_secs: i32,
}

impl Labels<'_> {
    fn env(&self, env: Env) -> &str {
        self.env_names.name(env)
    }

    fn unit(&self, slo: usize) -> Unit {
        self.slos.get(slo).map_or(Unit::Plain, |r| r.spec.objective.unit)
    }

    fn slo_name(&self, slo: usize) -> String {
        self.slos.get(slo).map_or_else(|| format!("SLO #{slo}"), |r| r.spec.name.clone())
    }

    fn clock(&self, ts: Ts) -> String {
        clock(ts, self.utc_offset_secs)
    }
}

/// A trigger's progress for the panel (and `status --json`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Progress {
    pub phase: Phase,
    pub manual: bool,
    /// Breach time of the current streak (see [`TriggerState::elapsed_ms`]).
    pub elapsed_ms: i64,
    pub for_ms: i64,
    /// `elapsed_ms / for_ms` in 0..=1; 1 while firing, 0 while inactive.
    pub fraction: f64,
    /// While pending: time left (paused while held).
    pub fires_in_ms: Option<i64>,
    pub held: bool,
    /// Breach streaks this stage.
    pub breaches: u32,
    /// The watched input when the latest evaluation could not read it: what, and since when.
    pub input: Option<InputTrouble>,
}

/// Why a trigger could not read its input, since when, and what its policy made of it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct InputTrouble {
    /// `input error`, `input stale` or `no data`.
    pub what: &'static str,
    /// The first of the latest run of evaluations that could not read it.
    pub since: Ts,
    /// The policy that applied (`hold`, `reset`, `breach`).
    pub policy: Option<super::spec::Policy>,
}

impl Progress {
    /// A word or two for the panel: `ok`, `fires in 3:48`, `held 3:48 left`, `FIRING`,
    /// `cleared · ack`, `firing · acked`, `RAISED`, `not raised`.
    pub fn status_text(&self) -> String {
        self.status_with(None)
    }

    /// [`Progress::status_text`] with the time the input went bad, at the labels' time zone:
    /// `holding: input error since 14:02`, never `ok` on an input that cannot be read.
    pub fn status_text_at(&self, labels: &Labels) -> String {
        self.status_with(Some(labels))
    }

    fn status_with(&self, labels: Option<&Labels>) -> String {
        match self.phase {
            Phase::Inactive if self.manual => "not raised".into(),
            Phase::Inactive if self.input.is_some() => {
                let Some(trouble) = self.input else { return "ok".into() };
                let word = match trouble.policy {
                    Some(super::spec::Policy::Reset) => "reset",
                    _ => "holding",
                };
                let since = labels.map(|l| format!(" since {}", &l.clock(trouble.since)[..5])).unwrap_or_default();
                format!("{word}: {}{since}", trouble.what)
            }
            Phase::Inactive => "ok".into(),
            Phase::Pending { .. } => {
                let left = format_countdown(self.fires_in_ms.unwrap_or(0));
                if self.held { format!("held {left} left") } else { format!("fires in {left}") }
            }
            Phase::Firing { cleared_at: Some(_), .. } => "cleared · ack".into(),
            Phase::Firing { acknowledged: true, .. } => {
                if self.manual {
                    "raised · acked".into()
                } else {
                    "firing · acked".into()
                }
            }
            Phase::Firing { .. } => {
                if self.manual {
                    "RAISED".into()
                } else {
                    "FIRING".into()
                }
            }
        }
    }
}

impl TriggerState {
    /// While pending: the time left until the trigger fires if the breach holds (paused while held).
    /// `None` when inactive or firing.
    pub fn fires_in(&self, spec: &TriggerSpec, now: Ts) -> Option<i64> {
        match self.phase() {
            Phase::Pending { .. } => Some((spec.for_ms - self.elapsed_ms(now)).max(0)),
            _ => None,
        }
    }

    pub fn progress(&self, spec: &TriggerSpec, now: Ts) -> Progress {
        let phase = self.phase();
        let elapsed_ms = self.elapsed_ms(now);
        let fraction = match phase {
            Phase::Inactive => 0.0,
            Phase::Firing { .. } => 1.0,
            Phase::Pending { .. } if spec.for_ms <= 0 => 1.0,
            Phase::Pending { .. } => (elapsed_ms as f64 / spec.for_ms as f64).clamp(0.0, 1.0),
        };
        Progress {
            phase,
            manual: spec.is_manual(),
            elapsed_ms,
            for_ms: spec.for_ms,
            fraction,
            fires_in_ms: self.fires_in(spec, now),
            held: self.is_held(),
            breaches: self.breaches(),
            input: if spec.is_manual() { None } else { self.input_trouble() },
        }
    }

    /// The latest run of evaluations that could not read the input (error, stale or no data),
    /// with when it began as far as the recent readings reach; `None` when the last one read it.
    pub fn input_trouble(&self) -> Option<InputTrouble> {
        let kind = |s: &Sample| match s {
            Sample::Error { stale: true, .. } => Some("input stale"),
            Sample::Error { .. } => Some("input error"),
            Sample::NoData { .. } => Some("no data"),
            Sample::Reading { .. } | Sample::Health { .. } => None,
        };
        let last = self.recent.back()?;
        let what = kind(&last.sample)?;
        let since =
            self.recent.iter().rev().take_while(|s| kind(&s.sample) == Some(what)).last().map_or(last.at, |s| s.at);
        Some(InputTrouble { what, since, policy: last.policy })
    }

    /// The last reading against its limit, short: `6.10% > 5%`, `1.31s > 1.5× 0.81s`, `6/6 down`,
    /// `no data · hold`, `stale · reset`; a raised manual trigger's reason.
    pub fn value_text(&self, spec: &TriggerSpec, labels: &Labels) -> String {
        if spec.is_manual() {
            return match &self.raised {
                Some(r) => r.reason.clone(),
                None => "–".into(),
            };
        }
        match self.last_seen() {
            None => "–".into(),
            Some(seen) => sample_short(seen, spec, labels),
        }
    }

    /// The derivation for the reason view, e.g.
    /// `blue error rate 6.10% > 5% since 14:02:11, 6m12s of 10m`.
    pub fn reason(&self, spec: &TriggerSpec, labels: &Labels, now: Ts) -> String {
        if spec.is_manual() {
            return match (&self.raised, &self.last_lowered) {
                (Some(r), _) => {
                    let ack = match self.firing.as_ref().and_then(|f| f.acknowledged.as_ref()) {
                        Some(a) => format!("; acknowledged by {} at {}", a.by, labels.clock(a.at)),
                        None => String::new(),
                    };
                    format!("raised by {} at {}: {}{ack}", r.by, labels.clock(r.at), r.reason)
                }
                (None, Some(l)) => format!("not raised; lowered by {} at {}: {}", l.by, labels.clock(l.at), l.reason),
                (None, None) => "not raised".into(),
            };
        }
        let what = subject(spec, labels);
        let reading = match self.last_seen() {
            None => return format!("{what}: not evaluated yet"),
            Some(seen) => sample_long(&seen.sample, spec, labels),
        };
        let since = self.streak.map(|s| s.since);
        let mut out = match (self.phase(), since) {
            (Phase::Pending { since }, _) => format!(
                "{what} {reading} since {}, {} of {}",
                labels.clock(since),
                format_span(self.elapsed_ms(now)),
                format_span(spec.for_ms)
            ),
            (Phase::Firing { since: fired, cleared_at: None, .. }, Some(since)) => format!(
                "{what} {reading} since {}, {} in breach; firing since {}",
                labels.clock(since),
                format_span(self.elapsed_ms(now)),
                labels.clock(fired)
            ),
            (Phase::Firing { since: fired, cleared_at: Some(cleared), .. }, _) => format!(
                "fired {}, cleared {}; now {what} {reading}; acknowledge to reset",
                labels.clock(fired),
                labels.clock(cleared)
            ),
            _ => format!("{what} {reading}"),
        };
        if let Some(a) = self.firing.as_ref().and_then(|f| f.acknowledged.as_ref()) {
            out.push_str(&format!("; acknowledged by {} at {}", a.by, labels.clock(a.at)));
        }
        if let Some(seen) = self.last_seen().filter(|s| s.policy.is_some()) {
            let policy = seen.policy.map_or("", |p| p.label());
            let held = match self.streak.and_then(|s| s.held_since) {
                Some(t) => format!(", held since {}", labels.clock(t)),
                None => String::new(),
            };
            out.push_str(&format!(" (policy {policy}{held})"));
        }
        if let Some(b) = self.baseline.filter(|_| is_baseline(spec)) {
            let unit = spec.condition.slo().map_or(Unit::Plain, |s| labels.unit(s));
            out.push_str(&format!("; baseline {} captured {}", unit.format(b.value), labels.clock(b.at)));
        }
        out
    }

    /// History numbers for the reason view: `2 breaches this stage, longest 6m12s, 9m40s in breach, fired 1×`.
    pub fn history_text(&self, now: Ts) -> String {
        let n = self.breaches();
        format!(
            "{n} breach{} this stage, longest {}, {} in breach, fired {}×",
            if n == 1 { "" } else { "es" },
            format_span(self.longest_streak_ms(now)),
            format_span(self.total_breach_ms(now)),
            self.history.fired
        )
    }
}

fn is_baseline(spec: &TriggerSpec) -> bool {
    matches!(spec.condition, Condition::Relative { reference: Reference::Baseline, .. })
}

/// `blue error rate`, `blue health`.
fn subject(spec: &TriggerSpec, labels: &Labels) -> String {
    match spec.condition {
        Condition::Threshold { slo, env, .. } | Condition::Relative { slo, env, .. } => {
            format!("{} {}", labels.env(env), labels.slo_name(slo))
        }
        Condition::Outage { env } => format!("{} health", labels.env(env)),
        Condition::Manual => spec.name.clone(),
    }
}

fn cmp_symbol(spec: &TriggerSpec, breach: bool) -> &'static str {
    let dir = match spec.condition {
        Condition::Threshold { cmp, .. } | Condition::Relative { cmp, .. } => cmp,
        _ => return if breach { ">" } else { "≤" },
    };
    if breach { dir.symbol() } else { dir.ok_symbol() }
}

fn sample_short(seen: &Seen, spec: &TriggerSpec, labels: &Labels) -> String {
    let policy = seen.policy.map_or("", |p| p.label());
    match &seen.sample {
        Sample::Reading { value, limit, reference, breach } => {
            let unit = spec.condition.slo().map_or(Unit::Plain, |s| labels.unit(s));
            let sym = cmp_symbol(spec, *breach);
            match (spec.condition, reference) {
                (Condition::Relative { factor, .. }, Some(r)) => {
                    format!("{} {sym} {factor}× {}", unit.format(*value), unit.format(*r))
                }
                _ => format!("{} {sym} {}", against(unit, spec, *value, *limit), compact(unit, *limit)),
            }
        }
        Sample::Health { down, total } => format!("{down}/{total} down"),
        Sample::NoData { .. } => format!("no data · {policy}"),
        Sample::Error { stale: true, .. } => format!("stale · {policy}"),
        Sample::Error { .. } => format!("error · {policy}"),
    }
}

fn sample_long(sample: &Sample, spec: &TriggerSpec, labels: &Labels) -> String {
    match sample {
        Sample::Reading { value, limit, reference, breach } => {
            let unit = spec.condition.slo().map_or(Unit::Plain, |s| labels.unit(s));
            let sym = cmp_symbol(spec, *breach);
            match (spec.condition, reference) {
                (Condition::Relative { factor, reference: which, env, .. }, Some(r)) => {
                    let of = match which {
                        Reference::OtherEnv => labels.env(env.other()).to_string(),
                        Reference::Baseline => "baseline".to_string(),
                    };
                    format!(
                        "{} {sym} {factor}× {of} {} ({})",
                        unit.format(*value),
                        unit.format(*r),
                        unit.format(*limit)
                    )
                }
                _ => format!("{} {sym} {}", against(unit, spec, *value, *limit), compact(unit, *limit)),
            }
        }
        Sample::Health { down, total } => format!("{down} of {total} checks down"),
        Sample::NoData { why } => format!("no data ({why})"),
        Sample::Error { why, .. } => format!("error ({why})"),
    }
}

impl Seen {
    /// One line of the recent readings: `14:02:11 6.10% > 5% breach` (`×12 until 14:03:00` when repeated).
    pub fn text(&self, spec: &TriggerSpec, labels: &Labels) -> String {
        let effect = match self.effect {
            Effect::Breach => "breach",
            Effect::Clear => "ok",
            Effect::Hold => "held",
        };
        let mut out = format!("{} {} {effect}", labels.clock(self.at), sample_long(&self.sample, spec, labels));
        if let Some(p) = self.policy {
            out.push_str(&format!(" (policy {})", p.label()));
        }
        if self.count > 1 {
            out.push_str(&format!(" ×{} until {}", self.count, labels.clock(self.last_at)));
        }
        out
    }
}

impl TriggerEvent {
    /// A line for the log: `immediate trigger "error rate > 5%" FIRED after 10m in breach`.
    pub fn text(&self, spec: &TriggerSpec) -> String {
        let t = format!("{} trigger {:?}", spec.tier.label(), spec.name);
        match self {
            TriggerEvent::Pending { while_firing: false, .. } => {
                format!("{t} pending: fires in {} if the breach holds", format_countdown(spec.for_ms))
            }
            TriggerEvent::Pending { while_firing: true, .. } => {
                format!("{t} breaching again (still firing, not acknowledged)")
            }
            TriggerEvent::Fired { after_ms, .. } => format!("{t} FIRED after {} in breach", format_span(*after_ms)),
            TriggerEvent::Cleared { cause, inactive: true, .. } => {
                format!("{t} cleared ({}); it was acknowledged, now inactive", cause.label())
            }
            TriggerEvent::Cleared { cause, .. } => {
                format!("{t} cleared ({}); still firing until acknowledged", cause.label())
            }
            TriggerEvent::Reset { after_ms, cause, .. } => {
                format!("{t} back to inactive after {} in breach ({})", format_span(*after_ms), cause.label())
            }
            TriggerEvent::Acknowledged { by, still_breaching: true, .. } => {
                format!("{t} acknowledged by {by}; still breaching, inactive once it clears")
            }
            TriggerEvent::Acknowledged { by, .. } => format!("{t} acknowledged by {by}; inactive"),
            TriggerEvent::Raised { by, reason, .. } => format!("{t} RAISED by {by}: {reason}"),
            TriggerEvent::Lowered { by, reason, .. } => format!("{t} lowered by {by}: {reason}"),
        }
    }
}

//! The go-live report for the retrospective: the audit log (and the runbook) as markdown.
//! Pure: the entries and the runbook come in, text goes out.

use std::fmt::Write;

use serde_json::Value;

use super::runbook::Runbook;
use super::time::{Ts, format_age};

/// One audit entry as the report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportEntry {
    pub when: Ts,
    /// `alice@ops1`.
    pub who: String,
    pub what: String,
    pub stage: Option<String>,
    pub detail: Value,
}

/// Everything the report is made of.
#[derive(Debug, Clone, Default)]
pub struct ReportInput<'a> {
    pub deployment: String,
    pub entries: Vec<ReportEntry>,
    /// Damaged audit lines, one warning each.
    pub damaged: Vec<String>,
    pub runbook: Option<&'a Runbook>,
    /// Why the runbook could not be read, when it could not.
    pub runbook_error: Option<String>,
}

const TRIGGER_WHATS: [&str; 4] = ["trigger-fired", "trigger-raise", "trigger-lower", "trigger-ack"];
const ROLLBACK_WHATS: [&str; 6] =
    ["rollback", "rollback-routed", "rollback-failed", "rollback-reason", "rollback-step", "resume"];

/// The whole report as markdown.
pub fn render(input: &ReportInput) -> String {
    let mut out = String::new();
    let e = &input.entries;
    let _ = writeln!(out, "# Go-live report: {}\n", input.deployment);
    summary(&mut out, input);
    timeline(&mut out, e);
    stages(&mut out, e);
    triggers(&mut out, e);
    overrides(&mut out, e);
    rollback(&mut out, e);
    runbook(&mut out, input);
    if !input.damaged.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in &input.damaged {
            let _ = writeln!(out, "- {}", cell(w));
        }
        out.push('\n');
    }
    out
}

fn summary(out: &mut String, input: &ReportInput) {
    out.push_str("## Summary\n\n");
    let _ = writeln!(out, "- Deployment: {}", input.deployment);
    match (input.entries.first(), input.entries.last()) {
        (Some(first), Some(last)) => {
            let _ = writeln!(out, "- First event: {} ({} by {})", time(first.when), first.what, first.who);
            let _ = writeln!(out, "- Last event: {} ({} by {})", time(last.when), last.what, last.who);
            let _ = writeln!(out, "- Duration: {}", format_age(last.when.secs_since(first.when)));
            let _ = writeln!(out, "- Final stage: {}", last.stage.as_deref().unwrap_or("unknown"));
            let _ = writeln!(out, "- Events: {}", input.entries.len());
        }
        _ => out.push_str("- No events recorded in the audit log.\n"),
    }
    if !input.damaged.is_empty() {
        let _ = writeln!(out, "- Damaged audit lines: {} (see Warnings)", input.damaged.len());
    }
    out.push('\n');
}

fn timeline(out: &mut String, entries: &[ReportEntry]) {
    out.push_str("## Timeline\n\n");
    if entries.is_empty() {
        out.push_str("Nothing happened.\n\n");
        return;
    }
    out.push_str("| Time (UTC) | Who | What | Stage | Reason |\n|---|---|---|---|---|\n");
    for e in entries {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            time(e.when),
            cell(&e.who),
            cell(&e.what),
            cell(e.stage.as_deref().unwrap_or("")),
            cell(&reason(e))
        );
    }
    out.push('\n');
}

/// The reason an entry gives, or what it was about.
fn reason(e: &ReportEntry) -> String {
    let s = |k: &str| e.detail.get(k).and_then(Value::as_str).map(str::to_string);
    s("override_reason")
        .or_else(|| s("reason"))
        .or_else(|| s("error"))
        .or_else(|| s("task").map(|t| format!("task {t}")))
        .or_else(|| s("step").map(|t| format!("step {t}")))
        .or_else(|| s("result"))
        .unwrap_or_default()
}

/// A stage begins when traffic really moved: an applied advance, a routed rollback, a resume.
fn stages(out: &mut String, entries: &[ReportEntry]) {
    out.push_str("## Stages\n\n");
    let starts: Vec<&ReportEntry> = entries
        .iter()
        .filter(|e| matches!(e.what.as_str(), "advance-applied" | "rollback-routed" | "resume" | "adopt"))
        .collect();
    if starts.is_empty() {
        out.push_str("No stage was reached.\n\n");
        return;
    }
    out.push_str("| Stage | Start (UTC) | End (UTC) | Duration |\n|---|---|---|---|\n");
    let last = entries.last().map(|e| e.when);
    for (i, e) in starts.iter().enumerate() {
        let (end, until) = match starts.get(i + 1) {
            Some(next) => (time(next.when), next.when),
            None => ("(current)".to_string(), last.unwrap_or(e.when)),
        };
        let mut duration = format_age(until.secs_since(e.when));
        if starts.get(i + 1).is_none() {
            duration.push_str(" until the last event");
        }
        let stage = e.stage.as_deref().unwrap_or("?");
        let _ = writeln!(out, "| {} | {} | {} | {} |", cell(stage), time(e.when), end, duration);
    }
    out.push('\n');
}

fn triggers(out: &mut String, entries: &[ReportEntry]) {
    out.push_str("## Trigger firings\n\n");
    let hits: Vec<&ReportEntry> = entries.iter().filter(|e| TRIGGER_WHATS.contains(&e.what.as_str())).collect();
    if hits.is_empty() {
        out.push_str("No trigger fired.\n\n");
        return;
    }
    out.push_str("| Time (UTC) | Trigger | Event | By | Stage | Reason |\n|---|---|---|---|---|---|\n");
    for e in hits {
        let event = match e.what.as_str() {
            "trigger-fired" => "fired",
            "trigger-raise" => "raised",
            "trigger-lower" => "lowered",
            _ => "acknowledged",
        };
        let name = e.detail.get("trigger").and_then(Value::as_str).unwrap_or("?");
        let _ = writeln!(
            out,
            "| {} | {} | {event} | {} | {} | {} |",
            time(e.when),
            cell(name),
            cell(&e.who),
            cell(e.stage.as_deref().unwrap_or("")),
            cell(&reason(e))
        );
    }
    out.push('\n');
}

fn overrides(out: &mut String, entries: &[ReportEntry]) {
    out.push_str("## Overrides\n\n");
    let hits: Vec<&ReportEntry> = entries.iter().filter(|e| e.what == "advance-override").collect();
    if hits.is_empty() {
        out.push_str("No gate was overridden.\n\n");
        return;
    }
    for e in hits {
        let n = |k: &str| e.detail.get(k).and_then(Value::as_u64).map_or("?".to_string(), |v| format!("{v}%"));
        let gates: Vec<String> = e
            .detail
            .get("overridden")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|g| g.as_str().map_or_else(|| g.to_string(), str::to_string)).collect())
            .unwrap_or_default();
        // The kinds (`slo, soak`) first: which health gates were passed over, exactly.
        let kinds: Vec<&str> = e
            .detail
            .get("overridden_gates")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let gates: Vec<String> =
            if kinds.is_empty() { gates } else { vec![format!("{} ({})", kinds.join(", "), gates.join("; "))] };
        let _ = writeln!(
            out,
            "- {} — {} → {} by {}: reason \"{}\"; gates overridden: {}",
            time(e.when),
            n("from"),
            n("to"),
            cell(&e.who),
            cell(&reason(e)),
            if gates.is_empty() { "none recorded".to_string() } else { cell(&gates.join("; ")) }
        );
    }
    out.push('\n');
}

fn rollback(out: &mut String, entries: &[ReportEntry]) {
    out.push_str("## Rollback\n\n");
    let hits: Vec<&ReportEntry> = entries.iter().filter(|e| ROLLBACK_WHATS.contains(&e.what.as_str())).collect();
    if !hits.iter().any(|e| e.what == "rollback") {
        out.push_str("No rollback.\n\n");
        return;
    }
    for e in hits {
        let by = e.detail.get("by").and_then(Value::as_str).map_or_else(|| e.who.clone(), str::to_string);
        let line = match e.what.as_str() {
            // Traffic first: a reason may come after, in its own entry.
            "rollback" if reason(e).trim().is_empty() => format!("rollback started by {by} (reason given later)"),
            "rollback" => format!("rollback started by {by}: {}", reason(e)),
            "rollback-reason" => format!("reason given by {by}: {}", reason(e)),
            "rollback-routed" => "all traffic routed to green".to_string(),
            "rollback-failed" => format!("routing to green FAILED: {}", reason(e)),
            "rollback-step" => format!("procedure step done by {by}: {}", reason(e).trim_start_matches("step ")),
            _ => format!("go-live resumed by {by}: {}", reason(e)),
        };
        let _ = writeln!(out, "- {} — {}", time(e.when), cell(&line));
    }
    out.push('\n');
}

fn runbook(out: &mut String, input: &ReportInput) {
    out.push_str("## Runbook\n\n");
    let Some(rb) = input.runbook else {
        match &input.runbook_error {
            Some(e) => {
                let _ = writeln!(out, "The runbook could not be read: {}\n", cell(e));
            }
            None => out.push_str("No runbook is configured.\n\n"),
        }
        return;
    };
    out.push_str("| Phase | Done | Total |\n|---|---|---|\n");
    for p in &rb.phases {
        let (d, t) = p.progress();
        let _ = writeln!(out, "| {} | {d} | {t} |", cell(&p.title));
    }
    let (d, t) = rb.progress();
    let _ = writeln!(out, "| **All** | {d} | {t} |\n");
}

/// `2026-05-01 14:02:11`.
fn time(ts: Ts) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ts.0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ts.0.to_string())
}

/// Text made safe for one table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(secs: i64, what: &str, stage: &str, detail: Value) -> ReportEntry {
        ReportEntry {
            when: Ts::from_secs(secs),
            who: "alice@ops1".into(),
            what: what.into(),
            stage: Some(stage.into()),
            detail,
        }
    }

    #[test]
    fn an_adopted_split_starts_a_stage_and_an_override_names_the_gate_kinds() {
        let entries = vec![
            entry(1, "advance-applied", "10%", json!({"seq": 1})),
            entry(
                61,
                "advance-override",
                "10%",
                json!({"from": 10, "to": 25, "override_reason": "CHG-1 risk accepted",
                       "overridden": ["SLO not ok: blue error rate 5.03% breaches < 1%", "soak not over (20:00 left)"],
                       "overridden_gates": ["slo", "soak"]}),
            ),
            entry(62, "advance-applied", "25%", json!({"seq": 2})),
            entry(300, "adopt", "50%", json!({"from": 25, "to": 50, "router": "50/50", "reason": "set by hand"})),
        ];
        let text = render(&ReportInput { deployment: "go-live".into(), entries, ..Default::default() });
        assert!(text.contains("| 50% | 1970-01-01 00:05:00 | (current) |"), "{text}");
        assert!(
            text.contains(
                "gates overridden: slo, soak (SLO not ok: blue error rate 5.03% breaches < 1%; soak not over (20:00 left))"
            ),
            "{text}"
        );
    }

    #[test]
    fn stages_run_from_one_move_to_the_next_and_cells_stay_in_their_column() {
        let entries = vec![
            entry(0, "advance", "0%", json!({"from": 0, "to": 10})),
            entry(1, "advance-applied", "10%", json!({"seq": 1})),
            entry(
                601,
                "advance-override",
                "10%",
                json!({"from": 10, "to": 25, "override_reason": "CAB | ok", "overridden": ["soak"]}),
            ),
            entry(602, "advance-applied", "25%", json!({"seq": 2})),
            entry(700, "trigger-fired", "25%", json!({"trigger": "err>5%", "reason": "5xx 9%"})),
        ];
        let rb = crate::domain::runbook::parse(b"## Prep\n- [x] T1 a\n- [ ] T2 b\n").unwrap();
        let text = render(&ReportInput {
            deployment: "go-live".into(),
            entries,
            runbook: Some(&rb),
            damaged: vec!["audit.jsonl:3: damaged line skipped".into()],
            ..Default::default()
        });
        assert!(text.contains("| 10% | 1970-01-01 00:00:01 | 1970-01-01 00:10:02 | 10m01s |"), "{text}");
        assert!(text.contains("| 25% | 1970-01-01 00:10:02 | (current) | 1m38s until the last event |"), "{text}");
        assert!(text.contains("CAB \\| ok"), "{text}");
        assert!(text.contains("gates overridden: soak"), "{text}");
        assert!(text.contains("| err>5% | fired |"), "{text}");
        assert!(text.contains("| Prep | 1 | 2 |"), "{text}");
        assert!(text.contains("- Final stage: 25%"), "{text}");
        assert!(text.contains("## Warnings\n\n- audit.jsonl:3"), "{text}");
        assert!(text.contains("No rollback."), "{text}");
    }

    #[test]
    fn a_rollback_whose_reason_came_later_says_both() {
        let entries = vec![
            entry(0, "rollback", "0%", json!({"from": 25, "to": 0, "reason": "", "by": "alice"})),
            entry(1, "rollback-routed", "0%", json!({})),
            entry(60, "rollback-reason", "0%", json!({"reason": "blue corrupts orders", "by": "alice"})),
        ];
        let text = render(&ReportInput { deployment: "go-live".into(), entries, ..Default::default() });
        assert!(text.contains("rollback started by alice (reason given later)"), "{text}");
        assert!(text.contains("reason given by alice: blue corrupts orders"), "{text}");
    }

    #[test]
    fn an_empty_log_says_so_in_every_section() {
        let text = render(&ReportInput { deployment: "x".into(), ..Default::default() });
        for s in [
            "No events recorded",
            "Nothing happened",
            "No stage was reached",
            "No trigger fired",
            "No gate was overridden",
            "No rollback",
            "No runbook",
        ] {
            assert!(text.contains(s), "{s}: {text}");
        }
    }
}

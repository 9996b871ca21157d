//! `cutover status`: one evaluation of every source, printed for scripts and chat-ops.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::unbounded_channel;

use crate::cli::StatusArgs;
use crate::commands::cockpit;
use crate::domain::cockpit::{Cockpit, Event};
use crate::domain::slo::SloState;
use crate::domain::status::{LastAction, StatusReport};
use crate::domain::time::{format_age, parse_duration_ms};
use crate::sources::{self, Sink};

/// Exit code when the report was taken but something is not ok.
const NOT_OK: u8 = 3;

pub fn status(args: StatusArgs, state_dir: Option<std::path::PathBuf>) -> ExitCode {
    let config = match super::load_config_in(&args.config, state_dir.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(e) = config.watches_nothing() {
        eprintln!("cutover status: {e}");
        return ExitCode::FAILURE;
    }
    let wait = match args.wait.as_deref().map(parse_duration_ms) {
        None => default_wait(&config),
        Some(Ok(ms)) if ms >= 0 => Duration::from_millis(ms as u64),
        Some(Ok(_)) | Some(Err(_)) => {
            eprintln!("cutover status: --wait {:?}: write it like 5s or 1m", args.wait.unwrap_or_default());
            return ExitCode::FAILURE;
        }
    };
    let mut setup = cockpit::setup(&config, config.runbook.as_deref(), false);
    setup.sources.backfill = false;
    super::state::attach(&mut setup, &config, state_dir.as_deref(), false, false);
    // Only read: a missing state dir is fine (the configured stages are shown).
    let dir = crate::store::cockpit_state::resolve(state_dir.as_deref(), &config.deployment, false)
        .and_then(|p| crate::store::StateDir::open_read_only(p).ok());
    if let Some(dir) = &dir {
        cut_off_is_interrupted(&mut setup.cockpit, dir);
    }
    setup.cockpit.auto_rollback = false;
    let runtime = match super::runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let actuators = setup.actuators.clone();
    let mut report = runtime.block_on(async move {
        let mut cockpit = setup.cockpit;
        one_shot(setup.sources, &mut cockpit, wait).await;
        read_router(&actuators, &mut cockpit).await;
        StatusReport::of(&cockpit, sources::now())
    });
    report.last_action = dir.as_ref().and_then(last_action);
    if args.json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("cutover status: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_table(&report);
    }
    if report.all_ok() { ExitCode::SUCCESS } else { ExitCode::from(NOT_OK) }
}

/// The audit log's last entry, read without writing anything; `None` when there is no log.
fn last_action(dir: &crate::store::StateDir) -> Option<LastAction> {
    let read = match dir.audit_tail(1) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cutover status: warning: {e}");
            return None;
        }
    };
    let e = read.entries.into_iter().last()?;
    Some(LastAction {
        what: e.what,
        who: e.who.short(),
        when: crate::store::state_dir::rfc3339(e.when),
        stage: e.stage,
    })
}

/// Runs every source once (until each has answered, or `wait` is over) and feeds what they say
/// into `cockpit`. What the cockpit asks for in return is dropped: this is a look, not a cockpit.
pub(crate) async fn one_shot(plan: crate::sources::plan::SourcePlan, cockpit: &mut Cockpit, wait: Duration) {
    let (tx, mut rx) = unbounded_channel::<Event>();
    let sink: Sink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    let tasks = plan.spawn(&sources::client(), &sink);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = sources::now();
        if every_source_answered(cockpit, now) {
            break;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(event)) => {
                cockpit.update(event, sources::now());
            }
            Ok(None) | Err(_) => break,
        }
    }
    for t in tasks {
        t.abort();
    }
}

/// Only a cutover running an action can be applying a change; with none running, a change the
/// state marks in flight was cut off: it is reported as interrupted (and recorded by the next
/// cutover that may write).
fn cut_off_is_interrupted(cockpit: &mut Cockpit, dir: &crate::store::StateDir) {
    if cockpit.traffic.pending.is_some() && crate::store::lease::action_holder(dir).is_none() {
        cockpit.take_over_in_flight();
    }
}

/// Without a router source, asks the actuators for the router's split, so drift and a change
/// found interrupted can be judged. Only reads: an interrupted change is shown here, recorded by
/// the next cutover that may write.
pub(crate) async fn read_router(actuators: &[crate::actuators::ActuatorSpec], cockpit: &mut Cockpit) {
    if cockpit.weights.is_some() {
        return;
    }
    let Ok(chain) = crate::app::traffic_io::build_chain(actuators) else { return };
    if chain.actuators.is_empty() {
        return;
    }
    match crate::app::traffic_io::read_back(&chain).await {
        Ok(Some(w)) => cockpit.fresh_reading(w, sources::now()),
        Ok(None) => {}
        Err(e) => {
            cockpit.update(Event::Weights(Err(e)), sources::now());
        }
    }
}

/// The default wait for a one-shot look: two poll intervals plus the timeout.
pub(crate) fn default_wait(config: &crate::config::Config) -> Duration {
    config.interval * 2 + config.timeout + Duration::from_millis(500)
}

/// Every SLO cell has a value or an error (the first scrape of a window only
/// says "no data yet"), and every health check has answered.
fn every_source_answered(c: &Cockpit, now: crate::domain::time::Ts) -> bool {
    let slos = c.slos.iter().all(|row| {
        row.cells.iter().all(|cell| cell.value.is_some() || cell.consecutive_errors > 0)
            || row.cells.iter().any(|cell| cell.current(&row.spec, now) == Err(SloState::Stale))
    });
    slos && c.health.iter().all(|h| h.last.is_some()) && (!c.alerts_enabled || c.alerts.is_some())
}

fn print_table(r: &StatusReport) {
    println!("{}", r.deployment);
    for line in slo_lines(r) {
        println!("{line}");
    }
    for h in &r.health {
        let state = h.state.map_or("unknown", |s| s.label());
        let detail = h.detail.as_deref().unwrap_or("");
        println!("  {:<22} {:<6} {:<12} {detail}", h.service, h.env.key(), state);
    }
    for t in &r.triggers {
        let state = match (&t.input, t.state) {
            (Some(i), "inactive") => {
                let word = if i.policy == Some("reset") { "reset" } else { "holding" };
                format!("{word}: {} since {}", i.what, i.since)
            }
            _ => t.state.to_string(),
        };
        println!("  trigger {:<9} {:<8} {}  {}", t.tier, state, t.name, t.reason);
    }
    for a in &r.alerts {
        println!("  alert {:<8} {} {}", a.state.label(), a.name, a.summary.as_deref().unwrap_or(""));
    }
    if let Some(e) = &r.alerts_error {
        println!("  alerts: {e}");
    }
    if let Some(rb) = &r.runbook {
        println!("  runbook {}/{} done", rb.done, rb.total);
    }
    if let Some(a) = &r.last_action {
        println!("  last action: {} by {} at {} ({})", a.what, a.who, a.when, a.stage.as_deref().unwrap_or("?"));
    }
    let st = &r.stage;
    let next = match (st.rolled_back, st.next, st.soak_remaining_s) {
        (true, _, _) => "rolled back".to_string(),
        (_, Some(n), Some(s)) if s > 0 => {
            format!("next {n}% in {}", crate::domain::traffic::format_countdown(s * 1000))
        }
        (_, Some(n), _) if st.gates.iter().any(|g| !g.ok && g.gate != "controls") => format!("next {n}% blocked"),
        (_, Some(n), _) => format!("next {n}% ready"),
        (_, None, _) => "last stage".to_string(),
    };
    let paused = st.soak_paused.as_ref().map(|why| format!(" (soak paused: {why})")).unwrap_or_default();
    println!("  stage {}% on blue, {next}{paused}", st.blue_percent);
    // The same gates as `cutover advance` judges: the failing ones, each named.
    for g in st.gates.iter().filter(|g| !g.ok) {
        println!("  ✗ {}: {}", g.gate, g.detail);
    }
    if let Some(d) = &st.drift {
        println!("  DRIFT: {d}");
    }
    if let Some(i) = &st.interrupted {
        let kind = serde_json::to_value(i.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let router = i.router.as_deref().unwrap_or("unread");
        let verdict = match i.verdict {
            crate::domain::traffic::Verdict::Applied => "it was applied",
            crate::domain::traffic::Verdict::NotApplied => "it was not applied",
            crate::domain::traffic::Verdict::Unknown => "unknown: a retries, V reverts (in the cockpit)",
        };
        println!(
            "  INTERRUPTED: {kind} {}% → {}% by {}; router {router}: {verdict}; nothing was repeated",
            i.from, i.to, i.by
        );
    }
}

/// The SLO lines of the text report: values in the objective's unit (`0.40%`, never `0.0040`),
/// the state word, the age, and why there is no value; a summed SLO's parts are shown under
/// its one verdict, without one of their own.
pub(crate) fn slo_lines(r: &StatusReport) -> Vec<String> {
    let mut out = Vec::new();
    for s in &r.slos {
        let value = s.shown.clone().unwrap_or_else(|| "–".into());
        let age = s.age_s.map_or("–".to_string(), format_age);
        let why = s.error.as_deref().or(s.reason.as_deref()).map(|e| format!("  {e}")).unwrap_or_default();
        out.push(format!(
            "  {:<16} {:<6} {:>12} {:<9} {:<8} {:>6}{why}",
            s.name,
            s.env,
            value,
            s.objective,
            s.state.label(),
            age
        ));
        for p in &s.parts {
            let value = p.shown.clone().unwrap_or_else(|| "–".into());
            let age = p.age_s.map_or("–".to_string(), format_age);
            let why = p.error.as_deref().or(p.reason.as_deref()).map(|e| format!("  {e}")).unwrap_or_default();
            out.push(format!("    {:<14} {:<6} {:>12} {:<9} {:<8} {:>6}{why}", "", p.env, value, "", "(in sum)", age));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cockpit::Cockpit;
    use crate::domain::env::Env;
    use crate::domain::slo::{Judge, Outcome, SloRow, SloSpec};
    use crate::domain::time::Ts;

    #[test]
    fn text_speaks_in_the_objectives_unit_and_judges_a_sum_once() {
        let mut c = Cockpit::new("go-live", "prod");
        for (name, obj, judge) in [
            ("error rate", "< 1%", Judge::PerEnv),
            ("availability", ">= 99.9%", Judge::PerEnv),
            ("throughput", ">= 200/s", Judge::Sum),
        ] {
            c.slos.push(SloRow::new(SloSpec {
                name: name.into(),
                objective: obj.parse().unwrap(),
                judge,
                interval_ms: 1000,
            }));
        }
        let sample = |slo, env, v| Event::Sample { slo, env, outcome: Outcome::Value(v) };
        c.update(sample(0, Env::Blue, 0.0002), Ts(1000));
        c.update(
            Event::Sample { slo: 0, env: Env::Green, outcome: Outcome::TooFew("37 requests in 20s < 100".into()) },
            Ts(1000),
        );
        c.update(sample(1, Env::Blue, 0.99897), Ts(1000));
        c.update(sample(2, Env::Blue, 30.0), Ts(1000));
        c.update(sample(2, Env::Green, 150.0), Ts(1000));
        let lines = slo_lines(&StatusReport::of(&c, Ts(1000)));
        let find = |what: &str| {
            lines.iter().find(|l| l.contains(what)).cloned().unwrap_or_else(|| panic!("{what}: {lines:#?}"))
        };
        assert!(find("error rate       blue").contains(" 0.02% "), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.contains("0.0002")), "never the bare ratio: {lines:#?}");
        assert!(
            find("error rate       green").contains("no data")
                && find("error rate       green").ends_with("37 requests in 20s < 100")
        );
        assert!(find("availability     blue").contains("99.897%") && find("availability     blue").contains("breach"));
        let sum = find("throughput       all");
        assert!(sum.contains("180/s") && sum.contains("breach"), "{sum}");
        let blue = lines.iter().find(|l| l.contains("blue") && l.contains("30/s")).unwrap();
        assert!(blue.contains("(in sum)") && !blue.contains("breach") && !blue.contains(" ok "), "{blue}");
        assert_eq!(lines.len(), 2 + 2 + 3, "{lines:#?}");
    }
}

use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::commands::cockpit;
use crate::config;
use crate::domain::runbook;
use crate::ui::theme::Theme;

/// Validates a config and its runbook. Prints what it found, or every problem
/// with its position (all of them, in one run), and exits non-zero on any problem.
pub fn check(args: ConfigArgs) -> ExitCode {
    let path = match config::discover(args.config.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read the config: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let (config, mut errors) = config::parse_partial(&text, &path, path.parent());
    let mut problems: Vec<String> = Vec::new();
    if let (Some(c), Some(url)) = (&config, &args.prometheus)
        && let Err(e) = c.clone().override_prometheus(url)
    {
        problems.push(e);
    }
    let mut summary = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    if let Some(c) = &config {
        crate::text::set_redactor(c.redactor());
        // Only said of a config without other errors: a broken [[slo]] is not an empty config.
        if let Some(e) = c.watches_nothing().filter(|_| errors.is_empty()) {
            problems.push(e);
        }
        // Opened, not just named: a missing one fails here, not at the go-live.
        errors.extend(config::open_files(c, &text));
        warnings.extend(c.warnings.iter().cloned());
        // A broken theme or keymap falls back in the cockpit; say so now.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        warnings.extend(Theme::load(c.theme.as_deref(), no_color).1.map(|n| format!("ui.theme: {n}")));
        warnings.extend(cockpit::load_keymap(c.keymap.as_deref()).1.map(|n| format!("ui.keymap: {n}")));
        summary.push(format!(
            "{}: ok: deployment {:?}, {} SLOs, {} targets",
            path.display(),
            c.deployment,
            c.slos.len(),
            c.targets.len()
        ));
        match &c.runbook {
            None => summary.push("no runbook configured".into()),
            Some(rb_path) => match std::fs::read(rb_path) {
                Err(e) => {
                    let span = config::value_span(&text, "runbook.path");
                    let msg = format!("cannot read {}: {e}", rb_path.display());
                    errors.push(config::ConfigError::at(&path, &text, span, Some("runbook.path".into()), msg));
                }
                Ok(bytes) => match runbook::parse(&bytes) {
                    Err(e) => problems.push(format!("{}:{}: {e}", rb_path.display(), e.line())),
                    Ok(rb) => {
                        let (done, total) = rb.progress();
                        summary.push(format!(
                            "{}: ok: {} phases, {total} tasks, {done} done",
                            rb_path.display(),
                            rb.phases.len()
                        ));
                        errors.extend(config::unknown_tasks(&text, &path, |id| rb.find(id).is_some()));
                    }
                },
            },
        }
    }
    // In the file's order, so the list reads top to bottom.
    errors.sort_by_key(|e| e.position);
    problems.splice(0..0, errors.iter().map(|e| e.to_string()));
    for w in &warnings {
        eprintln!("{}: warning: {w}", path.display());
    }
    if problems.is_empty() {
        for line in summary {
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        eprintln!("{p}");
    }
    let n = problems.len();
    eprintln!("{}: {n} {}", path.display(), if n == 1 { "error" } else { "errors" });
    ExitCode::FAILURE
}

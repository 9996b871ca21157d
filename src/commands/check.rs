use std::process::ExitCode;

use crate::cli::ConfigArgs;
use crate::config;
use crate::domain::runbook;

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
    if let Some(c) = &config {
        crate::text::set_redactor(c.redactor());
        summary.push(format!(
            "{}: ok: deployment {:?}, {} SLOs, {} targets",
            path.display(),
            c.deployment,
            c.slos.len(),
            c.targets.len()
        ));
        summary.extend(c.warnings.iter().map(|w| format!("{}: warning: {w}", path.display())));
        match &c.runbook {
            None => summary.push("no runbook configured".into()),
            Some(rb_path) => match std::fs::read(rb_path) {
                Err(e) => {
                    problems.push(format!("{}: runbook.path: cannot read {}: {e}", path.display(), rb_path.display()))
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

//! `cutover runbook FILE [--json]`: print the parsed model of a runbook.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::RunbookArgs;
use crate::domain::runbook::{self, Runbook, Task};

pub fn runbook(args: RunbookArgs) -> ExitCode {
    let path = &args.file;
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("cutover runbook: {}: no such file", path.display());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cutover runbook: {}: cannot read: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let rb = match runbook::parse(&bytes) {
        Ok(rb) => rb,
        Err(e) => {
            eprintln!("{}:{}: {e}", path.display(), e.line());
            return ExitCode::FAILURE;
        }
    };
    for (id, lines) in rb.duplicate_ids() {
        let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
        eprintln!("{}: warning: task {id} is on lines {}; it cannot be ticked by ID", path.display(), lines.join(", "));
    }
    // Buffered: stdout flushes at every newline, and pretty JSON of 100 000 tasks has millions.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &rb).map_err(io::Error::from).and_then(|()| writeln!(out))
    } else {
        outline(&mut out, &rb, path)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // `cutover runbook … | head` is fine.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cutover runbook: cannot write: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A readable outline: phases with progress, sections, tasks, then the order.
pub fn outline(out: &mut impl Write, rb: &Runbook, path: &Path) -> io::Result<()> {
    let (done, total) = rb.progress();
    writeln!(out, "{}  {done}/{total}", rb.title.as_deref().unwrap_or(&path.display().to_string()))?;
    for phase in &rb.phases {
        let (d, t) = phase.progress();
        writeln!(out, "\n{}  {d}/{t}", phase.title)?;
        for section in &phase.sections {
            if let Some(title) = &section.title {
                writeln!(out, "  {title}")?;
            }
            for task in &section.tasks {
                task_lines(out, task, 4)?;
            }
        }
    }
    if !rb.order.is_empty() {
        writeln!(out, "\nOrder (from Dependencies):")?;
        for (i, title) in rb.order.iter().enumerate() {
            writeln!(out, "  {}. {title}", i + 1)?;
        }
    }
    Ok(())
}

fn task_lines(out: &mut impl Write, task: &Task, indent: usize) -> io::Result<()> {
    let mut line = format!("{:indent$}[{}]", "", if task.done { 'x' } else { ' ' });
    if let Some(id) = &task.id {
        line.push(' ');
        line.push_str(id);
    }
    if task.parallel {
        line.push_str(" [P]");
    }
    for tag in &task.tags {
        line.push_str(&format!(" [{tag}]"));
    }
    if !task.text.is_empty() {
        line.push(' ');
        line.push_str(&task.text);
    }
    writeln!(out, "{line}")?;
    task.children.iter().try_for_each(|child| task_lines(out, child, indent + 2))
}

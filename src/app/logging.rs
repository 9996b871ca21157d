//! Logging: tracing into tui-logger's widget, and a plain-text file. Never to
//! stdout while the terminal is in raw mode.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::prelude::*;

/// The log file behind the redactor: each event is one `write`, scrubbed and bounded before it
/// reaches the disk.
struct Scrubbed<W>(W);

/// A log line longer than this is cut (the message inside is bounded already; this is the net).
const MAX_LINE_BYTES: usize = 4096;

impl<W: Write> Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut text = String::from_utf8_lossy(buf).into_owned();
        crate::text::scrub_in_place(&mut text);
        if text.len() > MAX_LINE_BYTES {
            let newline = text.ends_with('\n');
            crate::domain::bound::bound_in_place(&mut text, MAX_LINE_BYTES / 4);
            if newline && !text.ends_with('\n') {
                text.push('\n');
            }
        }
        self.0.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Installs the subscriber once per process. Returns a notice when the log file
/// could not be opened (the cockpit still runs, logging to the pane only).
pub fn init(log_file: Option<&Path>) -> Option<String> {
    let _ = tui_logger::init_logger(tui_logger::LevelFilter::Info);
    tui_logger::set_default_level(tui_logger::LevelFilter::Info);
    let mut notice = None;
    let file_layer = log_file.and_then(|path| {
        let opened = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| OpenOptions::new().create(true).append(true).open(path));
        match opened {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_target(false)
                    .with_writer(Mutex::new(Scrubbed(f))),
            ),
            Err(e) => {
                notice = Some(format!("log file {}: {e}; logging to the pane only", path.display()));
                None
            }
        }
    });
    let filter = tracing_subscriber::filter::LevelFilter::INFO;
    let _ = tracing_subscriber::registry()
        .with(tui_logger::TuiTracingSubscriberLayer.with_filter(filter))
        .with(file_layer.map(|l| l.with_filter(filter)))
        .try_init();
    notice
}

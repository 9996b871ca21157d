//! Terminal lifecycle: raw mode and the alternate screen on the way in, the
//! terminal as it was on every way out (return, error, panic, signal).

use ratatui::DefaultTerminal;

/// Restores the terminal when dropped, whichever way the loop ends.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen. `ratatui::init` also wraps the
    /// panic hook installed before it, so a panic restores the terminal first.
    pub fn enter() -> std::io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

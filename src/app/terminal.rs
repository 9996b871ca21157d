//! Terminal lifecycle: raw mode and the alternate screen on the way in, the
//! terminal as it was on every way out (return, error, panic, signal).

use std::mem::ManuallyDrop;

use ratatui::DefaultTerminal;

/// Restores the terminal when dropped, whichever way the loop ends.
pub struct TerminalGuard {
    /// Never dropped: its own Drop reports a failure to show the cursor with `eprintln!`, which
    /// panics on a terminal an ssh link took away; [`TerminalGuard`]'s Drop does that work instead.
    pub terminal: ManuallyDrop<DefaultTerminal>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen. `ratatui::init` also wraps the
    /// panic hook installed before it, so a panic restores the terminal first.
    pub fn enter() -> std::io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard { terminal: ManuallyDrop::new(terminal) })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Errors are ignored: after SIGHUP there may be no terminal left to restore.
        let _ = self.terminal.show_cursor();
        let _ = ratatui::try_restore();
    }
}

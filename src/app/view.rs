//! What the operator is looking at: selection, focus and overlays. Not domain state.

use crate::domain::runbook::Runbook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Phases,
    Tasks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Faults { selected: usize },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewState {
    pub focus: Focus,
    /// Selected phase.
    pub phase: usize,
    /// Selected task within the phase, counting sub-tasks, in file order.
    pub task: usize,
    pub overlay: Option<Overlay>,
}

impl ViewState {
    /// Moves the selection by `delta` within the focused list, clamped to its ends.
    pub fn move_by(&mut self, delta: isize, runbook: Option<&Runbook>) {
        let Some(rb) = runbook else { return };
        if rb.phases.is_empty() {
            return;
        }
        match self.focus {
            Focus::Phases => {
                let next = clamp(self.phase as isize + delta, rb.phases.len());
                if next != self.phase {
                    self.phase = next;
                    self.task = 0;
                }
            }
            Focus::Tasks => {
                let count = rb.phases[self.phase.min(rb.phases.len() - 1)].tasks().count();
                self.task = clamp(self.task as isize + delta, count);
            }
        }
    }

    pub fn toggle_focus(&mut self) {
        self.focus = match self.focus {
            Focus::Phases => Focus::Tasks,
            Focus::Tasks => Focus::Phases,
        };
    }
}

fn clamp(i: isize, len: usize) -> usize {
    if len == 0 { 0 } else { i.clamp(0, len as isize - 1) as usize }
}

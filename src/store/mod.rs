//! Files the cockpit reads and writes: the runbook (and, later, state, audit log, controls lease).

pub mod runbook_file;

//! Files the cockpit reads and writes: the runbook, and the deployment's state dir (state file,
//! audit log, controls lease, action lock).

pub mod atomic;
pub mod audit;
pub mod cockpit_state;
pub mod lease;
pub mod origin;
pub mod runbook_file;
pub mod state_dir;
pub mod state_file;

pub use audit::{AuditEntry, AuditRead, Damaged};
pub use lease::{
    Acquire, ActionLock, HolderInfo, Lease, Observer, Request, RequestState, clear_request, decline_request, holder,
    observer_list, observers, pending_request, request_handover, send_trigger_request, take_over, take_trigger_request,
};
pub use state_dir::{StateDir, StoreError, Who, default_state_dir, folder_name};
pub use state_file::{Loaded, Meta, Saved, Source, Versioned};

//! IO that produces signals. Each source runs as tokio tasks and hands events to a sink.

use std::sync::Arc;

use crate::domain::cockpit::Event;

/// Where sources deliver what they observed (the app's event channel).
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

//! A runbook file as read from disk: any bytes. Parsing never panics, and ticking a task
//! writes back a file that parses again with that one checkbox changed.
#![no_main]

use cutover::domain::runbook::{parse, set_done};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rb) = parse(data) else { return };
    let _ = rb.duplicate_ids();
    let (done, total) = rb.phases.iter().fold((0, 0), |(d, t), p| {
        let (pd, pt) = p.progress();
        (d + pd, t + pt)
    });
    assert!(done <= total);
    let tasks: Vec<_> = rb.phases.iter().flat_map(|p| p.tasks()).collect();
    // The first and the last task are enough to walk the write-back path.
    for task in tasks.first().into_iter().chain(tasks.last()) {
        let bytes = set_done(data, task, !task.done).expect("a task just parsed can be written back");
        assert_eq!(bytes.len(), data.len(), "write-back changes one byte only");
        let again = parse(&bytes).expect("a written-back runbook parses");
        let same = again.phases.iter().flat_map(|p| p.tasks()).find(|t| t.checkbox == task.checkbox);
        let same = same.expect("the ticked task is still there");
        assert_eq!(same.done, !task.done, "the checkbox at line {} flipped", task.line);
    }
});

//! A config file: any text. Parsing never panics and every error can be shown (its
//! file:line:column is computed from spans into the text).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let file = Path::new("fuzz.toml");
    let (_, errors) = cutover::config::parse_partial(text, file, None);
    for e in &errors {
        let _ = e.to_string();
    }
    let _ = cutover::config::unknown_tasks(text, file, |id| id.len() % 2 == 0);
});

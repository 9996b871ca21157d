//! A `/metrics` body as scraped: any bytes (not always UTF-8). Parsing never panics.
#![no_main]

use cutover::domain::exposition::{parse, parse_float};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_float(text);
    }
});

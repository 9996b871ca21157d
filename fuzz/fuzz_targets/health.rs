//! A health endpoint's answer: status code, content type and any body, read in every format.
//! Never a panic, and a failing status code is never Up.
#![no_main]

use cutover::domain::health::{BodyFormat, Expect, HealthState, read_answer};
use libfuzzer_sys::fuzz_target;

const TYPES: [Option<&str>; 5] = [
    None,
    Some("application/json"),
    Some("application/health+json; charset=utf-8"),
    Some("application/vnd.spring-boot.actuator.v3+json"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(body) else { return };
    let code = [200u16, 204, 301, 404, 429, 500, 503, 0][usize::from(first % 8)];
    let content_type = TYPES[usize::from(first / 8 % 5)];
    for format in BodyFormat::ALL {
        let (state, detail) = read_answer(code, content_type, body, &Expect::Success, format);
        if !(200..300).contains(&code) {
            assert_ne!(state, HealthState::Up, "HTTP {code} read as up: {detail}");
        }
    }
});

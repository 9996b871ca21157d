//! What HAProxy's runtime API answers (any bytes, read lossily as the actuator does) and the
//! socket address from the config: read without a panic, and errors can be shown.
#![no_main]

use cutover::actuators::SocketAddress;
use cutover::actuators::haproxy::{read_weight, refusal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let answer = String::from_utf8_lossy(data);
    let answer = answer.trim();
    let _ = read_weight(answer);
    let _ = refusal("ipv4@127.0.0.1:9999", "get weight app/blue", answer.to_string()).to_string();
    match SocketAddress::parse(answer) {
        Ok(a) => {
            let _ = a.to_string();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});

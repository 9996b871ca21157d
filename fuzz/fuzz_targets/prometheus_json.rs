//! An answer from Prometheus's HTTP API: a status code and any body. The envelope and each
//! kind of result (instant, range, alerts) are decoded and reduced without a panic.
#![no_main]

use cutover::sources::prometheus::{
    Reduce, decode_alerts, decode_envelope, decode_instant, decode_matrix, reduce_instant, reduce_range,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(body) else { return };
    // The first byte picks a status code among those Prometheus and proxies send.
    let status = [200, 400, 401, 404, 422, 499, 500, 503][usize::from(first % 8)];
    let truncated = first & 0x80 != 0 && first & 0x40 != 0;
    let shown = |e: &cutover::sources::prometheus::PromError| e.to_string();
    match decode_envelope(status, body, truncated, "http://127.0.0.1:9090/api/v1/query") {
        Err(e) => {
            let _ = shown(&e);
        }
        Ok(answer) => {
            for reduce in [None, Some(Reduce::Sum), Some(Reduce::Max), Some(Reduce::Min)] {
                match decode_instant(&answer.data) {
                    Ok(r) => {
                        let _ = reduce_instant(&r, reduce).map_err(|e| shown(&e));
                    }
                    Err(e) => {
                        let _ = shown(&e);
                    }
                }
                match decode_matrix(&answer.data) {
                    Ok(s) => {
                        let _ = reduce_range(&s, reduce).map_err(|e| shown(&e));
                    }
                    Err(e) => {
                        let _ = shown(&e);
                    }
                }
            }
            let _ = decode_alerts(&answer.data).map_err(|e| shown(&e));
        }
    }
});

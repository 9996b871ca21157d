//! The admin API on the router's port: weights and faults.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;

use super::router::RouterState;
use crate::domain::env::Weights;
use crate::domain::fault::FaultSpec;

pub fn routes() -> Router<Arc<RouterState>> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/weights", get(get_weights).put(put_weights))
        .route("/admin/faults", get(list_faults).post(post_fault).delete(clear_faults))
        // Unknown admin paths are mistakes, not application traffic to forward.
        .route("/admin/{*rest}", any(not_found))
}

async fn index() -> Json<serde_json::Value> {
    Json(json!({
        "weights": "GET, PUT {\"blue\":10,\"green\":90}",
        "faults": "GET, DELETE, POST {\"env\":\"blue\",\"service\":\"*\",\"error_ratio\":0.06,\"extra_latency_ms\":0,\"down\":false}",
    }))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "unknown admin endpoint; try /admin/weights or /admin/faults\n").into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message + "\n").into_response()
}

async fn get_weights(State(state): State<Arc<RouterState>>) -> Json<Weights> {
    Json(state.lock_wrr().weights())
}

/// The body is parsed by hand rather than with the `Json` extractor so every malformed body
/// gets a 400 with serde's reason and an example, whatever its content type.
async fn put_weights(State(state): State<Arc<RouterState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Weights>(&body) {
        Ok(w) => {
            state.lock_wrr().set(w);
            Json(w).into_response()
        }
        Err(e) => bad_request(format!("invalid weights ({e}); expected JSON like {{\"blue\":10,\"green\":90}}")),
    }
}

async fn list_faults(State(state): State<Arc<RouterState>>) -> Json<Vec<FaultSpec>> {
    Json(state.faults.list())
}

async fn post_fault(State(state): State<Arc<RouterState>>, body: Bytes) -> Response {
    let spec = match serde_json::from_slice::<FaultSpec>(&body) {
        Ok(s) => s,
        Err(e) => {
            return bad_request(format!(
                "invalid fault ({e}); expected JSON like \
                 {{\"env\":\"blue\",\"service\":\"*\",\"error_ratio\":0.06,\"extra_latency_ms\":0,\"down\":false}}"
            ));
        }
    };
    match state.faults.apply(spec) {
        Ok(()) => Json(state.faults.list()).into_response(),
        Err(reason) => bad_request(reason),
    }
}

async fn clear_faults(State(state): State<Arc<RouterState>>) -> Json<Vec<FaultSpec>> {
    state.faults.clear();
    Json(Vec::new())
}

//! One simulated service: application requests with real latency and errors, `/metrics`, `/health`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::faults::FaultTable;
use super::metrics::{self, ServiceMetrics};
use super::profile::Profile;
use crate::domain::env::Env;

/// Health turns `warn` from these on: a service that fails 2 % of requests or answers a second
/// late is degraded, not yet down.
const WARN_ERROR_RATIO: f64 = 0.02;
const WARN_EXTRA_LATENCY: Duration = Duration::from_secs(1);

pub struct Service {
    env: Env,
    name: &'static str,
    profile: Profile,
    metrics: ServiceMetrics,
    faults: Arc<FaultTable>,
    started: Instant,
}

impl Service {
    pub fn new(env: Env, index: usize, faults: Arc<FaultTable>) -> Service {
        let name = super::SERVICES[index];
        Service {
            env,
            name,
            profile: Profile::new(env, index),
            metrics: ServiceMetrics::new(name, env),
            faults,
            started: Instant::now(),
        }
    }
}

pub fn app(service: Arc<Service>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .fallback(application)
        .with_state(service)
}

/// Any other path and method: wait as long as a real request would, then answer 200 or 500.
async fn application(State(svc): State<Arc<Service>>, uri: Uri) -> Response {
    let start = Instant::now();
    let effect = svc.faults.effect(svc.env, svc.name);
    if effect.down {
        svc.metrics.record_request(503, start.elapsed().as_secs_f64());
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{} {} is down (simulated outage)\n", svc.env, svc.name))
            .into_response();
    }
    let latency = Duration::from_secs_f64(svc.profile.latency.sample()) + effect.extra_latency;
    // A real wait, so whatever sits in front (router, HAProxy) measures real latency.
    tokio::time::sleep(latency).await;
    let failed = fastrand::f64() < svc.profile.error_ratio + effect.error_ratio;
    let code = if failed { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    svc.metrics.record_request(code.as_u16(), start.elapsed().as_secs_f64());
    if failed {
        return (code, format!("{} {}: simulated error\n", svc.env, svc.name)).into_response();
    }
    // The request's event is not really sent anywhere: its delivery latency is drawn, and a
    // latency fault slows delivery as much as it slows requests.
    svc.metrics.record_event(svc.profile.event_latency.sample() + effect.extra_latency.as_secs_f64());
    let body = json!({"env": svc.env, "service": svc.name, "path": uri.path()});
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(svc): State<Arc<Service>>) -> Response {
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], svc.metrics.render()).into_response()
}

/// `application/health+json` (draft-inadarei-api-health-check): pass, warn or fail with the
/// checks that decided it; 503 only on fail, so load balancers keep a degraded service in rotation.
async fn health(State(svc): State<Arc<Service>>) -> Response {
    let effect = svc.faults.effect(svc.env, svc.name);
    // The configured ratio, not a measured one: health then changes the moment a fault is set,
    // as a real service's own check of a failing dependency would.
    let error_ratio = (svc.profile.error_ratio + effect.error_ratio).min(1.0);
    let errors = if error_ratio >= WARN_ERROR_RATIO { "warn" } else { "pass" };
    let latency = if effect.extra_latency >= WARN_EXTRA_LATENCY { "warn" } else { "pass" };
    let status = if effect.down {
        "fail"
    } else if errors == "warn" || latency == "warn" {
        "warn"
    } else {
        "pass"
    };
    let mut serving = json!({"componentType": "component", "status": "pass"});
    let mut body = json!({
        "status": status,
        "serviceId": format!("{}/{}", svc.env, svc.name),
        "description": format!("simulated {} in {}", svc.name, svc.env),
        "checks": {
            "uptime": [{"componentType": "system", "observedValue": svc.started.elapsed().as_secs(),
                        "observedUnit": "s", "status": "pass"}],
            "errors:ratio": [{"componentType": "component", "observedValue": error_ratio,
                              "observedUnit": "ratio", "status": errors}],
            "latency:extra": [{"componentType": "component", "observedValue": effect.extra_latency.as_millis() as u64,
                               "observedUnit": "ms", "status": latency}],
        },
    });
    if effect.down {
        serving = json!({"componentType": "component", "status": "fail", "output": "down (simulated outage)"});
        body["output"] = json!("down (simulated outage)");
    }
    body["checks"]["requests:serving"] = json!([serving]);
    let code = if effect.down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, [(header::CONTENT_TYPE, "application/health+json")], body.to_string()).into_response()
}

//! The simulated blue/green fleet behind `cutover demo` and `cutover fleet`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::domain::env::{Env, Weights};

/// The go-live's services, in the order their fixed ports are assigned.
pub const SERVICES: [&str; 6] =
    ["acquisition-service", "indexing-service", "retrieval-service", "api-gateway", "event-bus", "frontend"];

#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub listen: SocketAddr,
    pub rps: u32,
    pub target: Option<String>,
    pub smoke_rps: u32,
    pub initial_weights: Weights,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetInfo {
    pub router: String,
    pub admin: String,
    pub services: Vec<ServiceInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub env: Env,
    pub service: String,
    pub url: String,
    pub metrics: String,
    pub health: String,
}

pub struct Fleet {
    pub info: FleetInfo,
}

impl Fleet {
    pub async fn start(_opts: FleetOptions) -> std::io::Result<Fleet> {
        Err(std::io::Error::other("the simulated fleet is not built yet"))
    }

    pub async fn shutdown(self) {}
}

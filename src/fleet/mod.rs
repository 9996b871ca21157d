//! The simulated blue/green fleet behind `cutover demo` and `cutover fleet`.
//!
//! Thirteen HTTP servers on loopback: six services per environment (see `service`) and a
//! weighted router whose port also carries the admin API (see `router`, `admin`), plus the
//! built-in load (see `load`).

mod admin;
mod faults;
mod load;
mod metrics;
mod profile;
mod router;
mod service;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::env::{Env, Weights};

/// The go-live's services, in the order their fixed ports are assigned.
pub const SERVICES: [&str; 6] =
    ["acquisition-service", "indexing-service", "retrieval-service", "api-gateway", "event-bus", "frontend"];

/// How long [`Fleet::shutdown`] lets in-flight requests finish (a latency fault can hold one for
/// seconds) before it cuts them off.
const GRACE: Duration = Duration::from_secs(5);

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

/// A running fleet. Dropping it stops everything too; [`Fleet::shutdown`] does it gracefully.
pub struct Fleet {
    pub info: FleetInfo,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<io::Result<()>>>,
    loads: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Binds every port first, so a port in use fails here with its address and nothing is left running.
    pub async fn start(opts: FleetOptions) -> io::Result<Fleet> {
        let mut listeners = bind_all(opts.listen).await?;
        let host = advertised_host(opts.listen.ip());
        let mut urls = Vec::with_capacity(listeners.len());
        for l in &listeners {
            urls.push(format!("http://{}", SocketAddr::new(host, l.local_addr()?.port())));
        }
        let load_target = match &opts.target {
            Some(t) => {
                reqwest::Url::parse(t).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("invalid --target URL {t:?}: {e}"))
                })?;
                t.trim_end_matches('/').to_string()
            }
            None => urls[0].clone(),
        };
        let load_client = load::client()?;

        let faults = Arc::new(faults::FaultTable::default());
        let mut upstreams: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut services = Vec::with_capacity(12);
        let mut apps = Vec::with_capacity(13);
        for (i, url) in urls.iter().enumerate().skip(1) {
            let env = Env::ALL[(i - 1) / SERVICES.len()];
            let index = (i - 1) % SERVICES.len();
            upstreams[env.index()].push(url.clone());
            services.push(ServiceInfo {
                env,
                service: SERVICES[index].to_string(),
                url: url.clone(),
                metrics: format!("{url}/metrics"),
                health: format!("{url}/health"),
            });
            apps.push(service::app(Arc::new(service::Service::new(env, index, faults.clone()))));
        }
        let router_state = router::RouterState::new(opts.initial_weights, upstreams.clone(), faults)?;
        apps.insert(0, router::app(Arc::new(router_state)));

        // Nothing can fail from here on: start serving.
        let (stop, stop_rx) = watch::channel(false);
        let servers = listeners.drain(..).zip(apps).map(|(l, app)| serve(l, app, stop_rx.clone())).collect();
        let mut loads = Vec::new();
        if opts.rps > 0 {
            loads.push(load::spawn(opts.rps, vec![load_target], load_client.clone(), stop_rx.clone()));
        }
        if opts.smoke_rps > 0 {
            let blue = upstreams[Env::Blue.index()].clone();
            loads.push(load::spawn(opts.smoke_rps, blue, load_client, stop_rx));
        }
        let router = urls[0].clone();
        let info = FleetInfo { admin: format!("{router}/admin"), router, services };
        Ok(Fleet { info, stop, servers, loads })
    }

    /// Stops the load, lets in-flight requests finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for load in self.loads.drain(..) {
            // Aborting also drops the load's in-flight requests; they are only synthetic traffic.
            load.abort();
            let _ = load.await;
        }
        let deadline = tokio::time::Instant::now() + GRACE;
        for mut server in self.servers.drain(..) {
            if tokio::time::timeout_at(deadline, &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The stop sender drops with `self`, which also tells axum to close open connections.
        for load in &self.loads {
            load.abort();
        }
        for server in &self.servers {
            server.abort();
        }
    }
}

fn serve(listener: TcpListener, app: axum::Router, mut stop: watch::Receiver<bool>) -> JoinHandle<io::Result<()>> {
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // Err means the sender is gone (fleet dropped): stop as well.
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
    })
}

/// Router first, then blue's services, then green's, in [`SERVICES`] order: with port P they get
/// P, P+1…P+6, P+7…P+12; with port 0 each its own free port.
async fn bind_all(listen: SocketAddr) -> io::Result<Vec<TcpListener>> {
    let count = 1 + 2 * SERVICES.len() as u16;
    let mut listeners = Vec::with_capacity(count as usize);
    for offset in 0..count {
        let port = if listen.port() == 0 {
            0
        } else {
            listen.port().checked_add(offset).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cannot listen on {listen}: the fleet needs ports {0}..={0}+12, past 65535", listen.port()),
                )
            })?
        };
        let addr = SocketAddr::new(listen.ip(), port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Where clients should connect: a wildcard listen address is reachable on loopback.
fn advertised_host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

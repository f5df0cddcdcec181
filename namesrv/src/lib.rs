//! rmq NameServer: a RocketMQ-compatible route registry. Brokers register their topics and
//! heartbeat; producers, consumers and tools ask it where topics live. It keeps no state on
//! disk except the KV config.
//!
//! # Layout
//! - [`config`]: [`NamesrvConfig`] under Apache's key names, parsed from properties.
//! - [`route`]: the route table (brokers, clusters, topic queues, live brokers) behind one lock,
//!   with registration, removal and expiry rules.
//! - [`kv`]: the KV config store, persisted as JSON.
//! - [`processor`]: [`Namesrv`], which answers every request code in one `match`.
//! - [`metrics`]: request counters and route gauges, and the axum `/metrics` `/healthz`
//!   `/readyz` endpoint ([`metrics::http`]) on `metricsPromExporterPort`.
//! - [`address_server`]: Apache's HTTP NameServer address endpoint (`/rocketmq/nsaddr`).
//! - [`run`] / [`serve`]: serve a listener until shutdown and run the broker expiry scan.
//!
//! `main.rs` only parses arguments, binds the socket and waits for a signal.

pub mod address_server;
pub mod config;
pub mod error;
pub mod kv;
pub mod metrics;
pub mod processor;
pub mod route;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::rpc::{self, ServerConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

pub use config::NamesrvConfig;
pub use error::Error;
pub use processor::Namesrv;

/// Serves NameServer requests on `listener` until `shutdown` completes, removing expired
/// brokers every `scanNotActiveBrokerInterval`. Fails only if the KV config cannot be loaded.
pub async fn run(
    listener: TcpListener,
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let namesrv = Arc::new(Namesrv::new(config)?);
    serve(listener, namesrv, ServerConfig::default(), shutdown).await;
    Ok(())
}

/// Like [`run`], for a [`Namesrv`] the caller already built (so it can report a bad KV file
/// before announcing that the server is up), with the server's limits and TLS.
pub async fn serve(
    listener: TcpListener,
    namesrv: Arc<Namesrv>,
    server_config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let scan_interval = namesrv.config().scan_not_active_broker_interval;
    let _scanner = AbortOnDrop(tokio::spawn(expiry_scan(Arc::clone(&namesrv), scan_interval)));
    // Ready = the listener is bound and accepted from: `/readyz` follows this server's life.
    namesrv.metrics().set_ready(true);
    rpc::serve(listener, Arc::clone(&namesrv), server_config, shutdown).await;
    namesrv.metrics().set_ready(false);
}

/// Removes brokers whose registration timed out, every `interval`.
async fn expiry_scan(namesrv: Arc<Namesrv>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        namesrv.routes().expire(Instant::now());
    }
}

/// Stops a background task when the server stops.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! The broker's HTTP endpoint (axum): `/metrics` (Prometheus text format 0.0.4), `/healthz`
//! (the process answers) and `/readyz` ([`Broker::is_ready`], else 503), on
//! `metricsPromExporterHost:metricsPromExporterPort`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{error, info};

use crate::runtime::Broker;

/// Binds the endpoint of `broker` if enabled. A port that cannot be bound is logged and the
/// broker runs on without it (several brokers on one host share the default port).
pub async fn bind(broker: &Broker) -> Option<TcpListener> {
    let config = &broker.config.metrics;
    if !config.enabled() {
        return None;
    }
    let addr = SocketAddr::new(config.host, config.port);
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            info!(%addr, "serving /metrics, /healthz and /readyz");
            Some(listener)
        }
        Err(e) => {
            error!(%addr, error = %e, "cannot bind metricsPromExporterPort; metrics and probes are not served");
            None
        }
    }
}

/// Serves the endpoint until `stop` turns true.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(broker);
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        error!(error = %e, "metrics endpoint failed");
    }
}

async fn metrics(State(broker): State<Arc<Broker>>) -> impl IntoResponse {
    let families = broker.metrics.registry().gather();
    let encoder = TextEncoder::new();
    let mut body = Vec::with_capacity(64 * 1024);
    match encoder.encode(&families, &mut body) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, encoder.format_type().to_owned())], body),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            e.to_string().into_bytes(),
        ),
    }
}

async fn readyz(State(broker): State<Arc<Broker>>) -> impl IntoResponse {
    if broker.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: not registered with any NameServer\n")
    }
}

//! The NameServer's HTTP endpoint (axum), the same shape as the broker's: `/metrics`
//! (Prometheus text format 0.0.4), `/healthz` (the process answers) and `/readyz` (the remoting
//! listener is serving, else 503), on `bindAddress:metricsPromExporterPort`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::{Namesrv, NamesrvConfig};

/// Binds the endpoint if `metricsPromExporterPort` is not 0. A port that cannot be bound is
/// logged and the NameServer runs on without it.
pub async fn bind(config: &NamesrvConfig) -> Option<TcpListener> {
    if config.metrics_port == 0 {
        return None;
    }
    let addr = (config.bind_address.as_str(), config.metrics_port);
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            info!(addr = ?listener.local_addr().ok(), "serving /metrics, /healthz and /readyz");
            Some(listener)
        }
        Err(e) => {
            error!(host = %config.bind_address, port = config.metrics_port, error = %e,
                "cannot bind metricsPromExporterPort; metrics and probes are not served");
            None
        }
    }
}

/// Serves the endpoint on `listener` in a background task (abort it to stop).
pub fn spawn(listener: TcpListener, namesrv: Arc<Namesrv>) -> JoinHandle<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(namesrv);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!(error = %e, "metrics endpoint failed");
        }
    })
}

async fn metrics(State(namesrv): State<Arc<Namesrv>>) -> impl IntoResponse {
    let families = namesrv.metrics().gather(namesrv.routes());
    let encoder = TextEncoder::new();
    let mut body = Vec::with_capacity(8 * 1024);
    match encoder.encode(&families, &mut body) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, encoder.format_type().to_owned())], body),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            e.to_string().into_bytes(),
        ),
    }
}

async fn readyz(State(namesrv): State<Arc<Namesrv>>) -> impl IntoResponse {
    if namesrv.metrics().is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: the remoting listener is not serving\n")
    }
}

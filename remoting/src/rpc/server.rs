//! The accept loop: every accepted socket becomes a [`Connection`] whose requests go to one
//! [`Handler`], under a server-wide concurrency budget. A request that cannot start within
//! `max_wait` is answered `SYSTEM_BUSY` (Apache's `waitTimeMillsInSendQueue`). With TLS, each
//! accepted socket is first told apart (TLS or plaintext) and handshaken in its own task.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::connection::{Admission, Connection};
use super::tls::{Accepted, TlsServer};
use super::Handler;
use crate::frame::DEFAULT_MAX_FRAME;

/// Limits of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted frame, length field included.
    pub max_frame: usize,
    /// Requests handled at once (all connections together), long-running ones excluded.
    pub max_concurrent: usize,
    /// Long-running requests (held pulls) at once.
    pub max_long_running: usize,
    /// How long a request may wait for a slot before it is answered `SYSTEM_BUSY`.
    pub max_wait: Duration,
    /// TLS on this port (`None`: plaintext only).
    pub tls: Option<Arc<TlsServer>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame: DEFAULT_MAX_FRAME,
            max_concurrent: 1024,
            max_long_running: 65_536,
            max_wait: Duration::from_millis(200),
            tls: None,
        }
    }
}

/// Serves `listener` until `shutdown` completes; then stops accepting and returns. Connections
/// already open keep being served by their own tasks until the runtime stops.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let admission = Admission {
        normal: Arc::new(Semaphore::new(config.max_concurrent)),
        long_running: Arc::new(Semaphore::new(config.max_long_running)),
        max_wait: config.max_wait,
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                info!(%local, "stopped accepting connections");
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    let (handler, admission, max_frame) = (Arc::clone(&handler), Some(admission.clone()), config.max_frame);
                    match &config.tls {
                        None => drop(Connection::spawn(stream, handler, max_frame, admission)),
                        Some(tls) => {
                            let tls = Arc::clone(tls);
                            tokio::spawn(async move {
                                match tls.accept(stream).await {
                                    Ok(Accepted::Plain(stream)) => drop(Connection::spawn(stream, handler, max_frame, admission)),
                                    Ok(Accepted::Tls(stream)) => drop(Connection::spawn_tls(*stream, handler, max_frame, admission)),
                                    Err(reason) => info!(%peer, %reason, "connection closed before its first request"),
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    warn!(%local, error = %e, "accept failed; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

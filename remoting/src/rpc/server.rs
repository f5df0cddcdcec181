//! The accept loop: every accepted socket becomes a [`Connection`] whose requests go to one
//! [`Handler`], under a server-wide concurrency budget. A request that cannot start within
//! `max_wait` is answered `SYSTEM_BUSY` (Apache's `waitTimeMillsInSendQueue`). With TLS, each
//! accepted socket is first told apart (TLS or plaintext) and handshaken in its own task.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::connection::{Admission, Connection};
use super::tls::{Accepted, TlsServer};
use super::Handler;
use crate::config::{ConfigError, Properties};
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
    /// Open connections at once; a connection beyond is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Requests one connection may have in progress (long-running ones excepted).
    pub max_in_flight_per_connection: usize,
    /// Long-running requests (held pulls) one connection may have in progress; more are
    /// answered `SYSTEM_BUSY`.
    pub max_long_running_per_connection: usize,
    /// A connection whose writes make no progress for this long is closed (a peer that does
    /// not read its answers).
    pub write_timeout: Duration,
    /// A connection without a complete frame for this long is closed (Apache's
    /// `serverChannelMaxIdleTimeSeconds`, 120 s).
    pub idle_timeout: Duration,
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
            max_connections: 16_384,
            max_in_flight_per_connection: 256,
            max_long_running_per_connection: 4096,
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            tls: None,
        }
    }
}

impl ServerConfig {
    /// The defaults overridden by `props`: Apache's `serverChannelMaxIdleTimeSeconds` and rmq's
    /// `maxConnections`, `maxInFlightPerConnection`, `maxPendingLongPolls`,
    /// `maxPendingLongPollsPerConnection`, `serverWriteTimeoutSeconds`,
    /// `serverMaxConcurrentRequests` and `maxFrameLength`. TLS is set by the caller.
    pub fn load(props: &mut Properties) -> Result<ServerConfig, ConfigError> {
        let d = ServerConfig::default();
        Ok(ServerConfig {
            max_frame: props.get("maxFrameLength", d.max_frame)?.max(1024),
            max_concurrent: props.get("serverMaxConcurrentRequests", d.max_concurrent)?.max(1),
            max_long_running: props.get("maxPendingLongPolls", d.max_long_running)?.max(1),
            max_connections: props.get("maxConnections", d.max_connections)?.max(1),
            max_in_flight_per_connection: props.get("maxInFlightPerConnection", d.max_in_flight_per_connection)?.max(1),
            max_long_running_per_connection: props
                .get("maxPendingLongPollsPerConnection", d.max_long_running_per_connection)?
                .max(1),
            write_timeout: Duration::from_secs(
                props.get("serverWriteTimeoutSeconds", d.write_timeout.as_secs())?.max(1),
            ),
            idle_timeout: Duration::from_secs(
                props.get("serverChannelMaxIdleTimeSeconds", d.idle_timeout.as_secs())?.max(1),
            ),
            ..d
        })
    }
}

/// Apache's `serverSocketBacklog` default: connections the kernel queues before they are
/// accepted (the standard library's 128 drops bursts of new clients).
pub const LISTEN_BACKLOG: u32 = 1024;

/// Binds `addr` with address reuse and a [`LISTEN_BACKLOG`] of 1024.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
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
        per_connection: config.max_in_flight_per_connection.max(1),
        per_connection_long_running: config.max_long_running_per_connection.max(1),
        write_timeout: config.write_timeout,
        idle_timeout: config.idle_timeout,
    };
    let live = Arc::new(AtomicUsize::new(0));
    let mut last_refusal_log: Option<Instant> = None;
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
                    let Some(guard) = LiveGuard::enter(&live, config.max_connections) else {
                        if last_refusal_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                            warn!(%local, %peer, max = config.max_connections, "too many connections; closing new ones (logged every 10 s at most)");
                            last_refusal_log = Some(Instant::now());
                        }
                        drop(stream);
                        continue;
                    };
                    let (handler, admission, max_frame) = (Arc::clone(&handler), Some(admission.clone()), config.max_frame);
                    match &config.tls {
                        None => {
                            let (_, reader) = Connection::spawn(stream, handler, max_frame, admission);
                            guard.release_after(reader);
                        }
                        Some(tls) => {
                            let tls = Arc::clone(tls);
                            tokio::spawn(async move {
                                let reader = match tls.accept(stream).await {
                                    Ok(Accepted::Plain(stream)) => Connection::spawn(stream, handler, max_frame, admission).1,
                                    Ok(Accepted::Tls(stream)) => Connection::spawn_tls(tokio_rustls::TlsStream::Server(*stream), handler, max_frame, admission).1,
                                    Err(reason) => return info!(%peer, %reason, "connection closed before its first request"),
                                };
                                guard.release_after(reader);
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

/// One counted connection; the count drops when its reader task ends (or the guard is dropped
/// first, for a connection that never started).
struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    fn enter(live: &Arc<AtomicUsize>, max: usize) -> Option<LiveGuard> {
        let admitted = live.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_ok();
        admitted.then(|| LiveGuard(Arc::clone(live)))
    }

    fn release_after(self, reader: tokio::task::JoinHandle<()>) {
        tokio::spawn(async move {
            let _ = reader.await;
            drop(self);
        });
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

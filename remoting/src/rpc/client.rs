//! A pooled client: one connection per peer address, created on first use and re-created when
//! it has closed. Requests carry their own timeout; one-way requests are fire-and-forget. With
//! ACL credentials configured, every request is signed on its way out. Connecting (and a TLS
//! handshake) holds up only the callers of the same address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpStream;

use super::tls::ClientTls;
use super::{Connection, Handler, RejectAll};
use crate::acl::Credentials;
use crate::command::RemotingCommand;
use crate::error::Error;
use crate::frame::DEFAULT_MAX_FRAME;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Largest accepted frame.
    pub max_frame: usize,
    /// When set, every request is signed for this ACL account (Apache's `AclClientRPCHook`).
    pub credentials: Option<Credentials>,
    /// When set, connections use TLS (the Java client's `setUseTLS(true)`).
    pub tls: Option<ClientTls>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(3),
            max_frame: DEFAULT_MAX_FRAME,
            credentials: None,
            tls: None,
        }
    }
}

/// A connection pool keyed by `host:port`. Requests the peer sends us go to `H`.
pub struct RemotingClient<H: Handler = RejectAll> {
    config: ClientConfig,
    handler: Arc<H>,
    /// One slot per address; its async lock is held while connecting to that address only.
    pool: Mutex<HashMap<String, Slot>>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Connection>>>;

impl RemotingClient<RejectAll> {
    /// A client that rejects requests from peers.
    pub fn new(config: ClientConfig) -> Self {
        Self::with_handler(config, Arc::new(RejectAll))
    }
}

impl<H: Handler> RemotingClient<H> {
    /// A client whose peers' requests go to `handler`.
    pub fn with_handler(config: ClientConfig, handler: Arc<H>) -> Self {
        RemotingClient { config, handler, pool: Mutex::new(HashMap::new()) }
    }

    /// The live connection to `addr`, connecting if needed.
    pub async fn connection(&self, addr: &str) -> Result<Connection, Error> {
        let mut slot = loop {
            let pooled = Arc::clone(
                self.pool.lock().unwrap_or_else(PoisonError::into_inner).entry(addr.to_owned()).or_default(),
            );
            let slot = Arc::clone(&pooled).lock_owned().await;
            // `close` may have removed the slot meanwhile: use the one the pool holds now.
            let current = self.pool.lock().unwrap_or_else(PoisonError::into_inner).get(addr).cloned();
            if current.is_some_and(|c| Arc::ptr_eq(&c, &pooled)) {
                break slot;
            }
        };
        if let Some(conn) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let stream = tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Connect { addr: addr.to_owned(), reason: "timed out".into() })?
            .map_err(|e| Error::Connect { addr: addr.to_owned(), reason: e.to_string() })?;
        let (handler, max_frame) = (Arc::clone(&self.handler), self.config.max_frame);
        let (conn, _reader) = match &self.config.tls {
            None => Connection::spawn(stream, handler, max_frame, None),
            Some(tls) => {
                let stream = tls
                    .connect(addr, stream)
                    .await
                    .map_err(|reason| Error::Connect { addr: addr.to_owned(), reason })?;
                Connection::spawn_tls(tokio_rustls::TlsStream::Client(stream), handler, max_frame, None)
            }
        };
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Sends `request` to `addr` and waits for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, Error> {
        self.sign(&mut request);
        let conn = tokio::time::timeout(timeout, self.connection(addr))
            .await
            .map_err(|_| Error::Timeout { addr: addr.to_owned(), millis: timeout.as_millis() as u64 })??;
        conn.request(request, timeout).await
    }

    /// Sends a one-way request to `addr`.
    pub async fn invoke_oneway(&self, addr: &str, mut request: RemotingCommand) -> Result<(), Error> {
        self.sign(&mut request);
        self.connection(addr).await?.oneway(request).await
    }

    fn sign(&self, request: &mut RemotingCommand) {
        if let Some(credentials) = &self.config.credentials {
            credentials.sign(request);
        }
    }

    /// Closes and forgets the pooled connection to `addr`, if any.
    pub async fn close(&self, addr: &str) {
        let slot = self.pool.lock().unwrap_or_else(PoisonError::into_inner).remove(addr);
        if let Some(conn) = match slot {
            Some(slot) => slot.lock().await.take(),
            None => None,
        } {
            conn.close();
        }
    }
}

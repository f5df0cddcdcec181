//! Async RPC over remoting frames: a [`Connection`] (writer task, opaque → response matching,
//! requests from the peer handed to a [`Handler`]), a [`server`] that accepts connections with
//! bounded concurrency, and a pooled [`RemotingClient`].

mod client;
mod connection;
mod progress;
pub mod server;
pub mod signal;
pub mod tls;

pub use client::{ClientConfig, RemotingClient};
pub use connection::{Connection, ConnectionId};
pub use server::{listen, serve, ServerConfig};

use std::future::Future;

use crate::command::RemotingCommand;

/// Answers requests arriving on a connection.
///
/// `handle` returns the response, or `None` when nothing must be sent (one-way requests are never
/// answered regardless). Long-running requests (held pulls) simply await inside `handle`.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request.
    fn handle(
        &self,
        conn: Connection,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Whether requests with this code may wait a long time (long polling); they use a separate,
    /// larger concurrency budget so that held pulls never starve sends.
    fn is_long_running(&self, _code: i32) -> bool {
        false
    }

    /// Called once when a connection closes (clean or not).
    fn on_close(&self, _conn: &Connection) {}
}

/// A handler that rejects every request with `REQUEST_CODE_NOT_SUPPORTED`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RejectAll;

impl Handler for RejectAll {
    async fn handle(&self, _conn: Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        Some(not_supported(&request))
    }
}

/// The standard answer to an unknown request code.
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::error(
        request,
        crate::code::ResponseCode::RequestCodeNotSupported,
        format!(" request type {} not supported", request.code),
    )
}

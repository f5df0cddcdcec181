//! Errors of the remoting layer: malformed frames and headers, and RPC failures.
//! An incomplete frame is not an error: the codec simply waits for more bytes.

use std::io;

/// Errors raised while decoding a frame or talking to a peer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The frame announces more bytes than the configured maximum.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The bytes do not form a valid frame or header.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// Socket I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// Could not connect to a peer in time.
    #[error("connect to {addr} failed: {reason}")]
    Connect {
        /// Peer address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout {
        /// Peer address.
        addr: String,
        /// Timeout that expired.
        millis: u64,
    },
    /// The connection closed before the answer arrived.
    #[error("connection to {0} closed")]
    ConnectionClosed(String),
}

/// Shorthand result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

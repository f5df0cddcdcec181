//! Errors that stop the NameServer or fail one of its operations. Request-level failures are
//! answered on the wire instead (see `processor::RequestError`).

use std::path::PathBuf;

use rmq_remoting::config::ConfigError;

/// A NameServer error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The KV config file could not be read or written.
    #[error("cannot {action} KV config file {}: {source}", path.display())]
    KvIo {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The KV config file is not valid JSON.
    #[error("KV config file {} is corrupt: {source}", path.display())]
    KvCorrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Socket I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

//! The store's error type: what a put, a flush or opening the store can fail with.

use std::io;
use std::path::PathBuf;

/// Errors of the message store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A store file is not what the on-disk format allows (wrong length, bad name…).
    #[error("corrupt store file {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Byte offset (within the file, or the file's start offset for whole-file problems).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The message cannot be stored as given (size limits, bad topic, mixed batch…).
    #[error("message illegal: {0}")]
    MessageIllegal(String),
    /// The store does not accept writes (shut down, or poisoned by an earlier write failure).
    #[error("store service unavailable: {0}")]
    ServiceUnavailable(String),
    /// Forcing the CommitLog to disk failed, so a `SYNC_FLUSH` put is not known to be durable.
    #[error("flushing the CommitLog failed: {0}")]
    FlushFailed(String),
    /// Another store (in this or another process) holds the lock on the root directory.
    #[error("store at {} is locked by another process", .0.display())]
    Locked(PathBuf),
    /// The configuration is unusable.
    #[error("invalid store config: {0}")]
    Config(String),
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io { path: path.into(), source }
    }
}

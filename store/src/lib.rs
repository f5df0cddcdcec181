//! rmq message store: CommitLog, ConsumeQueues and IndexFiles on memory-mapped files, in Apache
//! RocketMQ's on-disk format, with crash recovery. It knows nothing of request processing,
//! networking or replication; the broker's processors call [`MessageStore`].
//!
//! # Layout
//! - [`config`]: [`StoreConfig`], [`FlushMode`] (Apache defaults).
//! - [`error`]: the [`StoreError`] enum.
//! - [`file_layer`]: the [`FileLayer`] trait every store file is created and synced through
//!   ([`OsFiles`] in production; tests plug in a power-cut simulation).
//! - `mapped_file`: preallocated mmapped files (append-only, and rewritable for IndexFiles); the
//!   only `unsafe` in the crate.
//! - `mapped_queue`: ordered files named by their 20-digit start offset (roll, find, truncate).
//! - `commitlog`: record reads, appends with BLANK padding and rolling, startup recovery,
//!   replication chunks ([`ReplicaChunk`]).
//! - `consumequeue`: 20-byte entries per (topic, queue) and the registry of all queues.
//! - `index`: IndexFiles mapping `topic#key` (KEYS tokens, UNIQ_KEY) to CommitLog offsets.
//! - `flush`: the flush path (CommitLog, ConsumeQueues, checkpoint) and the background flush
//!   thread (every interval under [`FlushMode::Async`], the ConsumeQueues and checkpoint only
//!   under [`FlushMode::Sync`]).
//! - `group_commit`: the `SYNC_FLUSH` group commit: one CommitLog flush for every put waiting
//!   on a [`Durable`].
//! - `instance`: the `lock` file (one store per root) and the `abort` marker (unclean stop).
//! - `checkpoint`: the 4096-byte `checkpoint` file of flushed timestamps (Apache 5.x layout).
//! - `retention`: the cleaning thread, disk usage and the disk-full flag.
//! - `periodic`: the interval thread both background tasks run on.
//! - `message_store`: [`MessageStore`]: open (lock + recover + re-dispatch), put, read,
//!   lookups, queries by key, retention passes.
//!
//! Records are encoded and decoded with `rmq_remoting::message::record`, so a stored record is
//! byte for byte what a pull response carries.

pub mod config;
pub mod error;
pub mod file_layer;

mod checkpoint;
mod commitlog;
mod consumequeue;
mod flush;
mod group_commit;
mod index;
mod instance;
mod mapped_file;
mod mapped_queue;
mod message_store;
mod periodic;
mod prefault;
mod retention;

pub use commitlog::ReplicaChunk;
pub use config::{FlushMode, StoreConfig};
pub use error::StoreError;
pub use file_layer::{FileLayer, OsFiles, SyncRange};
pub use group_commit::Durable;
pub use message_store::{
    ArrivalListener, Boundary, MessageStore, NewMessage, PutOk, QueryResult, ReadResult, ReadStatus,
};

/// Current wall-clock time in ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

//! [`MessageStore`]: the store's public face. Opening locks the root, recovers the files
//! (see [`open`]) and starts the flush and cleaning threads; appends are in [`put`], reads and
//! offset lookups in [`read`], queries by key in [`query`], the rebuilding of ConsumeQueues and
//! the index from the CommitLog in [`dispatch`], retention in [`clean`], replication chunks in
//! [`replica`].

mod clean;
mod dispatch;
mod open;
mod put;
mod query;
mod read;
mod replica;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::{Bytes, BytesMut};

use crate::checkpoint::Field;
use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::consumequeue::table::QueueTable;
use crate::error::StoreError;
use crate::flush::{FlushTargets, Flusher};
use crate::group_commit::GroupCommit;
use crate::index::IndexService;
use crate::instance::{AbortFile, StoreLock};
use crate::retention::{Cleaner, DiskFlag};

pub use put::{NewMessage, PutOk};
pub use query::QueryResult;
pub use read::{Boundary, ReadResult, ReadStatus};

/// Callback run after messages become readable: `(topic, queue_id, new max offset)`.
pub type ArrivalListener = dyn Fn(&str, i32, i64) + Send + Sync;

/// State owned by the put lock: everything that must advance in CommitLog order.
#[derive(Debug)]
struct PutState {
    /// Last STORETIMESTAMP written; timestamps never go backwards with offsets.
    last_store_timestamp: i64,
    /// Reused encode buffer.
    buf: BytesMut,
}

/// The message store: a CommitLog plus ConsumeQueues and the message index. `Send + Sync`,
/// shared in an `Arc`; its methods are synchronous and fast (memory copies into and out of
/// mapped files).
pub struct MessageStore {
    config: StoreConfig,
    commit_log: Arc<CommitLog>,
    queues: Arc<QueueTable>,
    /// `None` when `message_index_enable` is off.
    index: Option<IndexService>,
    put_lock: Mutex<PutState>,
    listener: RwLock<Option<Arc<ArrivalListener>>>,
    flusher: Mutex<Option<Flusher>>,
    /// Maps the CommitLog's next pages ahead of the appends ([`crate::prefault`]).
    prefaulter: Mutex<Option<crate::periodic::Periodic>>,
    /// The `SYNC_FLUSH` group commit (`None` under `ASYNC_FLUSH`).
    group_commit: Option<GroupCommit>,
    /// The flush path and the checkpoint.
    durable: Arc<FlushTargets>,
    cleaner: Mutex<Option<Cleaner>>,
    /// Serializes cleaning passes (thread and [`MessageStore::clean_now`]).
    clean_lock: Mutex<()>,
    disk: DiskFlag,
    /// The `<root>/lock` lock, held until shutdown.
    lock: Mutex<Option<StoreLock>>,
    abort: AbortFile,
    closed: AtomicBool,
    /// Set when a ConsumeQueue or index write failed after its CommitLog append: they disagree
    /// until the next open rebuilds them, so further writes are refused.
    poisoned: AtomicBool,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root_dir", &self.config.root_dir)
            .field("commit_log_max_offset", &self.commit_log.max_offset())
            .finish_non_exhaustive()
    }
}

impl MessageStore {
    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The raw stored record at a CommitLog offset (VIEW_MESSAGE_BY_ID), if one starts there.
    pub fn message_at(&self, commit_log_offset: i64) -> Option<Bytes> {
        self.commit_log.record_at(commit_log_offset)
    }

    /// Offset of the oldest CommitLog byte still stored.
    pub fn commit_log_min_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    /// Offset where the next CommitLog record will go.
    pub fn commit_log_max_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// CommitLog bytes written but not yet flushed (Apache's flush-behind bytes).
    pub fn commit_log_flush_behind(&self) -> u64 {
        self.commit_log.unflushed()
    }

    /// Queue ids of `topic` that have a ConsumeQueue, ascending.
    pub fn queue_ids(&self, topic: &str) -> Vec<i32> {
        self.queues.queue_ids(topic)
    }

    /// Drops `topic`'s ConsumeQueues and their files (its CommitLog records stay until
    /// retention). Errors deleting files are logged.
    pub fn delete_topic(&self, topic: &str) {
        // Under the put lock, so no put recreates a queue while its files are being deleted.
        let _guard = self.put_lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = self.queues.remove_topic(topic) {
            tracing::error!(topic, error = %e, "deleting ConsumeQueue files failed");
        }
    }

    /// Installs the callback run after messages become readable (replacing any earlier one).
    pub fn set_arrival_listener(&self, listener: Box<ArrivalListener>) {
        *self.listener.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::from(listener));
    }

    fn notify_arrival(&self, topic: &str, queue_id: i32, max_offset: i64) {
        let listener = self.listener.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(listener) = listener {
            listener(topic, queue_id, max_offset);
        }
    }

    /// Forces the CommitLog, every ConsumeQueue and the IndexFiles to disk, and records it in
    /// the checkpoint.
    pub fn flush(&self) -> Result<(), StoreError> {
        let through = self.durable.stored_through.load(Ordering::Acquire);
        self.durable.flush_logs()?;
        if let Some(index) = &self.index {
            index.flush()?;
        }
        self.durable.checkpoint.set(Field::IndexMsgTimestamp, through);
        self.durable.checkpoint.flush()
    }

    fn stop_threads(&self) {
        if let Some(mut cleaner) = self.cleaner.lock().unwrap_or_else(PoisonError::into_inner).take() {
            cleaner.stop();
        }
        if let Some(mut flusher) = self.flusher.lock().unwrap_or_else(PoisonError::into_inner).take() {
            flusher.stop();
        }
        if let Some(mut prefaulter) = self.prefaulter.lock().unwrap_or_else(PoisonError::into_inner).take() {
            prefaulter.stop();
        }
        if let Some(group_commit) = &self.group_commit {
            group_commit.stop();
        }
    }

    /// Stops the flush and cleaning threads, waits for in-flight puts, flushes everything,
    /// forces the checkpoint, deletes the `abort` file (a clean stop: the next open trusts the
    /// ConsumeQueues) and releases the lock; later puts are refused. Idempotent; also run on
    /// drop. If the flush fails, `abort` stays and the next open validates everything.
    pub fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_threads();
        let _guard = self.put_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let clean = !self.poisoned.load(Ordering::Acquire);
        match self.flush() {
            Ok(()) if clean => match self.abort.remove() {
                Ok(()) => tracing::info!(max_offset = self.commit_log.max_offset(), "message store shut down"),
                Err(e) => tracing::error!(error = %e, "deleting the abort file failed"),
            },
            Ok(()) => tracing::warn!("message store shut down after a write error; the next open recovers fully"),
            Err(e) => tracing::error!(error = %e, "flush at shutdown failed; the next open recovers fully"),
        }
        self.lock.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Stops the store the way a crash (`kill -9`) would, for tests and crash drills: the
    /// threads end and the lock is released, but nothing is flushed and the `abort` file stays,
    /// so the next open recovers as after a crash. Later puts are refused.
    pub fn abandon(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_threads();
        let _guard = self.put_lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.lock.lock().unwrap_or_else(PoisonError::into_inner).take();
        tracing::warn!("message store abandoned without a clean shutdown");
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

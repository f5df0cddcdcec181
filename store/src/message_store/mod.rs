//! [`MessageStore`]: the store's public face. Opening recovers the files and starts the flush
//! thread; appends are in [`put`], reads and offset lookups in [`read`], queries by key in
//! [`query`], the rebuilding of ConsumeQueues and the index from the CommitLog in [`dispatch`].

mod dispatch;
mod put;
mod query;
mod read;

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::{Bytes, BytesMut};
use rmq_remoting::message::record::peek_header;

use crate::commitlog::CommitLog;
use crate::config::{FlushMode, StoreConfig};
use crate::consumequeue::table::{load_queues, QueueTable};
use crate::error::StoreError;
use crate::flush::Flusher;
use crate::index::IndexService;

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
    /// Opens (or creates) the store: loads the CommitLog and cuts its torn tail, loads the
    /// ConsumeQueues and IndexFiles and drops entries beyond the CommitLog end, re-dispatches
    /// records the queues or the index do not cover, then starts the flush thread.
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>, StoreError> {
        let (commit_log_size, queue_size) = config.checked_file_sizes()?;
        for dir in [&config.root_dir, &config.commit_log_dir] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let mut commit_log = CommitLog::load(&config.commit_log_dir, commit_log_size)?;
        let end = commit_log.recover()?;
        let queue_root = config.consume_queue_dir();
        let mut loaded = load_queues(&queue_root, queue_size)?;
        for queue in &mut loaded {
            queue.recover(commit_log.min_offset(), end)?;
        }
        let queues = Arc::new(QueueTable::new(queue_root, queue_size, loaded));
        let index = if config.message_index_enable {
            let (slots, entries) = config.checked_index_geometry()?;
            let store_time =
                |offset| commit_log.record_at(offset).and_then(|r| peek_header(&r).ok()).map(|h| h.store_timestamp);
            Some(IndexService::load(&config.index_dir(), slots, entries, end, &store_time)?)
        } else {
            None
        };
        let last_store_timestamp = dispatch::redispatch(&commit_log, &queues, index.as_ref())?;
        let commit_log = Arc::new(commit_log);
        let flusher = match config.flush {
            FlushMode::Async { interval } => {
                Some(Flusher::start(interval, Arc::clone(&commit_log), Arc::clone(&queues))?)
            }
            FlushMode::Sync => None,
        };
        Ok(Arc::new(MessageStore {
            config,
            commit_log,
            queues,
            index,
            put_lock: Mutex::new(PutState { last_store_timestamp, buf: BytesMut::new() }),
            listener: RwLock::new(None),
            flusher: Mutex::new(flusher),
            closed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
        }))
    }

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

    /// Forces the CommitLog, every ConsumeQueue and the IndexFiles to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.commit_log.flush()?;
        self.queues.flush()?;
        self.index.as_ref().map_or(Ok(()), IndexService::flush)
    }

    /// Stops the flush thread, waits for in-flight puts, flushes everything and refuses later
    /// puts. Idempotent; also run on drop.
    pub fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(mut flusher) = self.flusher.lock().unwrap_or_else(PoisonError::into_inner).take() {
            flusher.stop();
        }
        let _guard = self.put_lock.lock().unwrap_or_else(PoisonError::into_inner);
        match self.flush() {
            Ok(()) => tracing::info!(max_offset = self.commit_log.max_offset(), "message store shut down"),
            Err(e) => tracing::error!(error = %e, "flush at shutdown failed"),
        }
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

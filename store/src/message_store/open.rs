//! Opening the store (Apache `load`, `recover` and `start`): lock the root, recover the
//! CommitLog, ConsumeQueues and IndexFiles, re-dispatch what they miss, create `abort`, start
//! the flush and cleaning threads.
//!
//! Without an `abort` file the previous run shut down cleanly: the ConsumeQueues are trusted,
//! and the CommitLog is validated and re-dispatched only from the file holding the end of the
//! last message they point at (Apache 5.x normal recovery), so a restart costs about one file
//! whatever the CommitLog size (further back if a ConsumeQueue file was damaged). With `abort`
//! present every CommitLog file is validated (body CRCs included) from the first, and the
//! queues and index are cut to what it holds.

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::{Arc, Mutex, RwLock};

use bytes::BytesMut;
use rmq_remoting::message::record::peek_header;

use super::{dispatch, MessageStore, PutState};
use crate::checkpoint::{Checkpoint, Field};
use crate::commitlog::CommitLog;
use crate::config::{FlushMode, StoreConfig};
use crate::consumequeue::table::{load_queues, QueueTable};
use crate::consumequeue::ConsumeQueue;
use crate::error::StoreError;
use crate::file_layer::{FileLayer, OsFiles};
use crate::flush::{start_flusher, FlushTargets};
use crate::group_commit::GroupCommit;
use crate::index::IndexService;
use crate::instance::{AbortFile, StoreLock};
use crate::retention::usage::usage_ratio;
use crate::retention::{start_cleaner, DiskFlag};

/// How often the ConsumeQueues and the checkpoint are flushed under `SYNC_FLUSH` (Apache's
/// `flushIntervalConsumeQueue` default).
const QUEUE_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

impl MessageStore {
    /// Opens (or creates) the store: takes the `<root>/lock` lock ([`StoreError::Locked`] if
    /// another store holds it), recovers the CommitLog (cutting a torn tail), the ConsumeQueues
    /// and the IndexFiles, re-dispatches records they do not cover, creates the `abort` file
    /// and starts the flush and cleaning threads.
    pub fn open(config: StoreConfig) -> Result<Arc<MessageStore>, StoreError> {
        Self::open_with_files(config, Arc::new(OsFiles))
    }

    /// [`MessageStore::open`] on another file layer than the operating system's [`OsFiles`]:
    /// for tests that simulate what a power cut leaves on disk.
    pub fn open_with_files(config: StoreConfig, layer: Arc<dyn FileLayer>) -> Result<Arc<MessageStore>, StoreError> {
        let (commit_log_size, queue_size) = config.checked_file_sizes()?;
        for dir in [&config.root_dir, &config.commit_log_dir] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let lock = StoreLock::acquire(&config.root_dir)?;
        let abort = AbortFile::new(&config.root_dir, &layer);
        let clean = !abort.exists();
        let checkpoint = Checkpoint::open(&config.root_dir.join("checkpoint"), &layer)?;
        let mut commit_log = CommitLog::load(&config.commit_log_dir, commit_log_size, &layer)?;
        if matches!(config.flush, FlushMode::Sync) {
            commit_log = commit_log.with_small_flushes();
        }
        let mut loaded = load_queues(&config.consume_queue_dir(), queue_size, &layer)?;
        let min = commit_log.min_offset();
        let from = if clean {
            for queue in &mut loaded {
                queue.recover(min, i64::MAX)?;
            }
            let dispatched = loaded.iter().filter_map(ConsumeQueue::last_entry_end).max();
            // A queue cut short by a damaged file is rebuilt from where its entries stop.
            let damaged = loaded.iter().filter(|q| q.was_damaged()).map(|q| q.last_entry_end().unwrap_or(min)).min();
            let from = dispatched.map_or(min, |end| commit_log.file_start_of(end));
            damaged.map_or(from, |end| from.min(commit_log.file_start_of(end)))
        } else {
            tracing::warn!(root = %config.root_dir.display(),
                "abort file found: the last run did not shut down cleanly; validating the whole CommitLog");
            min
        };
        let recovered = commit_log.recover(from)?;
        let end = match config.truncate_commit_log_to {
            Some(offset) => commit_log.cut_back(offset)?,
            None => recovered,
        };
        // Index entries beyond a cut are validated away as after a crash.
        let cut = end < recovered;
        for queue in &mut loaded {
            queue.recover(commit_log.min_offset(), end)?;
        }
        let queues = Arc::new(QueueTable::new(config.consume_queue_dir(), queue_size, loaded, &layer));
        let index = if config.message_index_enable {
            let (slots, entries) = config.checked_index_geometry()?;
            let store_time =
                |offset| commit_log.record_at(offset).and_then(|r| peek_header(&r).ok()).map(|h| h.store_timestamp);
            let stored = (commit_log.min_offset(), end);
            Some(IndexService::load(&config.index_dir(), slots, entries, stored, !clean || cut, &store_time, &layer)?)
        } else {
            None
        };
        let redispatch_from = match &index {
            Some(index) if clean => from.min(index.indexed_through().unwrap_or(min)),
            _ if clean => from,
            _ => min,
        };
        let done = dispatch::redispatch(&commit_log, &queues, index.as_ref(), redispatch_from, false)?;
        if done.entries > 0 {
            tracing::info!(entries = done.entries, cuts = done.cuts, "rebuilt ConsumeQueue entries from the CommitLog");
        }
        if done.keys > 0 {
            tracing::info!(keys = done.keys, "rebuilt index keys from the CommitLog");
        }
        let last_store_timestamp = done.last_store_timestamp.max(checkpoint.get(Field::PhysicMsgTimestamp));
        abort.create()?;
        let commit_log = Arc::new(commit_log);
        let durable = Arc::new(FlushTargets {
            commit_log: Arc::clone(&commit_log),
            queues: Arc::clone(&queues),
            checkpoint,
            stored_through: AtomicI64::new(last_store_timestamp),
        });
        // Under SYNC_FLUSH the group commit forces the CommitLog; the flush thread still
        // forces the ConsumeQueues and the checkpoint (Apache's flushIntervalConsumeQueue).
        let (interval, group_commit) = match config.flush {
            FlushMode::Async { interval } => (interval, None),
            FlushMode::Sync => (QUEUE_FLUSH_INTERVAL, Some(GroupCommit::start(Arc::clone(&commit_log))?)),
        };
        let flusher = Some(start_flusher(interval, Arc::clone(&durable))?);
        let prewrite = group_commit.is_some();
        let prefaulter = Some(crate::prefault::start(Arc::clone(&commit_log), prewrite)?);
        let clean_interval = config.clean_resource_interval;
        let store = Arc::new(MessageStore {
            config,
            commit_log,
            queues,
            index,
            put_lock: Mutex::new(PutState { last_store_timestamp, buf: BytesMut::new() }),
            listener: RwLock::new(None),
            flusher: Mutex::new(flusher),
            prefaulter: Mutex::new(prefaulter),
            group_commit,
            durable,
            cleaner: Mutex::new(None),
            clean_lock: Mutex::new(()),
            disk: DiskFlag::default(),
            lock: Mutex::new(Some(lock)),
            abort,
            closed: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
        });
        match usage_ratio(&store.config) {
            Ok(ratio) => {
                let (_, forcibly, warning) = store.config.usage_thresholds();
                store.disk.update(ratio, forcibly, warning);
            }
            Err(e) => tracing::warn!(error = %e, "cannot measure disk usage"),
        }
        let cleaner = start_cleaner(clean_interval, Arc::downgrade(&store))?;
        *store.cleaner.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cleaner);
        tracing::info!(clean, from, end, "message store opened");
        Ok(store)
    }
}

//! Replication through the store: a master hands out [`ReplicaChunk`]s of its CommitLog, a
//! slave appends them verbatim and dispatches the records to its own ConsumeQueues and index
//! (Apache's HA transfer and the slave's reput). Transport, acknowledgements and roles belong to
//! the broker.

use std::sync::atomic::Ordering;

use super::{dispatch, MessageStore};
use crate::commitlog::ReplicaChunk;
use crate::error::StoreError;

impl MessageStore {
    /// Where replication to a slave whose CommitLog ends at `slave_offset` starts: there, or
    /// for an empty slave (`0`) the start of the master's last CommitLog file, as Apache does
    /// (a new slave does not copy the whole history).
    pub fn replication_start(&self, slave_offset: i64) -> i64 {
        if slave_offset > 0 {
            return slave_offset;
        }
        let max = self.commit_log.max_offset();
        let size = self.commit_log.file_size() as i64;
        // A full last file ends exactly at a boundary: start with the next one.
        (max - max % size).max(self.commit_log.min_offset())
    }

    /// Up to about `max_bytes` of whole CommitLog records from `offset` for a slave, or `None`
    /// when nothing new is written yet.
    pub fn replication_chunk(&self, offset: i64, max_bytes: usize) -> Result<Option<ReplicaChunk>, StoreError> {
        self.commit_log.replica_chunk(offset, max_bytes)
    }

    /// Appends a chunk received from the master at `offset` (this store's CommitLog end, or a
    /// file start if it is empty), dispatches its records and wakes their readers; returns the
    /// new CommitLog end, which the slave reports to the master. A chunk that does not continue
    /// this log is refused; at a damaged record the append stops with an error, keeping (and
    /// dispatching) the records before it.
    pub fn append_replicated(&self, offset: i64, chunk: &[u8]) -> Result<i64, StoreError> {
        self.check_writable()?;
        let grown = {
            let mut state = self
                .put_lock
                .lock()
                .map_err(|_| StoreError::ServiceUnavailable("message store poisoned by a panic during a put".into()))?;
            let before = self.commit_log.max_offset();
            let appended = self.commit_log.append_replica(offset, chunk);
            if self.commit_log.max_offset() == before {
                return appended;
            }
            let done = dispatch::redispatch(&self.commit_log, &self.queues, self.index.as_ref(), offset, true)
                .inspect_err(|_| self.poisoned.store(true, Ordering::Release))?;
            state.last_store_timestamp = state.last_store_timestamp.max(done.last_store_timestamp);
            self.durable.stored_through.fetch_max(done.last_store_timestamp, Ordering::AcqRel);
            appended.map(|_| done.grown)
        };
        for ((topic, queue_id), max) in grown? {
            self.notify_arrival(&topic, queue_id, max);
        }
        Ok(self.commit_log.max_offset())
    }
}

//! The flush path: [`FlushTargets`] forces the CommitLog and the ConsumeQueues and records in
//! the checkpoint how far they are durable; under `FlushMode::Async` a background thread runs it
//! every interval until stopped.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::checkpoint::{Checkpoint, Field};
use crate::commitlog::CommitLog;
use crate::consumequeue::table::QueueTable;
use crate::error::StoreError;
use crate::periodic::Periodic;

/// What the flush path forces, and the checkpoint it records progress in.
#[derive(Debug)]
pub(crate) struct FlushTargets {
    /// The CommitLog.
    pub(crate) commit_log: Arc<CommitLog>,
    /// The ConsumeQueues.
    pub(crate) queues: Arc<QueueTable>,
    /// `<root>/checkpoint`.
    pub(crate) checkpoint: Checkpoint,
    /// STORETIMESTAMP of the newest message whose CommitLog, queue and index writes are done.
    pub(crate) stored_through: AtomicI64,
}

impl FlushTargets {
    /// Forces the CommitLog then the ConsumeQueues, sets `physicMsgTimestamp`,
    /// `logicsMsgTimestamp` and `confirmPhyOffset` to what was written before the flush, and
    /// forces the checkpoint if it changed.
    pub(crate) fn flush_logs(&self) -> Result<(), StoreError> {
        // Read before flushing: everything up to these is written, so the flush covers it.
        let through = self.stored_through.load(Ordering::Acquire);
        let end = self.commit_log.max_offset();
        if self.commit_log.is_dirty() {
            self.commit_log.flush()?;
        }
        self.queues.flush()?;
        let cp = &self.checkpoint;
        if cp.get(Field::PhysicMsgTimestamp) != through || cp.get(Field::ConfirmPhyOffset) != end {
            cp.set(Field::PhysicMsgTimestamp, through);
            cp.set(Field::LogicsMsgTimestamp, through);
            cp.set(Field::ConfirmPhyOffset, end);
            cp.flush()?;
        }
        Ok(())
    }
}

/// The flush thread of `FlushMode::Async`.
pub(crate) type Flusher = Periodic;

/// Starts the flush thread: every `interval`, [`FlushTargets::flush_logs`].
pub(crate) fn start_flusher(interval: Duration, targets: Arc<FlushTargets>) -> Result<Flusher, StoreError> {
    Periodic::start("rmq-store-flush", interval, move || {
        if let Err(e) = targets.flush_logs() {
            tracing::error!(error = %e, "store flush failed");
        }
        ControlFlow::Continue(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn flushes_every_interval_and_stops_promptly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layer: crate::file_layer::Layer = Arc::new(crate::file_layer::OsFiles);
        let commit_log = Arc::new(CommitLog::load(&dir.path().join("commitlog"), 4096, &layer).expect("load"));
        let queues = Arc::new(QueueTable::new(dir.path().join("consumequeue"), 200, Vec::new(), &layer));
        let checkpoint = Checkpoint::open(&dir.path().join("checkpoint"), &layer).expect("checkpoint");
        let targets = Arc::new(FlushTargets {
            commit_log: Arc::clone(&commit_log),
            queues,
            checkpoint,
            stored_through: AtomicI64::new(0),
        });
        commit_log.reserve(100).expect("room");
        commit_log.append(&[1; 100]).expect("append");
        targets.stored_through.store(42, Ordering::Release);
        assert!(commit_log.is_dirty());
        let mut flusher = start_flusher(Duration::from_millis(5), Arc::clone(&targets)).expect("start");
        let deadline = Instant::now() + Duration::from_secs(5);
        while commit_log.is_dirty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(!commit_log.is_dirty(), "flush thread flushed the append");
        flusher.stop();
        flusher.stop();
        assert_eq!(targets.checkpoint.get(Field::PhysicMsgTimestamp), 42);
        assert_eq!(targets.checkpoint.get(Field::LogicsMsgTimestamp), 42);
        assert_eq!(targets.checkpoint.get(Field::ConfirmPhyOffset), 100);

        let mut slow = start_flusher(Duration::from_secs(3600), targets).expect("start");
        let started = Instant::now();
        slow.stop();
        assert!(started.elapsed() < Duration::from_secs(5), "stop does not wait for the interval");
    }
}

//! The flush path: [`FlushTargets`] forces the CommitLog and the ConsumeQueues and records in
//! the checkpoint how far they are durable; under `FlushMode::Async` a background thread runs it
//! every interval until stopped.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, Field};
use crate::commitlog::CommitLog;
use crate::consumequeue::table::QueueTable;
use crate::error::StoreError;

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

/// Handle of the running flush thread; [`Flusher::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the thread.
    pub(crate) fn start(interval: Duration, targets: Arc<FlushTargets>) -> Result<Flusher, StoreError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("rmq-store-flush".into())
            .spawn(move || run(interval, &signal, &targets))
            .map_err(|e| StoreError::io("rmq-store-flush thread", e))?;
        Ok(Flusher { stop, handle: Some(handle) })
    }

    /// Signals the thread and waits for it to finish; idempotent.
    pub(crate) fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!("store flush thread panicked");
            }
        }
    }
}

fn run(interval: Duration, stop: &(Mutex<bool>, Condvar), targets: &FlushTargets) {
    let (stopped, wake) = stop;
    loop {
        let deadline = Instant::now() + interval;
        let mut guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        while !*guard {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = wake.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        if *guard {
            return;
        }
        drop(guard);
        if let Err(e) = targets.flush_logs() {
            tracing::error!(error = %e, "store flush failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_every_interval_and_stops_promptly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commit_log = Arc::new(CommitLog::load(&dir.path().join("commitlog"), 4096).expect("load"));
        let queues = Arc::new(QueueTable::new(dir.path().join("consumequeue"), 200, Vec::new()));
        let checkpoint = Checkpoint::open(&dir.path().join("checkpoint")).expect("checkpoint");
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
        let mut flusher = Flusher::start(Duration::from_millis(5), Arc::clone(&targets)).expect("start");
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

        let mut slow = Flusher::start(Duration::from_secs(3600), targets).expect("start");
        let started = Instant::now();
        slow.stop();
        assert!(started.elapsed() < Duration::from_secs(5), "stop does not wait for the interval");
    }
}

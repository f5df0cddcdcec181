//! The background flush thread of `FlushMode::Async`: flushes the CommitLog and the
//! ConsumeQueues every interval until stopped.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::commitlog::CommitLog;
use crate::consumequeue::table::QueueTable;
use crate::error::StoreError;

/// Handle of the running flush thread; [`Flusher::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the thread.
    pub(crate) fn start(
        interval: Duration,
        commit_log: Arc<CommitLog>,
        queues: Arc<QueueTable>,
    ) -> Result<Flusher, StoreError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("rmq-store-flush".into())
            .spawn(move || run(interval, &signal, &commit_log, &queues))
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

fn run(interval: Duration, stop: &(Mutex<bool>, Condvar), commit_log: &CommitLog, queues: &QueueTable) {
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
        // Checking first avoids snapshotting the file list when nothing was appended.
        if commit_log.is_dirty() {
            if let Err(e) = commit_log.flush() {
                tracing::error!(error = %e, "CommitLog flush failed");
            }
        }
        if let Err(e) = queues.flush() {
            tracing::error!(error = %e, "ConsumeQueue flush failed");
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
        commit_log.reserve(100).expect("room");
        commit_log.append(&[1; 100]).expect("append");
        assert!(commit_log.is_dirty());
        let mut flusher =
            Flusher::start(Duration::from_millis(5), Arc::clone(&commit_log), Arc::clone(&queues)).expect("start");
        let deadline = Instant::now() + Duration::from_secs(5);
        while commit_log.is_dirty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(!commit_log.is_dirty(), "flush thread flushed the append");
        flusher.stop();
        flusher.stop();

        let mut slow = Flusher::start(Duration::from_secs(3600), commit_log, queues).expect("start");
        let started = Instant::now();
        slow.stop();
        assert!(started.elapsed() < Duration::from_secs(5), "stop does not wait for the interval");
    }
}

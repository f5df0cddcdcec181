//! Retention and disk-full protection (Apache `CleanCommitLogService`,
//! `CleanConsumeQueueService` and the `DISK_FULL` running flag): the periodic cleaning thread
//! and the flag puts check. The cleaning pass itself is `MessageStore::clean_now`
//! (`message_store/clean.rs`); usage and hour rules are in [`usage`].

pub(crate) mod usage;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::message_store::MessageStore;

/// The `DISK_FULL` flag: set when usage reaches the warning level, cleared when it falls to the
/// clean-forcibly level or below (Apache's hysteresis). Each transition is logged once.
#[derive(Debug, Default)]
pub(crate) struct DiskFlag {
    full: AtomicBool,
}

impl DiskFlag {
    /// Whether writes are refused for lack of disk space.
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Updates the flag from a usage measurement.
    pub(crate) fn update(&self, usage: f64, forcibly: f64, warning: f64) {
        let percent = usage * 100.0;
        if usage >= warning {
            if !self.full.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    usage = format!("{percent:.1}%"),
                    warning = format!("{:.0}%", warning * 100.0),
                    "disk full: store usage reached the warning level; writes are refused until space is freed"
                );
            }
        } else if usage <= forcibly && self.full.swap(false, Ordering::AcqRel) {
            tracing::info!(usage = format!("{percent:.1}%"), "disk space freed: the store accepts writes again");
        }
    }
}

/// Handle of the cleaning thread; [`Cleaner::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Cleaner {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Cleaner {
    /// Starts a thread running a cleaning pass of `store` every `interval` while it lives.
    pub(crate) fn start(interval: Duration, store: Weak<MessageStore>) -> Result<Cleaner, StoreError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("rmq-store-clean".into())
            .spawn(move || run(interval, &signal, &store))
            .map_err(|e| StoreError::io("rmq-store-clean thread", e))?;
        Ok(Cleaner { stop, handle: Some(handle) })
    }

    /// Signals the thread and waits for its current pass; idempotent. Called from the thread
    /// itself (it held the last reference to the store), it only signals.
    pub(crate) fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(handle) = self.handle.take() {
            if handle.thread().id() != std::thread::current().id() && handle.join().is_err() {
                tracing::error!("store cleaning thread panicked");
            }
        }
    }
}

fn run(interval: Duration, stop: &(Mutex<bool>, Condvar), store: &Weak<MessageStore>) {
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
        let Some(store) = store.upgrade() else { return };
        store.clean_pass(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_flag_sets_at_warning_and_clears_at_forcibly_level() {
        let flag = DiskFlag::default();
        flag.update(0.89, 0.85, 0.90);
        assert!(!flag.is_full());
        flag.update(0.90, 0.85, 0.90);
        assert!(flag.is_full());
        flag.update(0.87, 0.85, 0.90);
        assert!(flag.is_full(), "between the levels the flag stays");
        flag.update(0.85, 0.85, 0.90);
        assert!(!flag.is_full());
    }
}

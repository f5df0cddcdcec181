//! Retention and disk-full protection (Apache `CleanCommitLogService`,
//! `CleanConsumeQueueService` and the `DISK_FULL` running flag): the periodic cleaning thread
//! and the flag puts check. The cleaning pass itself is `MessageStore::clean_now`
//! (`message_store/clean.rs`); usage and hour rules are in [`usage`].

pub(crate) mod usage;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Weak;
use std::time::Duration;

use crate::error::StoreError;
use crate::message_store::MessageStore;
use crate::periodic::Periodic;

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

/// The cleaning thread.
pub(crate) type Cleaner = Periodic;

/// Starts a thread running a cleaning pass of `store` every `interval` while the store lives.
pub(crate) fn start_cleaner(interval: Duration, store: Weak<MessageStore>) -> Result<Cleaner, StoreError> {
    Periodic::start("rmq-store-clean", interval, move || match store.upgrade() {
        Some(store) => {
            store.clean_pass(false);
            ControlFlow::Continue(())
        }
        None => ControlFlow::Break(()),
    })
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

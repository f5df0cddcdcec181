//! A named background thread that runs a task every interval until it is stopped or the task
//! asks to end; stopping wakes it at once instead of waiting out the interval. Used by the flush
//! and the cleaning threads.

use std::ops::ControlFlow;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// Handle of a periodic thread; [`Periodic::stop`] ends it.
#[derive(Debug)]
pub(crate) struct Periodic {
    name: &'static str,
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Starts thread `name` running `task` every `interval` (first run after one interval).
    pub(crate) fn start(
        name: &'static str,
        interval: Duration,
        mut task: impl FnMut() -> ControlFlow<()> + Send + 'static,
    ) -> Result<Periodic, StoreError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while wait(interval, &signal) {
                    if task().is_break() {
                        return;
                    }
                }
            })
            .map_err(|e| StoreError::io(name, e))?;
        Ok(Periodic { name, stop, handle: Some(handle) })
    }

    /// Signals the thread and waits for its current run; idempotent. Called from the thread
    /// itself (its task dropped the last owner), it only signals.
    pub(crate) fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(handle) = self.handle.take() {
            if handle.thread().id() != std::thread::current().id() && handle.join().is_err() {
                tracing::error!(thread = self.name, "store background thread panicked");
            }
        }
    }
}

/// Sleeps up to `interval`; returns false when stopped.
fn wait(interval: Duration, stop: &(Mutex<bool>, Condvar)) -> bool {
    let (stopped, wake) = stop;
    let deadline = Instant::now() + interval;
    let mut guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
    while !*guard {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        guard = wake.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner).0;
    }
    false
}

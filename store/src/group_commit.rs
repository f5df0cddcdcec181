//! Group commit for `FlushMode::Sync` (Apache's `GroupCommitService`): a put registers the
//! CommitLog offset it needs durable and waits on a [`Durable`]; one thread flushes once for
//! every put waiting at that moment, so N concurrent senders cost one `msync`, not N.
//!
//! The store's appends happen before the request is registered, so the CommitLog end read just
//! before a flush covers every request of the batch: a batch completes as a whole.
//!
//! Started inside a multi-thread tokio runtime, the thread hands each flushed batch to a task on
//! that runtime, which completes the batch's puts there: one cross-thread wake-up per batch
//! instead of one per put, so the runtime's worker does not wake, answer one put and sleep again
//! for each.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::commitlog::CommitLog;
use crate::error::StoreError;

/// Resolves once an appended message is durable: at once under `FlushMode::Async` (the
/// background flush covers it later), after its group's flush under `FlushMode::Sync`.
#[derive(Debug)]
#[must_use = "under SYNC_FLUSH a put is durable only once this resolves"]
pub struct Durable(Option<oneshot::Receiver<Result<(), String>>>);

impl Durable {
    /// A put that needs no waiting.
    pub(crate) fn ready() -> Durable {
        Durable(None)
    }

    /// Whether the put was durable when this was made (nothing to wait for).
    pub fn is_ready(&self) -> bool {
        self.0.is_none()
    }
}

impl Future for Durable {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(done) = self.0.as_mut() else { return Poll::Ready(Ok(())) };
        Pin::new(done).poll(cx).map(|outcome| match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(StoreError::FlushFailed(why)),
            Err(_) => Err(StoreError::FlushFailed("the group commit thread stopped".into())),
        })
    }
}

type Completion = oneshot::Sender<Result<(), String>>;

/// A flushed batch and its outcome, on its way to the completing task.
type Flushed = (Vec<Completion>, Result<(), String>);

#[derive(Debug, Default)]
struct Waiting {
    /// Completion of each put waiting for the next flush.
    requests: Vec<Completion>,
    /// Whether the thread sleeps on `wake` (only then does a new request need to wake it).
    idle: bool,
    stopped: bool,
}

#[derive(Debug, Default)]
struct Shared {
    waiting: Mutex<Waiting>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The group commit thread and its queue of waiting puts.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    commit_log: Arc<CommitLog>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts the thread flushing `commit_log` for waiting puts.
    pub(crate) fn start(commit_log: Arc<CommitLog>) -> Result<GroupCommit, StoreError> {
        let shared = Arc::new(Shared::default());
        let (thread_shared, thread_log) = (Arc::clone(&shared), Arc::clone(&commit_log));
        // Only a multi-thread runtime runs its tasks on its own: a current-thread one runs them
        // only while something blocks on it.
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let completer = runtime.map(|runtime| {
            let (flushed, batches) = mpsc::unbounded_channel();
            runtime.spawn(complete(batches));
            flushed
        });
        let handle = std::thread::Builder::new()
            .name("rmq-store-group-commit".into())
            .spawn(move || run(&thread_shared, &thread_log, completer.as_ref()))
            .map_err(|e| StoreError::io("rmq-store-group-commit", e))?;
        Ok(GroupCommit { shared, commit_log, handle: Mutex::new(Some(handle)) })
    }

    /// A [`Durable`] for everything appended so far. Call it after the append returned. Once
    /// the thread is stopped it flushes on the calling thread instead.
    pub(crate) fn request(&self) -> Durable {
        let mut waiting = self.shared.lock();
        if waiting.stopped {
            drop(waiting);
            let (done, wait) = oneshot::channel();
            // The receiver is alive (it is `wait`), so the send cannot fail.
            let _ = done.send(self.commit_log.flush().map_err(|e| e.to_string()));
            return Durable(Some(wait));
        }
        let (done, wait) = oneshot::channel();
        waiting.requests.push(done);
        let idle = mem::replace(&mut waiting.idle, false);
        drop(waiting);
        if idle {
            self.shared.wake.notify_one();
        }
        Durable(Some(wait))
    }

    /// Completes the waiting puts with a last flush and ends the thread; idempotent.
    pub(crate) fn stop(&self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
        let handle = self.handle.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("store group commit thread panicked");
            }
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: wait for requests, take all of them, flush once, complete them (through the
/// runtime's completing task when there is one).
fn run(shared: &Shared, commit_log: &CommitLog, completer: Option<&mpsc::UnboundedSender<Flushed>>) {
    loop {
        let batch = {
            let mut waiting = shared.lock();
            while waiting.requests.is_empty() && !waiting.stopped {
                waiting.idle = true;
                waiting = shared.wake.wait(waiting).unwrap_or_else(PoisonError::into_inner);
            }
            waiting.idle = false;
            if waiting.requests.is_empty() {
                return;
            }
            mem::take(&mut waiting.requests)
        };
        // Every request was registered after its append, so this flush covers the batch.
        let outcome = commit_log.flush().map_err(|e| {
            tracing::error!(error = %e, "group commit flush failed");
            e.to_string()
        });
        let unsent = match completer {
            Some(completer) => completer.send((batch, outcome)).err().map(|e| e.0),
            None => Some((batch, outcome)),
        };
        // No runtime, or it is gone: complete here.
        if let Some((batch, outcome)) = unsent {
            complete_batch(batch, &outcome);
        }
    }
}

/// The completing task: answers each flushed batch's puts from inside the runtime.
async fn complete(mut batches: mpsc::UnboundedReceiver<Flushed>) {
    while let Some((batch, outcome)) = batches.recv().await {
        complete_batch(batch, &outcome);
    }
}

fn complete_batch(batch: Vec<Completion>, outcome: &Result<(), String>) {
    for done in batch {
        // A sender that gave up waiting dropped its receiver; nothing to tell it.
        let _ = done.send(outcome.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::{Layer, OsFiles};

    fn log(dir: &std::path::Path) -> Arc<CommitLog> {
        let layer: Layer = Arc::new(OsFiles);
        Arc::new(CommitLog::load(&dir.join("commitlog"), 4096, &layer).expect("load"))
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }

    #[test]
    fn a_waiting_put_resolves_after_its_bytes_are_flushed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commit_log = log(dir.path());
        let group = GroupCommit::start(Arc::clone(&commit_log)).expect("start");
        let mut waits = Vec::new();
        for _ in 0..10 {
            commit_log.reserve(100).expect("room");
            commit_log.append(&[7; 100]).expect("append");
            waits.push(group.request());
        }
        for wait in waits {
            assert!(!wait.is_ready());
            block_on(wait).expect("durable");
        }
        assert!(!commit_log.is_dirty(), "every waited-for byte is flushed");
        group.stop();
        group.stop();
    }

    #[test]
    fn inside_a_runtime_a_task_completes_the_flushed_puts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commit_log = log(dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("runtime");
        let group = runtime.block_on(async { GroupCommit::start(Arc::clone(&commit_log)) }).expect("start");
        let waits: Vec<Durable> = (0..50)
            .map(|_| {
                commit_log.reserve(100).expect("room");
                commit_log.append(&[3; 100]).expect("append");
                group.request()
            })
            .collect();
        runtime.block_on(async {
            for wait in waits {
                wait.await.expect("durable");
            }
        });
        assert!(!commit_log.is_dirty(), "every waited-for byte is flushed");
        group.stop();
    }

    #[test]
    fn a_request_after_stop_flushes_on_the_caller() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commit_log = log(dir.path());
        let group = GroupCommit::start(Arc::clone(&commit_log)).expect("start");
        group.stop();
        commit_log.reserve(10).expect("room");
        commit_log.append(&[1; 10]).expect("append");
        block_on(group.request()).expect("durable");
        assert!(!commit_log.is_dirty());
    }
}

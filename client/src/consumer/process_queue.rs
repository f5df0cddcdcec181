//! A queue's messages between pull and completion. The smallest offset still in flight is where
//! the group may resume, so that is what gets committed: at-least-once, never skipping.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::message::ReceivedMessage;

#[derive(Debug, Default)]
struct State {
    messages: BTreeMap<i64, ReceivedMessage>,
    bytes: usize,
    /// One past the highest offset ever added.
    next_offset: i64,
}

/// In-flight messages of one queue.
#[derive(Debug, Default)]
pub(crate) struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    locked: AtomicBool,
    /// Woken when messages arrive (orderly consumption waits on it).
    pub arrived: Notify,
}

impl ProcessQueue {
    /// An empty queue whose consumption starts at `offset`.
    pub fn starting_at(offset: i64) -> Self {
        let pq = ProcessQueue::default();
        pq.advance(offset);
        pq
    }

    /// Adds pulled messages.
    pub fn put(&self, msgs: &[ReceivedMessage]) {
        if let Ok(mut s) = self.state.lock() {
            for m in msgs {
                s.next_offset = s.next_offset.max(m.queue_offset + 1);
                if s.messages.insert(m.queue_offset, m.clone()).is_none() {
                    s.bytes += m.body.len();
                }
            }
        }
        self.arrived.notify_one();
    }

    /// Records that everything before `offset` was pulled (even if filtered out).
    pub fn advance(&self, offset: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.next_offset = s.next_offset.max(offset);
        }
    }

    /// Moves the resume point to `offset`, even backwards (the broker reset the group's offset).
    pub fn rewind(&self, offset: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.next_offset = offset;
        }
    }

    /// Removes completed messages; returns the offset the group may resume from, if known.
    pub fn complete(&self, offsets: impl IntoIterator<Item = i64>) -> Option<i64> {
        let mut s = self.state.lock().ok()?;
        for o in offsets {
            if let Some(m) = s.messages.remove(&o) {
                s.bytes -= m.body.len();
            }
        }
        let resume = s.messages.keys().next().copied().unwrap_or(s.next_offset);
        (resume > 0).then_some(resume)
    }

    /// The first `n` messages in offset order, left in place (orderly consumption).
    pub fn peek_first(&self, n: usize) -> Vec<ReceivedMessage> {
        self.state.lock().map(|s| s.messages.values().take(n).cloned().collect()).unwrap_or_default()
    }

    /// Messages and bytes in flight.
    pub fn load(&self) -> (usize, usize) {
        self.state.lock().map(|s| (s.messages.len(), s.bytes)).unwrap_or((0, 0))
    }

    /// Marks the queue as no longer ours; in-flight results no longer move its offset.
    pub fn drop_queue(&self) {
        self.dropped.store(true, Ordering::Release);
        self.arrived.notify_one();
    }

    /// Whether the queue was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Sets whether this client holds the broker lock (orderly consumption).
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::Release);
        if locked {
            self.arrived.notify_one();
        }
    }

    /// Whether this client holds the broker lock.
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Acquire)
    }
}

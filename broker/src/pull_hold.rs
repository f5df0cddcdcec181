//! Long polling: a pull that finds nothing waits on its queue's [`Notify`] until a message
//! arrives or its suspend time runs out. The store's arrival listener calls [`PullHold::arrived`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One wake-up signal per `(topic, queue)` that has ever had a waiter.
#[derive(Default)]
pub struct PullHold {
    queues: Mutex<HashMap<(String, i32), Arc<Notify>>>,
}

impl PullHold {
    /// The signal of a queue, created on first use.
    pub fn signal(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(queues.entry((topic.to_owned(), queue_id)).or_default())
    }

    /// Wakes every pull waiting on a queue.
    pub fn arrived(&self, topic: &str, queue_id: i32) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = queues.get(&(topic.to_owned(), queue_id)) {
            n.notify_waiters();
        }
    }
}

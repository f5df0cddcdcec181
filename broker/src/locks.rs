//! Queue locks for orderly consumption (Apache's `RebalanceLockManager`): within a consumer group
//! each queue is locked by at most one client; a lock not renewed for 60 s expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_remoting::protocol::body::MessageQueue;

/// How long a lock lives without renewal (`rocketmq.broker.rebalance.lockMaxLiveTime`).
pub const LOCK_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    renewed: Instant,
}

/// Group → queue → holder.
#[derive(Default)]
pub struct QueueLocks {
    groups: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl QueueLocks {
    /// Locks (or renews) every queue of `queues` that is free, expired or already held by
    /// `client_id`; returns the queues the client now holds.
    pub fn lock(&self, group: &str, client_id: &str, queues: &[MessageQueue], now: Instant) -> Vec<MessageQueue> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let table = groups.entry(group.to_owned()).or_default();
        let mut locked = Vec::new();
        for mq in queues {
            let free = match table.get(mq) {
                None => true,
                Some(entry) => entry.client_id == client_id || now.duration_since(entry.renewed) > LOCK_TTL,
            };
            if free {
                table.insert(mq.clone(), LockEntry { client_id: client_id.to_owned(), renewed: now });
                locked.push(mq.clone());
            }
        }
        locked
    }

    /// Releases the queues of `queues` held by `client_id`.
    pub fn unlock(&self, group: &str, client_id: &str, queues: &[MessageQueue]) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(table) = groups.get_mut(group) {
            for mq in queues {
                if table.get(mq).is_some_and(|e| e.client_id == client_id) {
                    table.remove(mq);
                }
            }
        }
    }

    /// Whether `mq` is locked by someone other than `client_id` and not expired.
    pub fn is_locked_by_other(&self, group: &str, mq: &MessageQueue, client_id: &str, now: Instant) -> bool {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .get(group)
            .and_then(|t| t.get(mq))
            .is_some_and(|e| e.client_id != client_id && now.duration_since(e.renewed) <= LOCK_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(id: i32) -> MessageQueue {
        MessageQueue { topic: "t".into(), broker_name: "b".into(), queue_id: id }
    }

    #[test]
    fn a_queue_is_held_by_one_client_until_released_or_expired() {
        let locks = QueueLocks::default();
        let t0 = Instant::now();
        assert_eq!(locks.lock("g", "c1", &[mq(0), mq(1)], t0), vec![mq(0), mq(1)]);
        assert_eq!(locks.lock("g", "c2", &[mq(1), mq(2)], t0), vec![mq(2)], "mq 1 is c1's");
        assert_eq!(locks.lock("other-group", "c2", &[mq(1)], t0), vec![mq(1)], "groups are independent");
        assert_eq!(locks.lock("g", "c1", &[mq(1)], t0 + Duration::from_secs(30)), vec![mq(1)], "renewal");
        locks.unlock("g", "c2", &[mq(1)]);
        assert!(locks.is_locked_by_other("g", &mq(1), "c2", t0), "only the holder can unlock");
        locks.unlock("g", "c1", &[mq(1)]);
        assert_eq!(locks.lock("g", "c2", &[mq(1)], t0), vec![mq(1)]);
        let later = t0 + LOCK_TTL + Duration::from_secs(1);
        assert_eq!(locks.lock("g", "c1", &[mq(2)], later), vec![mq(2)], "expired lock is taken over");
    }
}

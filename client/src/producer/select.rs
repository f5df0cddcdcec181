//! Choosing the queue of a send: round robin over the writable queues, skipping brokers the
//! fault tolerance avoids and, on a retry, the broker that just failed; or by key hash, as the
//! Java `SelectMessageQueueByHash`, so Rust and Java producers put a key on the same queue.

use std::sync::atomic::{AtomicUsize, Ordering};

use rmq_remoting::message::java_string_hash;

use super::fault::FaultTolerance;
use crate::message::MessageQueue;

/// Round-robin position shared by all sends of a producer; starts at a random queue, as Java's
/// `ThreadLocalIndex`, so that short-lived producers do not all write queue 0.
#[derive(Debug)]
pub(crate) struct RoundRobin(AtomicUsize);

impl Default for RoundRobin {
    fn default() -> Self {
        RoundRobin(AtomicUsize::new(rand::random::<u16>() as usize))
    }
}

impl RoundRobin {
    /// Picks a queue, preferring available brokers other than `last_failed`.
    pub fn select<'a>(
        &self,
        queues: &'a [MessageQueue],
        faults: Option<&FaultTolerance>,
        last_failed: Option<&str>,
    ) -> Option<&'a MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let start = self.0.fetch_add(1, Ordering::Relaxed);
        let nth = |i: usize| &queues[(start + i) % queues.len()];
        let other_broker = |q: &MessageQueue| last_failed != Some(q.broker_name.as_str());
        let available = |q: &MessageQueue| faults.is_none_or(|f| f.is_available(&q.broker_name));
        (0..queues.len())
            .map(nth)
            .find(|q| available(q) && other_broker(q))
            .or_else(|| (0..queues.len()).map(nth).find(|q| other_broker(q)))
            .or_else(|| Some(nth(0)))
    }
}

/// The queue index for `key` among `n` queues (Java: `abs(key.hashCode() % n)`).
pub fn queue_for_key(key: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (java_string_hash(key) % n as i32).unsigned_abs() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues() -> Vec<MessageQueue> {
        ["a", "a", "b", "b"]
            .iter()
            .enumerate()
            .map(|(i, b)| MessageQueue { topic: "t".into(), broker_name: (*b).into(), queue_id: i as i32 })
            .collect()
    }

    #[test]
    fn round_robin_visits_every_queue() {
        let rr = RoundRobin::default();
        let qs = queues();
        let mut seen: Vec<i32> = (0..4).filter_map(|_| rr.select(&qs, None, None)).map(|q| q.queue_id).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }

    #[test]
    fn avoided_and_failed_brokers_are_skipped() {
        let rr = RoundRobin::default();
        let qs = queues();
        let faults = FaultTolerance::default();
        faults.record("a", std::time::Duration::ZERO, true);
        for _ in 0..8 {
            assert_eq!(rr.select(&qs, Some(&faults), None).map(|q| q.broker_name.as_str()), Some("b"));
            assert_eq!(rr.select(&qs, None, Some("b")).map(|q| q.broker_name.as_str()), Some("a"));
        }
    }

    #[test]
    fn when_every_broker_is_avoided_one_is_still_chosen() {
        let rr = RoundRobin::default();
        let qs = queues();
        let faults = FaultTolerance::default();
        faults.record("a", std::time::Duration::ZERO, true);
        faults.record("b", std::time::Duration::ZERO, true);
        assert!(rr.select(&qs, Some(&faults), None).is_some());
    }

    #[test]
    fn key_hash_matches_the_java_selector() {
        // "order-1".hashCode() == -1207111310 in Java; -1207111310 % 4 == -2 → 2.
        assert_eq!(queue_for_key("order-1", 4), 2);
        assert_eq!(queue_for_key("x", 0), 0);
    }
}

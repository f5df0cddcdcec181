//! Per-topic and per-group counters: message and byte counts in and out, message sizes, DLQ
//! sends, transaction outcomes and half messages. Each topic's label children are created on
//! its first use and cached in a sharded map, so a send or pull afterwards costs a shard
//! read-lock lookup per request and atomic adds per message; no label strings are built.

use std::collections::HashMap;
use std::hash::BuildHasher;

// foldhash: several times cheaper than SipHash on short topic names, still seeded per process.
use foldhash::fast::RandomState;

/// A map keyed by topic or group name, hashed with [`RandomState`].
type NameMap<V> = HashMap<Box<str>, V, RandomState>;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};
use rmq_remoting::message::{record_len, RecordParts};
use rmq_store::NewMessage;

use super::names::{bool_label, is_retry_or_dlq, is_system_group, is_system_topic};

/// Apache's `TopicMessageType` as the `message_type` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// No special property.
    Normal = 0,
    /// Has a sharding key (`__SHARDINGKEY`).
    Fifo = 1,
    /// Has a delay level or timer property.
    Delay = 2,
    /// A prepared transaction message (`TRAN_MSG=true`).
    Transaction = 3,
}

impl MessageType {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            MessageType::Normal => "normal",
            MessageType::Fifo => "fifo",
            MessageType::Delay => "delay",
            MessageType::Transaction => "transaction",
        }
    }

    /// The type of a message from its encoded properties (`k\x01v\x02…`), as Apache's
    /// `BrokerMetricsManager.getMessageType`; scans without allocating.
    pub fn of_encoded(properties: &str) -> MessageType {
        let mut fifo = false;
        let mut delay = false;
        for pair in properties.split('\u{2}') {
            let Some((key, value)) = pair.split_once('\u{1}') else { continue };
            match key {
                "TRAN_MSG" if value.eq_ignore_ascii_case("true") => return MessageType::Transaction,
                "__SHARDINGKEY" => fifo = true,
                "__STARTDELIVERTIME" | "DELAY" | "TIMER_DELIVER_MS" | "TIMER_DELAY_SEC" | "TIMER_DELAY_MS" => {
                    delay = true
                }
                _ => {}
            }
        }
        if fifo {
            MessageType::Fifo
        } else if delay {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }
}

/// The CommitLog bytes `msg` will take (Apache's `wroteBytes`): arithmetic, no encoding.
pub fn stored_len(msg: &NewMessage, store_host: std::net::SocketAddr) -> u64 {
    let parts = RecordParts {
        queue_id: msg.queue_id,
        flag: msg.flag,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_timestamp: 0,
        store_host,
        reconsume_times: msg.reconsume_times,
        prepared_transaction_offset: msg.prepared_transaction_offset,
        body: &msg.body,
        topic: &msg.topic,
        properties: &msg.properties,
    };
    record_len(&parts).map_or(0, |len| len as u64)
}

/// The inbound children of one (topic, message type).
struct Inbound {
    messages: IntCounter,
    bytes: IntCounter,
    size: Histogram,
}

/// The outbound children of one (topic, consumer group), and the group's pull position per queue
/// (for the in-flight and ready gauges).
pub struct Outbound {
    messages: IntCounter,
    bytes: IntCounter,
    pull_offsets: Box<[AtomicI64]>,
}

impl Outbound {
    /// The next offset the group will pull from `queue_id`, if it pulled that queue since start.
    pub fn pull_offset(&self, queue_id: i32) -> Option<i64> {
        let slot = self.pull_offsets.get(usize::try_from(queue_id).ok()?)?;
        Some(slot.load(Ordering::Relaxed)).filter(|o| *o >= 0)
    }
}

/// Everything cached for one topic.
pub struct TopicHandles {
    is_system: bool,
    inbound: [OnceLock<Inbound>; 4],
    groups: RwLock<NameMap<Arc<Outbound>>>,
    /// Unresolved half messages whose real topic is this one (since start).
    half: AtomicI64,
    half_seen: std::sync::atomic::AtomicBool,
}

impl TopicHandles {
    /// The group's outbound handles, if it pulled this topic since start.
    pub fn group(&self, group: &str) -> Option<Arc<Outbound>> {
        self.groups.read().unwrap_or_else(|e| e.into_inner()).get(group).cloned()
    }
}

const SHARDS: usize = 16;

/// The traffic families and the per-topic cache.
pub struct Traffic {
    pub(super) messages_in: IntCounterVec,
    pub(super) throughput_in: IntCounterVec,
    pub(super) message_size: HistogramVec,
    pub(super) messages_out: IntCounterVec,
    pub(super) throughput_out: IntCounterVec,
    pub(super) send_to_dlq: IntCounterVec,
    pub(super) commit: IntCounterVec,
    pub(super) rollback: IntCounterVec,
    pub(super) finish_latency: HistogramVec,
    shards: [RwLock<NameMap<Arc<TopicHandles>>>; SHARDS],
    hasher: RandomState,
    /// Off with `metricsExporterType=DISABLE`: nothing is recorded, as in Apache.
    enabled: bool,
}

impl Traffic {
    pub(super) fn new(
        families: [IntCounterVec; 7],
        message_size: HistogramVec,
        finish_latency: HistogramVec,
        enabled: bool,
    ) -> Self {
        let [messages_in, throughput_in, messages_out, throughput_out, send_to_dlq, commit, rollback] = families;
        Traffic {
            messages_in,
            throughput_in,
            message_size,
            messages_out,
            throughput_out,
            send_to_dlq,
            commit,
            rollback,
            finish_latency,
            shards: std::array::from_fn(|_| RwLock::new(NameMap::default())),
            hasher: RandomState::default(),
            enabled,
        }
    }

    fn shard(&self, topic: &str) -> &RwLock<NameMap<Arc<TopicHandles>>> {
        &self.shards[(self.hasher.hash_one(topic) as usize) % SHARDS]
    }

    /// The cached handles of `topic`, created on first use.
    pub fn topic(&self, topic: &str) -> Arc<TopicHandles> {
        let shard = self.shard(topic);
        if let Some(h) = shard.read().unwrap_or_else(|e| e.into_inner()).get(topic) {
            return Arc::clone(h);
        }
        let mut w = shard.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(w.entry(topic.into()).or_insert_with(|| {
            Arc::new(TopicHandles {
                is_system: is_system_topic(topic),
                inbound: Default::default(),
                groups: RwLock::new(NameMap::default()),
                half: AtomicI64::new(0),
                half_seen: Default::default(),
            })
        }))
    }

    /// Runs `f` on the handles of `topic` under the shard's read lock, without touching the
    /// handles' reference count (the per-message path); creates them on first use.
    fn with_topic<R>(&self, topic: &str, f: impl FnOnce(&TopicHandles) -> R) -> R {
        if let Some(h) = self.shard(topic).read().unwrap_or_else(|e| e.into_inner()).get(topic) {
            return f(h);
        }
        f(&self.topic(topic))
    }

    /// The cached handles of `topic`, if it saw traffic since start.
    pub fn existing(&self, topic: &str) -> Option<Arc<TopicHandles>> {
        self.shard(topic).read().unwrap_or_else(|e| e.into_inner()).get(topic).cloned()
    }

    /// Every topic with handles, for scrape-time gauges.
    pub fn topics(&self) -> Vec<(String, Arc<TopicHandles>)> {
        let mut all = Vec::new();
        for shard in &self.shards {
            let r = shard.read().unwrap_or_else(|e| e.into_inner());
            all.extend(r.iter().map(|(k, v)| (k.to_string(), Arc::clone(v))));
        }
        all
    }

    /// `count` messages of `stored_bytes` in total were stored to `topic` by a send.
    pub fn record_put(&self, topic: &str, kind: MessageType, count: u64, stored_bytes: u64) {
        if !self.enabled || count == 0 || is_retry_or_dlq(topic) {
            return;
        }
        self.with_topic(topic, |handles| {
            let inbound = handles.inbound[kind as usize].get_or_init(|| {
                let labels = [topic, kind.label(), bool_label(handles.is_system)];
                Inbound {
                    messages: self.messages_in.with_label_values(&labels),
                    bytes: self.throughput_in.with_label_values(&labels),
                    size: self.message_size.with_label_values(&labels),
                }
            });
            inbound.messages.inc_by(count);
            inbound.bytes.inc_by(stored_bytes);
            inbound.size.observe((stored_bytes / count) as f64);
        });
    }

    /// A pull of `queue_id` returned `count` messages of `bytes`; the group continues at `next`.
    /// `read_queues` sizes the pull-position table the first time the group pulls the topic.
    pub fn record_pull(&self, topic: &str, group: &str, queue_id: i32, read_queues: i32, out: (u64, u64), next: i64) {
        if !self.enabled {
            return;
        }
        let handles = self.topic(topic);
        let cached = handles.groups.read().unwrap_or_else(|e| e.into_inner()).get(group).cloned();
        let outbound = match cached {
            Some(o) => o,
            None => {
                let is_system = bool_label(handles.is_system || is_system_group(group));
                let labels = [topic, group, is_system];
                let created = Arc::new(Outbound {
                    messages: self.messages_out.with_label_values(&labels),
                    bytes: self.throughput_out.with_label_values(&labels),
                    pull_offsets: (0..read_queues.clamp(0, 1024)).map(|_| AtomicI64::new(-1)).collect(),
                });
                let mut w = handles.groups.write().unwrap_or_else(|e| e.into_inner());
                Arc::clone(w.entry(group.into()).or_insert(created))
            }
        };
        if let Some(slot) = usize::try_from(queue_id).ok().and_then(|q| outbound.pull_offsets.get(q)) {
            slot.store(next, Ordering::Relaxed);
        }
        let (count, bytes) = out;
        if count > 0 && !is_retry_or_dlq(topic) {
            outbound.messages.inc_by(count);
            outbound.bytes.inc_by(bytes);
        }
    }

    /// A message of `group` from `topic` went to the group's DLQ (rare: labels built here).
    pub fn record_dlq(&self, topic: &str, group: &str) {
        if !self.enabled {
            return;
        }
        let is_system = bool_label(is_system_topic(topic) || is_system_group(group));
        self.send_to_dlq.with_label_values(&[group, topic, is_system]).inc();
    }

    /// A prepared message for `topic` was stored as a half message.
    pub fn half_prepared(&self, topic: &str) {
        if !self.enabled {
            return;
        }
        let handles = self.topic(topic);
        handles.half_seen.store(true, Ordering::Relaxed);
        handles.half.fetch_add(1, Ordering::Relaxed);
    }

    /// A half message of `topic` was committed or rolled back, `age_s` seconds after its birth.
    pub fn transaction_finished(&self, topic: &str, commit: bool, age_s: i64) {
        if !self.enabled {
            return;
        }
        let handles = self.topic(topic);
        handles.half_seen.store(true, Ordering::Relaxed);
        // Half messages prepared before a restart are not counted; never go below zero.
        let _ = handles.half.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| Some((h - 1).max(0)));
        if commit {
            self.commit.with_label_values(&[topic]).inc();
            self.finish_latency.with_label_values(&[topic]).observe(age_s.max(0) as f64);
        } else {
            self.rollback.with_label_values(&[topic]).inc();
        }
    }

    /// `(topic, unresolved half messages)` of every topic that had transactions since start.
    pub fn half_messages(&self) -> Vec<(String, i64)> {
        self.topics()
            .into_iter()
            .filter(|(_, h)| h.half_seen.load(Ordering::Relaxed))
            .map(|(t, h)| (t, h.half.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_from_properties_as_apache() {
        assert_eq!(MessageType::of_encoded(""), MessageType::Normal);
        assert_eq!(MessageType::of_encoded("TAGS\u{1}a\u{2}TRAN_MSG\u{1}true\u{2}"), MessageType::Transaction);
        assert_eq!(MessageType::of_encoded("DELAY\u{1}3\u{2}__SHARDINGKEY\u{1}k\u{2}"), MessageType::Fifo);
        assert_eq!(MessageType::of_encoded("DELAY\u{1}3\u{2}"), MessageType::Delay);
    }
}

//! Gauges computed from broker state when `/metrics` is scraped (a custom prometheus
//! `Collector`): topic and group counts, permission, connections, consumer lag, in-flight and
//! ready messages, half messages, storage, and rmq's own gauges (role, disk ratio, long-poll
//! waiters, readiness). Nothing here runs on the send or pull path.

use std::collections::BTreeMap;
use std::sync::{Mutex, Weak};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntGaugeVec, Opts};
use rmq_remoting::message::StoredMessage;
use rmq_remoting::protocol::body::perm;

use super::names::*;
use crate::meta::now_ms;
use crate::meta::topics::RETRY_PREFIX;
use crate::runtime::Broker;

/// Apache's request processors (`rocketmq_processor_watermark`); rmq has no per-processor
/// thread-pool queues, so each reports 0 queued requests.
const PROCESSORS: &[&str] = &[
    "send",
    "async_put",
    "pull",
    "ack",
    "query_message",
    "client_manager",
    "heartbeat",
    "lite_pull",
    "transaction",
    "consumer_manager",
    "admin",
    "reply",
];

const LAG_LABELS: &[&str] = &[LABEL_TOPIC, LABEL_GROUP, LABEL_IS_RETRY, LABEL_IS_SYSTEM];

struct Gauges {
    watermark: IntGaugeVec,
    permission: IntGaugeVec,
    topics: IntGaugeVec,
    groups: IntGaugeVec,
    producers: IntGaugeVec,
    consumers: IntGaugeVec,
    lag: IntGaugeVec,
    lag_latency: IntGaugeVec,
    inflight: IntGaugeVec,
    queueing_latency: IntGaugeVec,
    ready_messages: IntGaugeVec,
    half: IntGaugeVec,
    storage_size: IntGaugeVec,
    dispatch_behind: IntGaugeVec,
    reserve_time: IntGaugeVec,
    role: IntGaugeVec,
    disk_ratio: GaugeVec,
    waiters: IntGaugeVec,
    ready: IntGaugeVec,
}

fn int(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"))
}

impl Gauges {
    fn new() -> Self {
        let storage = &[LABEL_STORAGE_TYPE, LABEL_STORAGE_MEDIUM];
        Gauges {
            watermark: int(PROCESSOR_WATERMARK, "Request processor watermark", &[LABEL_PROCESSOR]),
            permission: int(BROKER_PERMISSION, "Broker permission", &[]),
            topics: int(TOPIC_NUMBER, "Active topic number", &[]),
            groups: int(CONSUMER_GROUP_NUMBER, "Active subscription group number", &[]),
            producers: int(
                PRODUCER_CONNECTIONS,
                "Producer connections",
                &[LABEL_LANGUAGE, LABEL_VERSION, LABEL_PROTOCOL_TYPE],
            ),
            consumers: int(
                CONSUMER_CONNECTIONS,
                "Consumer connections",
                &[LABEL_GROUP, LABEL_LANGUAGE, LABEL_VERSION, LABEL_CONSUME_MODE, LABEL_PROTOCOL_TYPE, LABEL_IS_SYSTEM],
            ),
            lag: int(CONSUMER_LAG_MESSAGES, "Consumer lag messages", LAG_LABELS),
            lag_latency: int(CONSUMER_LAG_LATENCY, "Consumer lag time", LAG_LABELS),
            inflight: int(CONSUMER_INFLIGHT_MESSAGES, "Consumer inflight messages", LAG_LABELS),
            queueing_latency: int(CONSUMER_QUEUEING_LATENCY, "Consumer queueing time", LAG_LABELS),
            ready_messages: int(CONSUMER_READY_MESSAGES, "Consumer ready messages", LAG_LABELS),
            half: int(HALF_MESSAGES, "Half messages of all topics", &[LABEL_TOPIC]),
            storage_size: int(STORAGE_SIZE, "Broker storage size", storage),
            dispatch_behind: int(STORAGE_DISPATCH_BEHIND, "Broker dispatch behind bytes", storage),
            reserve_time: int(STORAGE_RESERVE_TIME, "Broker message reserve time", storage),
            role: int(BROKER_ROLE, "rmq: this broker's id and role", &[LABEL_BROKER_ID, LABEL_ROLE]),
            disk_ratio: GaugeVec::new(Opts::new(DISK_USAGE_RATIO, "rmq: store file system used / total"), storage)
                .unwrap_or_else(|e| panic!("metric {DISK_USAGE_RATIO}: {e}")),
            waiters: int(LONG_POLLING_WAITERS, "rmq: pull requests held by long polling", &[]),
            ready: int(READY, "rmq: 1 when /readyz answers 200", &[]),
        }
    }

    fn all(&self) -> Vec<&dyn Collector> {
        vec![
            &self.watermark,
            &self.permission,
            &self.topics,
            &self.groups,
            &self.producers,
            &self.consumers,
            &self.lag,
            &self.lag_latency,
            &self.inflight,
            &self.queueing_latency,
            &self.ready_messages,
            &self.half,
            &self.storage_size,
            &self.dispatch_behind,
            &self.reserve_time,
            &self.role,
            &self.disk_ratio,
            &self.waiters,
            &self.ready,
        ]
    }
}

/// The scrape-time collector; holds the broker weakly (the broker owns the registry).
pub struct StateCollector {
    broker: Weak<Broker>,
    gauges: Mutex<Gauges>,
    descs: Vec<Desc>,
}

impl StateCollector {
    /// A collector reading `broker`.
    pub fn new(broker: Weak<Broker>) -> Self {
        let gauges = Gauges::new();
        let descs = gauges.all().iter().flat_map(|c| c.desc()).cloned().collect();
        StateCollector { broker, gauges: Mutex::new(gauges), descs }
    }
}

impl Collector for StateCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(broker) = self.broker.upgrade() else { return Vec::new() };
        let gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        reset(&gauges);
        refresh(&broker, &gauges);
        gauges.all().iter().flat_map(|c| c.collect()).collect()
    }
}

/// Clears last scrape's series (groups and topics come and go).
fn reset(g: &Gauges) {
    for v in [
        &g.watermark,
        &g.permission,
        &g.topics,
        &g.groups,
        &g.producers,
        &g.consumers,
        &g.lag,
        &g.lag_latency,
        &g.inflight,
        &g.queueing_latency,
        &g.ready_messages,
        &g.half,
        &g.storage_size,
        &g.dispatch_behind,
        &g.reserve_time,
        &g.role,
        &g.waiters,
        &g.ready,
    ] {
        v.reset();
    }
    g.disk_ratio.reset();
}

fn refresh(broker: &Broker, g: &Gauges) {
    for p in PROCESSORS {
        g.watermark.with_label_values(&[p]).set(0);
    }
    let permission = broker.permission.load(std::sync::atomic::Ordering::Relaxed);
    g.permission.with_label_values::<&str>(&[]).set(i64::from(permission));
    let topics = broker.topics.snapshot().topic_config_table;
    g.topics.with_label_values::<&str>(&[]).set(topics.len() as i64);
    let groups = broker.groups.snapshot().subscription_group_table;
    g.groups.with_label_values::<&str>(&[]).set(groups.len() as i64);

    let mut producers: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (language, version) in broker.clients.producer_clients() {
        *producers.entry((language.name().to_ascii_lowercase(), version_desc(version))).or_default() += 1;
    }
    for ((language, version), n) in producers {
        g.producers.with_label_values(&[&language, &version, PROTOCOL_REMOTING]).set(n);
    }

    let online = broker.clients.online_consumers();
    for group in &online {
        let mode = match group.consume_type.as_str() {
            "CONSUME_ACTIVELY" => "pull",
            "CONSUME_POP" => "pop",
            _ => "push",
        };
        let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (language, version) in &group.clients {
            *counts.entry((language.name().to_ascii_lowercase(), version_desc(*version))).or_default() += 1;
        }
        let system = bool_label(is_system_group(&group.group));
        for ((language, version), n) in counts {
            g.consumers.with_label_values(&[&group.group, &language, &version, mode, PROTOCOL_REMOTING, system]).set(n);
        }
        if !groups.contains_key(&group.group) {
            continue;
        }
        for topic in group.topics.iter().filter(|t| !t.starts_with(RETRY_PREFIX)) {
            let Some(tc) = topics.get(topic) else { continue };
            let effective = tc.perm & permission;
            if effective & (perm::READ | perm::WRITE) == 0 {
                continue;
            }
            lag(broker, g, topic, &group.group, tc.read_queue_nums);
        }
    }

    for (topic, n) in broker.metrics.traffic.half_messages() {
        g.half.with_label_values(&[&topic]).set(n);
    }
    storage(broker, g);
    let role = match broker.replication.role() {
        crate::config::BrokerRole::AsyncMaster => "ASYNC_MASTER",
        crate::config::BrokerRole::SyncMaster => "SYNC_MASTER",
        crate::config::BrokerRole::Slave => "SLAVE",
    };
    g.role.with_label_values(&[&broker.replication.broker_id().to_string(), role]).set(1);
    g.waiters.with_label_values::<&str>(&[]).set(broker.metrics.long_poll_waiters());
    g.ready.with_label_values::<&str>(&[]).set(i64::from(broker.is_ready()));
}

/// Lag, in-flight and ready messages of one (group, topic), as Apache's `ConsumerLagCalculator`
/// for a non-POP group: lag = max − committed, in flight = pulled − committed, ready = max − pulled.
fn lag(broker: &Broker, g: &Gauges, topic: &str, group: &str, read_queues: i32) {
    let outbound = broker.metrics.traffic.existing(topic).and_then(|h| h.group(group));
    let (mut lag, mut inflight, mut ready) = (0i64, 0i64, 0i64);
    let (mut unconsumed_since, mut unpulled_since) = (i64::MAX, i64::MAX);
    for queue in 0..read_queues {
        let max = broker.store.max_offset(topic, queue);
        let Some(committed) = broker.offsets.get(group, topic, queue).filter(|o| *o >= 0) else { continue };
        let pulled = outbound.as_ref().and_then(|o| o.pull_offset(queue)).unwrap_or(committed).max(committed);
        lag += (max - committed).max(0);
        inflight += (pulled - committed).max(0);
        ready += (max - pulled).max(0);
        if committed < max {
            if let Some(t) = broker.store.store_time(topic, queue, committed) {
                unconsumed_since = unconsumed_since.min(t);
            }
        }
        if pulled < max {
            if let Some(t) = broker.store.store_time(topic, queue, pulled) {
                unpulled_since = unpulled_since.min(t);
            }
        }
    }
    let now = now_ms();
    let since = |t: i64| if t == i64::MAX { 0 } else { (now - t).max(0) };
    let labels = [topic, group, "false", bool_label(is_system_topic(topic) || is_system_group(group))];
    g.lag.with_label_values(&labels).set(lag);
    g.lag_latency.with_label_values(&labels).set(since(unconsumed_since));
    g.inflight.with_label_values(&labels).set(inflight);
    g.queueing_latency.with_label_values(&labels).set(since(unpulled_since));
    g.ready_messages.with_label_values(&labels).set(ready);
}

fn storage(broker: &Broker, g: &Gauges) {
    let labels = ["local", "disk"];
    if let Ok(stat) = rustix::fs::statvfs(&broker.config.store_root) {
        let total = stat.f_blocks.saturating_mul(stat.f_frsize);
        let used = stat.f_blocks.saturating_sub(stat.f_bfree).saturating_mul(stat.f_frsize);
        if total > 0 {
            g.storage_size.with_label_values(&labels).set(i64::try_from(used).unwrap_or(i64::MAX));
            g.disk_ratio.with_label_values(&labels).set(used as f64 / total as f64);
        }
    }
    // ConsumeQueues and the index are written in the same put as the CommitLog: nothing lags.
    g.dispatch_behind.with_label_values(&labels).set(0);
    let earliest = broker
        .store
        .message_at(broker.store.commit_log_min_offset())
        .and_then(|record| StoredMessage::decode(&record).ok())
        .map(|(m, _)| m.store_timestamp)
        .filter(|t| *t > 0);
    if let Some(t) = earliest {
        g.reserve_time.with_label_values(&labels).set((now_ms() - t).max(0));
    }
}

//! Broker metrics in Apache RocketMQ 5.3.3's names, types and labels, served as Prometheus text
//! on `metricsPromExporterPort` (default 5557) together with `/healthz` and `/readyz`.
//!
//! - [`names`]: metric and label names as scraped from Apache, buckets, label helpers.
//! - [`config`]: `metricsExporterType`, `metricsPromExporterPort`/`Host`, `metricsLabel`.
//! - [`traffic`]: counters recorded on the hot path (send, pull, DLQ, transactions), cached per topic.
//! - [`rpc`]: `rocketmq_rpc_latency`, recorded around every request in `processor::BrokerHandler`.
//! - [`collector`]: gauges computed from broker state at scrape time (topics, groups, lag, storage).
//! - [`http`]: the axum server.

pub mod collector;
pub mod config;
pub mod http;
pub mod names;
pub mod replication;
pub mod rpc;
pub mod traffic;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

pub use config::{ExporterType, MetricsConfig};
pub use traffic::MessageType;

use names::*;

/// The broker's metric handles, created once at startup and shared through [`crate::Broker`].
pub struct BrokerMetrics {
    registry: Registry,
    /// Traffic counters, cached per topic.
    pub traffic: traffic::Traffic,
    /// `rocketmq_rpc_latency`.
    pub rpc: rpc::RpcLatency,
    /// `rocketmq_topic_create_execution_time` (`invocation_status`, `is_system`).
    pub topic_create: HistogramVec,
    /// `rocketmq_consumer_group_create_execution_time` (`invocation_status`).
    pub group_create: HistogramVec,
    long_poll_waiters: AtomicI64,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    registry.register(Box::new(vec.clone())).unwrap_or_else(|e| panic!("registering {name}: {e}"));
    vec
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    let vec = HistogramVec::new(opts, labels).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    registry.register(Box::new(vec.clone())).unwrap_or_else(|e| panic!("registering {name}: {e}"));
    vec
}

impl BrokerMetrics {
    /// Creates the registry with the constant labels of every series (`cluster`, `node_type`,
    /// `node_id`, `otel_scope_name`, then `metricsLabel`) and registers the recorded families.
    pub fn new(cluster: &str, broker_name: &str, config: &MetricsConfig) -> Self {
        let mut constant: HashMap<String, String> = config.labels.iter().cloned().collect();
        constant.insert(LABEL_CLUSTER.into(), cluster.into());
        constant.insert(LABEL_NODE_TYPE.into(), "broker".into());
        constant.insert(LABEL_NODE_ID.into(), broker_name.into());
        constant.insert(LABEL_OTEL_SCOPE.into(), OTEL_SCOPE.into());
        let registry =
            Registry::new_custom(None, Some(constant)).unwrap_or_else(|e| panic!("metrics registry labels: {e}"));
        let r = &registry;
        let in_labels = &[LABEL_TOPIC, LABEL_MESSAGE_TYPE, LABEL_IS_SYSTEM];
        let out_labels = &[LABEL_TOPIC, LABEL_GROUP, LABEL_IS_SYSTEM];
        let families = [
            counter(r, MESSAGES_IN, "Total number of incoming messages", in_labels),
            counter(r, THROUGHPUT_IN, "Total traffic of incoming messages", in_labels),
            counter(r, MESSAGES_OUT, "Total number of outgoing messages", out_labels),
            counter(r, THROUGHPUT_OUT, "Total traffic of outgoing messages", out_labels),
            counter(r, SEND_TO_DLQ, "Consumer send to DLQ messages", &[LABEL_GROUP, LABEL_TOPIC, LABEL_IS_SYSTEM]),
            counter(r, COMMIT_MESSAGES, "Total number of commit messages", &[LABEL_TOPIC]),
            counter(r, ROLLBACK_MESSAGES, "Total number of rollback messages", &[LABEL_TOPIC]),
        ];
        let size = histogram(r, MESSAGE_SIZE, "Incoming messages size", in_labels, MESSAGE_SIZE_BUCKETS);
        let finish =
            histogram(r, FINISH_MESSAGE_LATENCY, "Transaction finish latency", &[LABEL_TOPIC], FINISH_LATENCY_BUCKETS);
        let rpc_labels =
            &[LABEL_PROTOCOL_TYPE, LABEL_REQUEST_CODE, LABEL_RESPONSE_CODE, LABEL_IS_LONG_POLLING, LABEL_RESULT];
        // Recorded only when exported, as Apache (whose meters exist only with an exporter).
        let recording = config.enabled();
        BrokerMetrics {
            traffic: traffic::Traffic::new(families, size, finish, recording),
            rpc: rpc::RpcLatency::new(
                histogram(r, RPC_LATENCY, "Rpc latency", rpc_labels, RPC_LATENCY_BUCKETS),
                recording,
            ),
            topic_create: histogram(
                r,
                TOPIC_CREATE_TIME,
                "The distribution of create topic time",
                &[LABEL_INVOCATION_STATUS, LABEL_IS_SYSTEM],
                CREATE_TIME_BUCKETS,
            ),
            group_create: histogram(
                r,
                GROUP_CREATE_TIME,
                "The distribution of create subscription time",
                &[LABEL_INVOCATION_STATUS],
                CREATE_TIME_BUCKETS,
            ),
            long_poll_waiters: AtomicI64::new(0),
            registry,
        }
    }

    /// The registry (the HTTP server gathers it; the state collector is registered into it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts a pull held by long polling until the guard drops.
    pub fn long_poll_waiter(&self) -> LongPollWaiter<'_> {
        self.long_poll_waiters.fetch_add(1, Ordering::Relaxed);
        LongPollWaiter(&self.long_poll_waiters)
    }

    /// A topic creation (UPDATE_AND_CREATE_TOPIC or its list form) took `millis`.
    pub fn record_topic_create(&self, topic: &str, success: bool, millis: f64) {
        let labels = [invocation_status(success), bool_label(is_system_topic(topic))];
        self.topic_create.with_label_values(&labels).observe(millis);
    }

    /// A subscription group creation took `millis`.
    pub fn record_group_create(&self, success: bool, millis: f64) {
        self.group_create.with_label_values(&[invocation_status(success)]).observe(millis);
    }

    /// Pulls currently held by long polling.
    pub fn long_poll_waiters(&self) -> i64 {
        self.long_poll_waiters.load(Ordering::Relaxed)
    }
}

/// Decrements the long-polling waiter count on drop.
pub struct LongPollWaiter<'a>(&'a AtomicI64);

impl Drop for LongPollWaiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `invocation_status` of a create request.
pub fn invocation_status(success: bool) -> &'static str {
    if success {
        "success"
    } else {
        "failure"
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use rmq_remoting::config::Properties;

    use super::*;

    fn metrics(conf: &str) -> BrokerMetrics {
        let mut props = Properties::parse(conf).expect("properties");
        let config = MetricsConfig::load(&mut props, IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("config");
        BrokerMetrics::new("C", "broker-a", &config)
    }

    fn messages_in(m: &BrokerMetrics) -> f64 {
        let families = m.registry().gather();
        let family = families.iter().find(|f| f.name() == MESSAGES_IN);
        family.map_or(0.0, |f| f.get_metric().iter().map(|s| s.get_counter().get_value()).sum())
    }

    #[test]
    fn nothing_is_recorded_while_metrics_are_off() {
        for (conf, expected) in [("", 3.0), ("metricsExporterType=DISABLE", 0.0), ("metricsPromExporterPort=0", 0.0)] {
            let m = metrics(conf);
            m.traffic.record_put("Orders", MessageType::Normal, 3, 300);
            m.rpc.observe(10, 0, false, false, 1.0);
            assert_eq!(messages_in(&m), expected, "{conf:?}");
        }
    }
}

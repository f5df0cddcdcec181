//! Metric and label names, histogram buckets and label values, exactly as a Prometheus server
//! ingests them from Apache RocketMQ 5.3.3's PROM exporter (`metricsExporterType=PROM`).
//!
//! Apache's constants (`BrokerMetricsConstant`, `RemotingMetricsConstant`,
//! `DefaultStoreMetricsConstant`) go through OpenTelemetry's Prometheus exporter 1.29, which
//! appends the instrument's unit to gauges and histograms that declare one (`milliseconds`,
//! `bytes`): `rocketmq_rpc_latency` is scraped as `rocketmq_rpc_latency_milliseconds_bucket`.
//! The names below are those series names (checked against a live 5.3.3 broker).

/// `rocketmq_processor_watermark` (gauge; label `processor`).
pub const PROCESSOR_WATERMARK: &str = "rocketmq_processor_watermark";
/// `rocketmq_broker_permission` (gauge).
pub const BROKER_PERMISSION: &str = "rocketmq_broker_permission";
/// `rocketmq_topic_number` (gauge).
pub const TOPIC_NUMBER: &str = "rocketmq_topic_number";
/// `rocketmq_consumer_group_number` (gauge).
pub const CONSUMER_GROUP_NUMBER: &str = "rocketmq_consumer_group_number";
/// `rocketmq_messages_in_total` (counter).
pub const MESSAGES_IN: &str = "rocketmq_messages_in_total";
/// `rocketmq_messages_out_total` (counter).
pub const MESSAGES_OUT: &str = "rocketmq_messages_out_total";
/// `rocketmq_throughput_in_total` (counter, stored bytes).
pub const THROUGHPUT_IN: &str = "rocketmq_throughput_in_total";
/// `rocketmq_throughput_out_total` (counter, bytes).
pub const THROUGHPUT_OUT: &str = "rocketmq_throughput_out_total";
/// `rocketmq_message_size` (histogram, bytes; no unit declared, so no suffix).
pub const MESSAGE_SIZE: &str = "rocketmq_message_size";
/// `rocketmq_topic_create_execution_time` (histogram, unit `milliseconds`).
pub const TOPIC_CREATE_TIME: &str = "rocketmq_topic_create_execution_time_milliseconds";
/// `rocketmq_consumer_group_create_execution_time` (histogram, unit `milliseconds`).
pub const GROUP_CREATE_TIME: &str = "rocketmq_consumer_group_create_execution_time_milliseconds";
/// `rocketmq_producer_connections` (gauge).
pub const PRODUCER_CONNECTIONS: &str = "rocketmq_producer_connections";
/// `rocketmq_consumer_connections` (gauge).
pub const CONSUMER_CONNECTIONS: &str = "rocketmq_consumer_connections";
/// `rocketmq_consumer_lag_messages` (gauge).
pub const CONSUMER_LAG_MESSAGES: &str = "rocketmq_consumer_lag_messages";
/// `rocketmq_consumer_lag_latency` (gauge, unit `milliseconds`).
pub const CONSUMER_LAG_LATENCY: &str = "rocketmq_consumer_lag_latency_milliseconds";
/// `rocketmq_consumer_inflight_messages` (gauge).
pub const CONSUMER_INFLIGHT_MESSAGES: &str = "rocketmq_consumer_inflight_messages";
/// `rocketmq_consumer_queueing_latency` (gauge, unit `milliseconds`).
pub const CONSUMER_QUEUEING_LATENCY: &str = "rocketmq_consumer_queueing_latency_milliseconds";
/// `rocketmq_consumer_ready_messages` (gauge).
pub const CONSUMER_READY_MESSAGES: &str = "rocketmq_consumer_ready_messages";
/// `rocketmq_send_to_dlq_messages_total` (counter).
pub const SEND_TO_DLQ: &str = "rocketmq_send_to_dlq_messages_total";
/// `rocketmq_commit_messages_total` (counter).
pub const COMMIT_MESSAGES: &str = "rocketmq_commit_messages_total";
/// `rocketmq_rollback_messages_total` (counter).
pub const ROLLBACK_MESSAGES: &str = "rocketmq_rollback_messages_total";
/// `rocketmq_finish_message_latency` (histogram, unit `ms`; Apache records seconds into it).
pub const FINISH_MESSAGE_LATENCY: &str = "rocketmq_finish_message_latency_milliseconds";
/// `rocketmq_half_messages` (gauge).
pub const HALF_MESSAGES: &str = "rocketmq_half_messages";
/// `rocketmq_rpc_latency` (histogram, unit `milliseconds`; `RemotingMetricsConstant`).
pub const RPC_LATENCY: &str = "rocketmq_rpc_latency_milliseconds";
/// `rocketmq_storage_size` (gauge, unit `bytes`): bytes used on the store's file system.
pub const STORAGE_SIZE: &str = "rocketmq_storage_size_bytes";
/// `rocketmq_storage_dispatch_behind_bytes` (gauge, unit `bytes`).
pub const STORAGE_DISPATCH_BEHIND: &str = "rocketmq_storage_dispatch_behind_bytes";
/// `rocketmq_storage_message_reserve_time` (gauge, unit `milliseconds`): age of the oldest message.
pub const STORAGE_RESERVE_TIME: &str = "rocketmq_storage_message_reserve_time_milliseconds";

/// `rocketmq_storage_flush_behind_bytes` (gauge, unit `bytes`): CommitLog bytes not flushed yet.
pub const STORAGE_FLUSH_BEHIND: &str = "rocketmq_storage_flush_behind_bytes";
/// rmq: per slave (label `slave`, its HA address), CommitLog bytes it has not acknowledged.
pub const REPLICATION_LAG: &str = "rocketmq_replication_lag_bytes";
/// rmq: copies in sync with the master (within `haMaxGapNotInSync`), the master's included.
pub const IN_SYNC_REPLICAS: &str = "rocketmq_replication_in_sync_replicas";
/// rmq: on a slave, `1` while it receives from its master (a frame within `haHousekeepingInterval`).
pub const REPLICATION_RECEIVING: &str = "rocketmq_replication_receiving";
/// rmq: the group's replication epoch as this broker knows it (raised by every failover and switchover).
pub const REPLICATION_EPOCH: &str = "rocketmq_replication_epoch";
/// rmq: `1` while this broker accepts writes (a master, not fenced, its lease valid in a fenced group).
pub const BROKER_WRITABLE: &str = "rocketmq_broker_writable";

/// rmq: `1` with labels `broker_id` and `role` (Apache's `node_id` is the broker name, shared by
/// master and slave).
pub const BROKER_ROLE: &str = "rocketmq_broker_role";
/// rmq: used / total bytes of the store's file system (0..1).
pub const DISK_USAGE_RATIO: &str = "rocketmq_storage_disk_usage_ratio";
/// rmq: pull requests currently held by long polling.
pub const LONG_POLLING_WAITERS: &str = "rocketmq_pull_long_polling_waiters";
/// rmq: `1` once the broker is ready (store recovered, registered with a NameServer), else `0`.
pub const READY: &str = "rocketmq_broker_ready";

/// Label `slave` (rmq): a slave's HA connection address.
pub const LABEL_SLAVE: &str = "slave";
/// Label `cluster` (`brokerClusterName`).
pub const LABEL_CLUSTER: &str = "cluster";
/// Label `node_type`, always `broker`.
pub const LABEL_NODE_TYPE: &str = "node_type";
/// Label `node_id` (`brokerName`).
pub const LABEL_NODE_ID: &str = "node_id";
/// Label the OpenTelemetry exporter adds to every series: `otel_scope_name="broker-meter"`.
pub const LABEL_OTEL_SCOPE: &str = "otel_scope_name";
/// Apache's meter name, the value of [`LABEL_OTEL_SCOPE`].
pub const OTEL_SCOPE: &str = "broker-meter";
/// Label `topic`.
pub const LABEL_TOPIC: &str = "topic";
/// Label `consumer_group`.
pub const LABEL_GROUP: &str = "consumer_group";
/// Label `message_type` (`normal`, `fifo`, `delay`, `transaction`).
pub const LABEL_MESSAGE_TYPE: &str = "message_type";
/// Label `is_system`.
pub const LABEL_IS_SYSTEM: &str = "is_system";
/// Label `is_retry`.
pub const LABEL_IS_RETRY: &str = "is_retry";
/// Label `invocation_status` (`success`, `failure`).
pub const LABEL_INVOCATION_STATUS: &str = "invocation_status";
/// Label `processor`.
pub const LABEL_PROCESSOR: &str = "processor";
/// Label `language`.
pub const LABEL_LANGUAGE: &str = "language";
/// Label `version`.
pub const LABEL_VERSION: &str = "version";
/// Label `consume_mode`.
pub const LABEL_CONSUME_MODE: &str = "consume_mode";
/// Label `protocol_type`, always `remoting`.
pub const LABEL_PROTOCOL_TYPE: &str = "protocol_type";
/// Label `request_code`.
pub const LABEL_REQUEST_CODE: &str = "request_code";
/// Label `response_code`.
pub const LABEL_RESPONSE_CODE: &str = "response_code";
/// Label `is_long_polling`.
pub const LABEL_IS_LONG_POLLING: &str = "is_long_polling";
/// Label `result` (`success`, `oneway`, …).
pub const LABEL_RESULT: &str = "result";
/// Label `storage_type`, always `local`.
pub const LABEL_STORAGE_TYPE: &str = "storage_type";
/// Label `storage_medium`, always `disk`.
pub const LABEL_STORAGE_MEDIUM: &str = "storage_medium";
/// Label `broker_id` (rmq).
pub const LABEL_BROKER_ID: &str = "broker_id";
/// Label `role` (rmq).
pub const LABEL_ROLE: &str = "role";

/// The value of `protocol_type`.
pub const PROTOCOL_REMOTING: &str = "remoting";

/// `rocketmq_message_size` buckets: 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB.
pub const MESSAGE_SIZE_BUCKETS: &[f64] = &[1024.0, 4096.0, 524_288.0, 1_048_576.0, 2_097_152.0, 4_194_304.0];
/// Topic and group creation buckets, ms: 10 ms, 100 ms, 1 s, 3 s, 5 s.
pub const CREATE_TIME_BUCKETS: &[f64] = &[10.0, 100.0, 1000.0, 3000.0, 5000.0];
/// Transaction finish buckets (seconds, as Apache records them): 5 s, 1 min, 10 min, 1 h, 12 h, 24 h.
pub const FINISH_LATENCY_BUCKETS: &[f64] = &[5.0, 60.0, 600.0, 3600.0, 43_200.0, 86_400.0];
/// `rocketmq_rpc_latency` buckets, ms.
pub const RPC_LATENCY_BUCKETS: &[f64] = &[1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 2000.0, 3000.0];

pub use rmq_remoting::protocol::names::{is_retry_or_dlq, is_system_group, is_system_topic};

/// `"true"` / `"false"`.
pub fn bool_label(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `MQVersion.getVersionDesc(ordinal)` lower-cased, as Apache's connection gauges label it
/// (`479` → `v5_3_3`). The ordinal table is regular after its first 16 entries.
pub fn version_desc(ordinal: i32) -> String {
    const FIRST: &[&str] = &[
        "V3_0_0_SNAPSHOT",
        "V3_0_0_ALPHA1",
        "V3_0_0_BETA1",
        "V3_0_0_BETA2",
        "V3_0_0_BETA3",
        "V3_0_0_BETA4",
        "V3_0_0_BETA5",
        "V3_0_0_BETA6_SNAPSHOT",
        "V3_0_0_BETA6",
        "V3_0_0_BETA7_SNAPSHOT",
        "V3_0_0_BETA7",
        "V3_0_0_BETA8_SNAPSHOT",
        "V3_0_0_BETA8",
        "V3_0_0_BETA9_SNAPSHOT",
        "V3_0_0_BETA9",
        "V3_0_0_FINAL",
    ];
    let Ok(ordinal) = usize::try_from(ordinal) else {
        return FIRST[0].to_ascii_lowercase();
    };
    if let Some(name) = FIRST.get(ordinal) {
        return name.to_ascii_lowercase();
    }
    // Then a SNAPSHOT and a release per version: 3.0.1–3.0.15, 3.1.0–3.2.9, 3.3.1–3.9.9 (no
    // x.y.0), 4.0.0–5.9.9; anything newer is HIGHER_VERSION.
    let mut versions = (1..=15)
        .map(|p| (3, 0, p))
        .chain((1..=2).flat_map(|m| (0..=9).map(move |p| (3, m, p))))
        .chain((3..=9).flat_map(|m| (1..=9).map(move |p| (3, m, p))))
        .chain((4..=5).flat_map(|major| (0..=9).flat_map(move |m| (0..=9).map(move |p| (major, m, p)))));
    let index = ordinal - FIRST.len();
    match (versions.nth(index / 2), index % 2) {
        (Some((a, b, c)), 0) => format!("v{a}_{b}_{c}_snapshot"),
        (Some((a, b, c)), _) => format!("v{a}_{b}_{c}"),
        (None, _) => "higher_version".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_descriptions_follow_mqversion() {
        assert_eq!(version_desc(479), "v5_3_3");
        assert_eq!(version_desc(15), "v3_0_0_final");
        assert_eq!(version_desc(16), "v3_0_1_snapshot");
        assert_eq!(version_desc(17), "v3_0_1");
        assert_eq!(version_desc(612), "higher_version");
        assert_eq!(version_desc(10_000), "higher_version");
    }
}

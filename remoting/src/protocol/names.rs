//! Apache's reserved topic and group names (`TopicValidator`, `MixAll`): what metrics label as
//! system traffic and what the operator never copies between brokers.

/// Apache's system topics (`TopicValidator.isSystemTopic`): this set and the `rmq_sys_` prefix.
pub const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

/// Whether Apache counts `topic` as a system topic.
pub fn is_system_topic(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_")
}

/// Whether Apache counts `group` as a system group (`CID_RMQ_SYS_` prefix, any case).
pub fn is_system_group(group: &str) -> bool {
    const PREFIX: &str = "cid_rmq_sys_";
    group.len() >= PREFIX.len() && group.as_bytes()[..PREFIX.len()].eq_ignore_ascii_case(PREFIX.as_bytes())
}

/// Retry and DLQ topics, which Apache leaves out of the in/out traffic counters.
pub fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with("%RETRY%") || topic.starts_with("%DLQ%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_topics_and_groups_as_apache() {
        assert!(is_system_topic("TBW102") && is_system_topic("rmq_sys_x") && !is_system_topic("T"));
        assert!(is_system_group("CID_RMQ_SYS_TRANS") && is_system_group("cid_rmq_sys_x") && !is_system_group("G"));
        assert!(is_retry_or_dlq("%RETRY%g") && is_retry_or_dlq("%DLQ%g") && !is_retry_or_dlq("T"));
    }
}

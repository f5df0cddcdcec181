//! Subscription groups: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) request bodies and
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DataVersion;

/// A consumer group's settings (`SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupConfig {
    /// Group name.
    pub group_name: String,
    /// Whether pulls are allowed.
    pub consume_enable: bool,
    /// Unused by the broker; kept for tools.
    pub consume_from_min_enable: bool,
    /// Whether broadcasting consumers are allowed.
    pub consume_broadcast_enable: bool,
    /// Orderly consumption hint.
    pub consume_message_orderly: bool,
    /// Queues of the retry topic.
    pub retry_queue_nums: i32,
    /// Default max reconsume times.
    pub retry_max_times: i32,
    /// Broker id to read from.
    pub broker_id: i64,
    /// Broker id to read from when slow.
    pub which_broker_when_consume_slowly: i64,
    /// Whether membership changes are notified.
    pub notify_consumer_ids_changed_enable: bool,
    /// Group system flags.
    pub group_sys_flag: i32,
    /// Consume timeout.
    pub consume_timeout_minute: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
        }
    }
}

/// Every group of a broker (`SubscriptionGroupWrapper`): GET_ALL_SUBSCRIPTIONGROUP_CONFIG's
/// answer and `config/subscriptionGroup.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupTableBody {
    /// Group name → config.
    pub subscription_group_table: BTreeMap<String, GroupConfig>,
    /// Version.
    pub data_version: DataVersion,
}

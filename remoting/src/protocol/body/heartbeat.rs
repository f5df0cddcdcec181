//! Client bodies: `HeartbeatData` and its consumer/producer/subscription parts, consumer id
//! lists and queue-lock bodies.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::MessageQueue;

/// One subscription of a consumer group (`SubscriptionData`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Topic.
    pub topic: String,
    /// Expression, e.g. `*` or `TagA || TagB`.
    pub sub_string: String,
    /// Tags of a TAG expression.
    pub tags_set: BTreeSet<String>,
    /// Java hash codes of the tags.
    pub code_set: BTreeSet<i32>,
    /// Version (ms timestamp).
    pub sub_version: i64,
    /// `TAG` or `SQL92`.
    pub expression_type: Option<String>,
    /// Legacy class filter.
    pub class_filter_mode: bool,
}

/// One consumer group of a client (`ConsumerData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// Group name.
    pub group_name: String,
    /// `CONSUME_ACTIVELY`, `CONSUME_PASSIVELY` or `CONSUME_POP`.
    pub consume_type: String,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
    /// Where a new group starts.
    pub consume_from_where: String,
    /// Subscriptions.
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode.
    pub unit_mode: bool,
}

/// One producer group of a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    /// Group name.
    pub group_name: String,
}

/// HEART_BEAT (34) request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeartbeatData {
    /// `ip@instance`.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Producer groups.
    #[serde(rename = "producerDataSet")]
    pub producer_data_set: Vec<ProducerData>,
    /// Consumer groups.
    #[serde(rename = "consumerDataSet")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// Heartbeat-v2 fingerprint (5.x).
    #[serde(rename = "heartbeatFingerprint")]
    pub heartbeat_fingerprint: i32,
    /// Heartbeat without subscriptions (5.x).
    #[serde(rename = "withoutSub")]
    pub without_sub: bool,
}

/// GET_CONSUMER_LIST_BY_GROUP (38) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerIdList {
    /// Client ids.
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequest {
    /// Consumer group.
    pub consumer_group: String,
    /// Client id.
    pub client_id: String,
    /// Queues to lock.
    pub mq_set: Vec<MessageQueue>,
    /// Only lock on this broker.
    pub only_this_broker: bool,
}

/// LOCK_BATCH_MQ (41) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponse {
    /// Queues now locked by the requester.
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}

//! Admin bodies: message queues, consumer/producer connections, consume and topic statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{mq_map, SubscriptionData};

/// A queue of a topic on a broker (`MessageQueue`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Topic.
    pub topic: String,
}

/// One client connection (`Connection`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// Client id.
    pub client_id: String,
    /// `ip:port` of the client socket.
    pub client_addr: String,
    /// Language name.
    pub language: String,
    /// Client version ordinal.
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST (203) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    /// Connections.
    pub connection_set: Vec<Connection>,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    /// `CONSUME_ACTIVELY` / `CONSUME_PASSIVELY`.
    pub consume_type: String,
    /// `CLUSTERING` / `BROADCASTING`.
    pub message_model: String,
    /// Start position.
    pub consume_from_where: String,
}

/// GET_PRODUCER_CONNECTION_LIST (204) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// Connections.
    pub connection_set: Vec<Connection>,
}

/// Per-queue progress of a group (`OffsetWrapper`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// Queue max offset.
    pub broker_offset: i64,
    /// Committed consumer offset.
    pub consumer_offset: i64,
    /// Pull offset (5.x).
    pub pull_offset: i64,
    /// Store time of the last consumed message.
    pub last_timestamp: i64,
}

/// GET_CONSUME_STATS (208) response body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumeStats {
    /// Queue → progress.
    pub offset_table: Vec<(MessageQueue, OffsetWrapper)>,
    /// Consume TPS.
    pub consume_tps: f64,
}

impl ConsumeStats {
    /// fastjson form (`MessageQueue` object keys).
    pub fn to_json(&self) -> Vec<u8> {
        format!(r#"{{"consumeTps":{:?},"offsetTable":{}}}"#, self.consume_tps, mq_map(&self.offset_table)).into_bytes()
    }
}

/// Offsets of one queue of a topic (`TopicOffset`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Min offset.
    pub min_offset: i64,
    /// Max offset.
    pub max_offset: i64,
    /// Store time of the last message.
    pub last_update_timestamp: i64,
}

/// GET_TOPIC_STATS_INFO (202) response body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicStatsTable {
    /// Queue → offsets.
    pub offset_table: Vec<(MessageQueue, TopicOffset)>,
}

impl TopicStatsTable {
    /// fastjson form (`MessageQueue` object keys).
    pub fn to_json(&self) -> Vec<u8> {
        format!(r#"{{"offsetTable":{},"topicPutTps":0.0}}"#, mq_map(&self.offset_table)).into_bytes()
    }
}

/// RESET_CONSUMER_CLIENT_OFFSET (220) / INVOKE_BROKER_TO_RESET_OFFSET (222) body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResetOffsetBody {
    /// Queue → new offset.
    pub offset_table: Vec<(MessageQueue, i64)>,
}

impl ResetOffsetBody {
    /// fastjson form (`MessageQueue` object keys).
    pub fn to_json(&self) -> Vec<u8> {
        format!(r#"{{"offsetTable":{}}}"#, mq_map(&self.offset_table)).into_bytes()
    }
}

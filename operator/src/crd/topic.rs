//! `Topic` (`rmq.io/v1alpha1`): a topic on every master of a `RocketMQCluster`. The resource is
//! the source of truth: drift made with mqadmin is reported and corrected; deleting it deletes
//! the topic (finalizer).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// A topic of a cluster.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rmq.io",
    version = "v1alpha1",
    kind = "Topic",
    plural = "topics",
    shortname = "rmqt",
    namespaced,
    status = "TopicStatus",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.clusterRef"}"#,
    printcolumn = r#"{"name":"Queues","type":"integer","jsonPath":".spec.writeQueueNums"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    /// The `RocketMQCluster` (same namespace) the topic lives in.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef cannot change"))]
    pub cluster_ref: String,
    /// The topic's name on the brokers (default: the resource's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[%|a-zA-Z0-9_-]{1,127}$')").message(
        "topicName may hold letters, digits, %, |, _ and - only, at most 127 characters"
    ))]
    pub topic_name: Option<String>,
    /// Read queues per master (default 8).
    #[serde(default = "eight")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1024").message("readQueueNums must be 1 to 1024"))]
    pub read_queue_nums: i32,
    /// Write queues per master (default 8).
    #[serde(default = "eight")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1024").message("writeQueueNums must be 1 to 1024"))]
    pub write_queue_nums: i32,
    /// Permission bits: 2 write, 4 read, 6 both (default 6).
    #[serde(default = "six")]
    #[x_kube(validation = Rule::new("self in [2, 4, 6]").message("perm must be 2 (write), 4 (read) or 6 (both)"))]
    pub perm: i32,
    /// An ordered topic.
    #[serde(default)]
    pub order: bool,
    /// The message type it carries (`+message.type` in Apache 5.x).
    #[serde(default)]
    pub message_type: MessageType,
}

fn eight() -> i32 {
    8
}

fn six() -> i32 {
    6
}

/// `message.type`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum MessageType {
    /// Normal messages.
    #[default]
    Normal,
    /// Ordered (FIFO) messages.
    Fifo,
    /// Delayed and timer messages.
    Delay,
    /// Transactional messages.
    Transaction,
}

/// What the operator observed of the topic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Drifted`, `ClusterGone`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

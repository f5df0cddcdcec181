//! Route bodies: `TopicRouteData` (GET_ROUTEINFO_BY_TOPIC), `ClusterInfo` (GET_BROKER_CLUSTER_INFO).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// Permission bits of a topic or broker (`PermName`).
pub mod perm {
    /// Priority (unused).
    pub const PRIORITY: i32 = 8;
    /// Readable.
    pub const READ: i32 = 4;
    /// Writable.
    pub const WRITE: i32 = 2;
    /// New topics may be auto-created from this one.
    pub const INHERIT: i32 = 1;
    /// Read and write.
    pub const READ_WRITE: i32 = READ | WRITE;
}

/// Queues of one topic on one broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    /// Broker name.
    pub broker_name: String,
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
    /// Permission bits.
    pub perm: i32,
    /// Topic system flags.
    pub topic_sys_flag: i32,
}

/// One broker group: its name, cluster and addresses by broker id (0 = master).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Cluster name.
    pub cluster: String,
    /// Broker name.
    pub broker_name: String,
    /// Broker id → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    /// Acting-master mode (5.x).
    pub enable_acting_master: bool,
    /// Zone (5.x).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

/// GET_ROUTEINFO_BY_TOPIC (105) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    /// Ordered-topic queue config (`brokerA:4;brokerB:4`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// Queues per broker.
    pub queue_datas: Vec<QueueData>,
    /// Brokers serving the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Legacy filter servers (always empty).
    pub filter_server_table: HashMap<String, Vec<String>>,
}

/// GET_BROKER_CLUSTER_INFO (106) response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → broker data.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addrs_keys_are_quoted_numbers() {
        let mut b = BrokerData { cluster: "c".into(), broker_name: "b".into(), ..Default::default() };
        b.broker_addrs.insert(0, "127.0.0.1:10911".into());
        let json = String::from_utf8(crate::protocol::body::to_json(&b)).expect("utf8");
        assert!(json.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#), "{json}");
        let back: BrokerData = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, b);
    }
}

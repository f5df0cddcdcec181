//! Route and topic-list queries, and topic administration (delete, register, write
//! permission) on the route table.

use std::collections::BTreeSet;

use rmq_remoting::protocol::body::{perm, BrokerData, ClusterInfo, QueueData, TopicList, TopicRouteData};

use super::RouteTable;

/// `TopicSysFlag` unit bit.
const FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag` unit-subscription bit.
const FLAG_UNIT_SUB: i32 = 0x2;

/// Which unit topics a unit topic list (311/312/313) returns, by the topic's sysflag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitFilter {
    /// GET_UNIT_TOPIC_LIST: the unit bit is set.
    Unit,
    /// GET_HAS_UNIT_SUB_TOPIC_LIST: the unit-sub bit is set.
    HasUnitSub,
    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: unit-sub set, unit clear.
    HasUnitSubNotUnit,
}

impl UnitFilter {
    fn matches(self, sys_flag: i32) -> bool {
        let unit = sys_flag & FLAG_UNIT != 0;
        let unit_sub = sys_flag & FLAG_UNIT_SUB != 0;
        match self {
            UnitFilter::Unit => unit,
            UnitFilter::HasUnitSub => unit_sub,
            UnitFilter::HasUnitSubNotUnit => unit_sub && !unit,
        }
    }
}

/// A topic that names a broker the table does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broker '{0}' is not registered")]
pub struct UnknownBroker(pub String);

impl RouteTable {
    /// The route of `topic`: all its queues and the brokers serving them; `None` when the topic
    /// has no queues or none of its brokers is registered.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        let tables = self.read();
        let queues = tables.topics.get(topic)?;
        let broker_datas: Vec<_> = queues.keys().filter_map(|name| tables.brokers.get(name).cloned()).collect();
        if broker_datas.is_empty() {
            return None;
        }
        Some(TopicRouteData { queue_datas: queues.values().cloned().collect(), broker_datas, ..Default::default() })
    }

    /// GET_BROKER_CLUSTER_INFO: every broker and every cluster.
    pub fn cluster_info(&self) -> ClusterInfo {
        let tables = self.read();
        ClusterInfo { broker_addr_table: tables.brokers.clone(), cluster_addr_table: tables.clusters.clone() }
    }

    /// The addresses of broker group `broker_name`.
    pub fn broker(&self, broker_name: &str) -> Option<BrokerData> {
        self.read().brokers.get(broker_name).cloned()
    }

    /// How many topics have queues.
    pub fn topic_count(&self) -> usize {
        self.read().topics.len()
    }

    /// Every topic with queues.
    pub fn all_topics(&self) -> Vec<String> {
        self.read().topics.keys().cloned().collect()
    }

    /// Topics served by at least one broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> Vec<String> {
        let tables = self.read();
        let Some(names) = tables.clusters.get(cluster) else {
            return Vec::new();
        };
        tables
            .topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|b| names.contains(b)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster names and broker names (each is a topic in
    /// RocketMQ), plus the address of one broker so tools can ask it for the rest.
    pub fn system_topics(&self) -> TopicList {
        let tables = self.read();
        let mut names = BTreeSet::new();
        for (cluster, brokers) in &tables.clusters {
            names.insert(cluster.clone());
            names.extend(brokers.iter().cloned());
        }
        let broker_addr = tables.brokers.values().find_map(|b| b.broker_addrs.values().next().cloned());
        TopicList { topic_list: names.into_iter().collect(), broker_addr }
    }

    /// Topics whose sysflag (taken from their first queue data, as Apache does) matches.
    pub fn unit_topics(&self, filter: UnitFilter) -> Vec<String> {
        self.read()
            .topics
            .iter()
            .filter(|(_, queues)| queues.values().next().is_some_and(|q| filter.matches(q.topic_sys_flag)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// DELETE_TOPIC_IN_NAMESRV: removes `topic` everywhere, or only from the brokers of
    /// `cluster`. Returns whether anything was removed.
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) -> bool {
        let mut tables = self.write();
        let Some(cluster) = cluster else {
            return tables.topics.remove(topic).is_some();
        };
        let Some(names) = tables.clusters.get(cluster).cloned() else {
            return false;
        };
        let Some(queues) = tables.topics.get_mut(topic) else {
            return false;
        };
        let before = queues.len();
        queues.retain(|broker, _| !names.contains(broker));
        let removed = queues.len() != before;
        if queues.is_empty() {
            tables.topics.remove(topic);
        }
        removed
    }

    /// REGISTER_TOPIC_IN_NAMESRV: adds (or replaces) `topic`'s queues on the given brokers. All
    /// brokers must be registered; otherwise nothing changes.
    pub fn register_topic(&self, topic: &str, queue_datas: Vec<QueueData>) -> Result<(), UnknownBroker> {
        let mut tables = self.write();
        if let Some(q) = queue_datas.iter().find(|q| !tables.brokers.contains_key(&q.broker_name)) {
            return Err(UnknownBroker(q.broker_name.clone()));
        }
        if queue_datas.is_empty() {
            return Ok(());
        }
        let queues = tables.topics.entry(topic.to_owned()).or_default();
        for q in queue_datas {
            queues.insert(q.broker_name.clone(), q);
        }
        Ok(())
    }

    /// WIPE_WRITE_PERM_OF_BROKER (`writable = false`: clear the write bit) or
    /// ADD_WRITE_PERM_OF_BROKER (`writable = true`: set read+write) on every queue of
    /// `broker_name`. Returns the number of topics touched.
    pub fn set_write_perm(&self, broker_name: &str, writable: bool) -> i32 {
        let mut tables = self.write();
        let mut count = 0;
        for queue in tables.topics.values_mut().filter_map(|q| q.get_mut(broker_name)) {
            queue.perm = if writable { perm::READ_WRITE } else { queue.perm & !perm::WRITE };
            count += 1;
        }
        count
    }
}

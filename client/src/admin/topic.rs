//! Topics: create or update on every master of a cluster or on one broker
//! (UPDATE_AND_CREATE_TOPIC), delete (DELETE_TOPIC_IN_BROKER + DELETE_TOPIC_IN_NAMESRV), list
//! (GET_ALL_TOPIC_LIST_FROM_NAMESERVER), one broker's config of a topic (GET_TOPIC_CONFIG) and
//! per-queue offsets (GET_TOPIC_STATS_INFO).

use std::collections::BTreeMap;

use rmq_remoting::protocol::admin::{CreateTopicRequest, TopicRequest};
use rmq_remoting::protocol::body::{mq_entries, perm, TopicConfig, TopicList, TopicOffset};
use rmq_remoting::protocol::namesrv::DeleteTopicFromNamesrvRequest;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::{Deserialize, Serialize};

use super::{is_success, parse_body, refused, Admin, AdminError, AdminResult};

/// The topic auto-creation template every create request names (`defaultTopic`).
const DEFAULT_TOPIC: &str = "TBW102";

/// A topic's queue layout and permission, as created or updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    /// Topic name.
    pub topic: String,
    /// Readable queues per broker.
    pub read_queues: i32,
    /// Writable queues per broker.
    pub write_queues: i32,
    /// Permission bits: 2 write, 4 read, 6 both.
    pub perm: i32,
    /// Ordered topic.
    pub order: bool,
    /// Attributes to add or update, without the `+` (`message.type` → `FIFO`); Apache 5.x keys.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl TopicSpec {
    /// `topic` with mqadmin's defaults: 8 read and 8 write queues, read-write.
    pub fn new(topic: impl Into<String>) -> Self {
        TopicSpec {
            topic: topic.into(),
            read_queues: 8,
            write_queues: 8,
            perm: perm::READ_WRITE,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

/// Where a topic is created or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicTarget {
    /// Every master of the cluster with this name.
    Cluster(String),
    /// The broker at this `ip:port`.
    Broker(String),
}

/// What a delete touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicDeletion {
    /// The deleted topic.
    pub topic: String,
    /// Broker addresses it was deleted from.
    pub brokers: Vec<String>,
    /// NameServers it was removed from.
    pub name_servers: Vec<String>,
}

/// Offsets of one queue of a topic (a row of `rmqadmin topic status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Smallest offset still stored.
    pub min_offset: i64,
    /// Next offset to be written (= messages ever written).
    pub max_offset: i64,
    /// Store time of the last message (ms), 0 when the queue is empty.
    pub last_update_timestamp: i64,
}

/// GET_TOPIC_STATS_INFO body as read: `MessageQueue` object keys become strings.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawTopicStats {
    offset_table: BTreeMap<String, TopicOffset>,
}

impl Admin {
    /// Creates or updates a topic on every master of a cluster or on one broker; returns the
    /// broker addresses that accepted it. The brokers register the change with the NameServers
    /// right away, so the route follows within moments.
    pub async fn create_topic(&self, spec: &TopicSpec, target: &TopicTarget) -> AdminResult<Vec<String>> {
        let addrs = match target {
            TopicTarget::Broker(addr) => vec![addr.clone()],
            TopicTarget::Cluster(cluster) => self.cluster_master_addrs(cluster).await?,
        };
        if addrs.is_empty() {
            return Err(AdminError::not_found(format!("no master broker in {target:?}")));
        }
        let header = CreateTopicRequest {
            topic: spec.topic.clone(),
            default_topic: Some(DEFAULT_TOPIC.into()),
            read_queue_nums: spec.read_queues,
            write_queue_nums: spec.write_queues,
            perm: spec.perm,
            topic_filter_type: Some("SINGLE_TAG".into()),
            topic_sys_flag: Some(0),
            order: Some(spec.order),
            attributes: (!spec.attributes.is_empty())
                .then(|| spec.attributes.iter().map(|(k, v)| format!("+{k}={v}")).collect::<Vec<_>>().join(",")),
        };
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(&header);
            self.call_ok(addr, request).await?;
        }
        Ok(addrs)
    }

    /// The current layout of an existing topic, from its route (the first broker's queues).
    pub async fn topic_spec(&self, topic: &str) -> AdminResult<TopicSpec> {
        let route = self.topic_route(topic).await?;
        let q = route
            .queue_datas
            .iter()
            .min_by(|a, b| a.broker_name.cmp(&b.broker_name))
            .ok_or_else(|| AdminError::not_found(format!("topic {topic} has no queues")))?;
        Ok(TopicSpec {
            topic: topic.to_owned(),
            read_queues: q.read_queue_nums,
            write_queues: q.write_queue_nums,
            perm: q.perm,
            order: route.order_topic_conf.as_deref().is_some_and(|c| !c.is_empty()),
            attributes: BTreeMap::new(),
        })
    }

    /// The topic's configuration as the broker at `addr` holds it (GET_TOPIC_CONFIG); `None` when
    /// that broker does not have it.
    pub async fn broker_topic_config(&self, addr: &str, topic: &str) -> AdminResult<Option<TopicConfig>> {
        let request =
            RemotingCommand::request(RequestCode::GetTopicConfig).with_header(&TopicRequest { topic: topic.into() });
        let resp = self.call(addr, request).await?;
        if resp.response_code() == ResponseCode::TopicNotExist {
            return Ok(None);
        }
        if !is_success(&resp) {
            return Err(refused(addr, &resp));
        }
        parse_body(addr, &resp).map(Some)
    }

    /// Deletes `topic` from the masters of `cluster` (or, without a cluster, from the brokers of
    /// its route), then from every NameServer.
    pub async fn delete_topic(&self, topic: &str, cluster: Option<&str>) -> AdminResult<TopicDeletion> {
        let brokers: Vec<String> = match cluster {
            Some(c) => self.cluster_master_addrs(c).await?,
            None => Self::route_brokers(&self.topic_route(topic).await?).into_iter().map(|(_, a)| a).collect(),
        };
        for addr in &brokers {
            let request = RemotingCommand::request(RequestCode::DeleteTopicInBroker)
                .with_header(&TopicRequest { topic: topic.into() });
            self.call_ok(addr, request).await?;
        }
        let header = DeleteTopicFromNamesrvRequest { topic: topic.into(), cluster_name: cluster.map(str::to_owned) };
        let mut name_servers = Vec::new();
        for addr in self.name_servers().to_vec() {
            let request = RemotingCommand::request(RequestCode::DeleteTopicInNamesrv).with_header(&header);
            self.call_ok(&addr, request).await?;
            name_servers.push(addr);
        }
        Ok(TopicDeletion { topic: topic.to_owned(), brokers, name_servers })
    }

    /// Every topic the NameServers know, sorted.
    pub async fn topic_list(&self) -> AdminResult<Vec<String>> {
        let request = RemotingCommand::request(RequestCode::GetAllTopicListFromNameserver);
        let (addr, resp) = self.name_server_ok(request).await?;
        let mut list: TopicList = parse_body(&addr, &resp)?;
        list.topic_list.sort();
        list.topic_list.dedup();
        Ok(list.topic_list)
    }

    /// Min and max offset and last store time of every queue of `topic`, ordered by broker name
    /// and queue id.
    pub async fn topic_status(&self, topic: &str) -> AdminResult<Vec<QueueStatus>> {
        let route = self.topic_route(topic).await?;
        let mut rows = Vec::new();
        for (_, addr) in Self::route_brokers(&route) {
            let request = RemotingCommand::request(RequestCode::GetTopicStatsInfo)
                .with_header(&TopicRequest { topic: topic.into() });
            let resp = self.call(&addr, request).await?;
            if !is_success(&resp) {
                return Err(refused(&addr, &resp));
            }
            let raw: RawTopicStats = parse_body(&addr, &resp)?;
            rows.extend(mq_entries(raw.offset_table).into_iter().map(|(mq, o)| QueueStatus {
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                min_offset: o.min_offset,
                max_offset: o.max_offset,
                last_update_timestamp: o.last_update_timestamp,
            }));
        }
        if rows.is_empty() {
            return Err(AdminError::not_found(format!("no queue statistics for topic {topic}")));
        }
        rows.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use rmq_remoting::protocol::body::from_fastjson;

    use super::*;

    #[test]
    fn apache_topic_stats_body_parses() {
        let body = br#"{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":5,"minOffset":0},{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}},"topicPutTps":0.0}"#;
        let raw: RawTopicStats = from_fastjson(body).expect("parses");
        let entries = mq_entries(raw.offset_table);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].0.queue_id, entries[0].1.max_offset), (0, 0));
        assert_eq!((entries[1].0.queue_id, entries[1].1.max_offset), (1, 5));
    }

    #[test]
    fn new_topics_get_mqadmin_defaults() {
        let spec = TopicSpec::new("t");
        assert_eq!((spec.read_queues, spec.write_queues, spec.perm, spec.order), (8, 8, 6, false));
    }
}

//! Consumer groups: per-queue progress with diff and TPS (GET_CONSUME_STATS on every broker of
//! the group's route), the connected clients with their subscriptions
//! (GET_CONSUMER_CONNECTION_LIST), and what every group has left to consume on one broker.

use std::collections::{BTreeMap, BTreeSet};

use rmq_remoting::message::RETRY_TOPIC_PREFIX;
use rmq_remoting::protocol::admin::GetConsumeStatsRequest;
use rmq_remoting::protocol::body::{mq_entries, ConsumerConnection, OffsetWrapper, TopicRouteData};
use rmq_remoting::protocol::consumer::ConsumerGroupHeader;
use rmq_remoting::{RemotingCommand, RequestCode};
use serde::{Deserialize, Serialize};

use super::{parse_body, Admin, AdminError, AdminResult, ErrorKind};

/// Progress of a group on one queue (a row of `rmqadmin consumer progress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueProgress {
    /// Topic.
    pub topic: String,
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// Messages not consumed yet: `broker_offset - consumer_offset`.
    pub diff: i64,
    /// Pulled but not committed: `pull_offset - consumer_offset` (5.x brokers; else 0).
    pub inflight: i64,
    /// Store time of the last consumed message (ms), 0 if unknown.
    pub last_timestamp: i64,
}

/// A group's progress over all its queues.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerProgress {
    /// Consumer group.
    pub group: String,
    /// Queues, ordered by topic, broker name and queue id.
    pub queues: Vec<QueueProgress>,
    /// Consume TPS summed over the brokers.
    pub consume_tps: f64,
    /// Sum of the queues' diffs.
    pub diff_total: i64,
    /// Sum of the queues' in-flight counts.
    pub inflight_total: i64,
}

/// One connected client of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConnection {
    /// Client id (`ip@instance`).
    pub client_id: String,
    /// The client socket's `ip:port`.
    pub client_addr: String,
    /// Client language (`JAVA`, `RUST`, …).
    pub language: String,
    /// Client version ordinal (`MQVersion`).
    pub version: i32,
}

/// One subscription of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Topic.
    pub topic: String,
    /// Expression, e.g. `*` or `TagA || TagB`.
    pub expression: String,
    /// `TAG` or `SQL92`.
    pub expression_type: String,
}

/// The online clients of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnections {
    /// Consumer group.
    pub group: String,
    /// Connected clients, ordered by client id.
    pub connections: Vec<ClientConnection>,
    /// Subscriptions, ordered by topic.
    pub subscriptions: Vec<Subscription>,
    /// `CONSUME_ACTIVELY` (pull) or `CONSUME_PASSIVELY` (push).
    pub consume_type: String,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
    /// Where a new consumer starts.
    pub consume_from_where: String,
}

/// GET_ALL_CONSUMER_OFFSET body as read: `topic@group` keys (the per-queue maps are not needed).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawOffsetTable {
    offset_table: BTreeMap<String, serde::de::IgnoredAny>,
}

/// GET_CONSUME_STATS body as read: `MessageQueue` object keys become strings.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct RawConsumeStats {
    pub offset_table: BTreeMap<String, OffsetWrapper>,
    pub consume_tps: f64,
}

impl Admin {
    /// GET_CONSUME_STATS of `group` (on `topic` only, when given) from the broker at `addr`.
    pub(super) async fn consume_stats_on(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> AdminResult<RawConsumeStats> {
        let header = GetConsumeStatsRequest { consumer_group: group.into(), topic: topic.map(str::to_owned) };
        let request = RemotingCommand::request(RequestCode::GetConsumeStats).with_header(&header);
        let resp = self.call_ok(addr, request).await?;
        parse_body(addr, &resp)
    }

    /// The route that reaches a group's brokers: its retry topic's, else (with a topic) the
    /// topic's, as mqadmin looks it up.
    async fn group_route(&self, group: &str, topic: Option<&str>) -> AdminResult<TopicRouteData> {
        let retry = format!("{RETRY_TOPIC_PREFIX}{group}");
        match self.topic_route(&retry).await {
            Err(e) if e.kind() == ErrorKind::NotFound => match topic {
                Some(t) => self.topic_route(t).await,
                None => Err(AdminError::not_found(format!(
                    "consumer group {group} is unknown (no route for {retry}: it never came online)"
                ))),
            },
            other => other,
        }
    }

    /// Per-queue progress of `group` (on `topic` only, when given), as `mqadmin consumerProgress`.
    pub async fn consumer_progress(&self, group: &str, topic: Option<&str>) -> AdminResult<ConsumerProgress> {
        let route = self.group_route(group, topic).await?;
        let mut queues = Vec::new();
        let mut consume_tps = 0.0;
        for (_, addr) in Self::route_brokers(&route) {
            let raw = self.consume_stats_on(&addr, group, topic).await?;
            consume_tps += raw.consume_tps;
            queues.extend(mq_entries(raw.offset_table).into_iter().map(|(mq, o)| QueueProgress {
                topic: mq.topic,
                broker_name: mq.broker_name,
                queue_id: mq.queue_id,
                broker_offset: o.broker_offset,
                consumer_offset: o.consumer_offset,
                diff: o.broker_offset - o.consumer_offset,
                inflight: (o.pull_offset - o.consumer_offset).max(0),
                last_timestamp: o.last_timestamp,
            }));
        }
        if queues.is_empty() {
            // As mqadmin: an empty table means the group is offline, or broadcasting (offsets
            // kept by the clients).
            let connections = self.consumer_connections(group).await?;
            let reason = if connections.message_model == "BROADCASTING" {
                "it consumes in broadcasting mode (offsets are kept by the clients)"
            } else {
                "it has not consumed anything yet"
            };
            return Err(AdminError::not_found(format!("no consume statistics for group {group}: {reason}")));
        }
        queues.sort_by(|a, b| (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id)));
        Ok(ConsumerProgress {
            group: group.to_owned(),
            diff_total: queues.iter().map(|q| q.diff).sum(),
            inflight_total: queues.iter().map(|q| q.inflight).sum(),
            queues,
            consume_tps,
        })
    }

    /// What each consumer group has not consumed yet on the broker at `addr` alone, by group:
    /// every group it holds a subscription or committed offsets for
    /// (GET_ALL_SUBSCRIPTIONGROUP_CONFIG, GET_ALL_CONSUMER_OFFSET), summed over the group's queues
    /// there as broker offset minus committed offset (GET_CONSUME_STATS). System groups included.
    pub async fn broker_backlog(&self, addr: &str) -> AdminResult<BTreeMap<String, i64>> {
        let mut groups: BTreeSet<String> = self.broker_groups(addr).await?.into_iter().map(|g| g.group_name).collect();
        let resp = self.call_ok(addr, RemotingCommand::request(RequestCode::GetAllConsumerOffset)).await?;
        let offsets: RawOffsetTable = parse_body(addr, &resp)?;
        groups.extend(offsets.offset_table.keys().filter_map(|k| k.split_once('@')).map(|(_, g)| g.to_owned()));
        let mut backlog = BTreeMap::new();
        for group in groups {
            let raw = self.consume_stats_on(addr, &group, None).await?;
            backlog
                .insert(group, raw.offset_table.values().map(|o| (o.broker_offset - o.consumer_offset).max(0)).sum());
        }
        Ok(backlog)
    }

    /// The online clients of `group` and their subscriptions; [`ErrorKind::NotFound`] when
    /// none is online.
    pub async fn consumer_connections(&self, group: &str) -> AdminResult<ConsumerConnections> {
        let route = self.group_route(group, None).await?;
        let (_, addr) = Self::route_brokers(&route)
            .into_iter()
            .next()
            .ok_or_else(|| AdminError::not_found(format!("no broker serves consumer group {group}")))?;
        let header = ConsumerGroupHeader { consumer_group: group.into() };
        let request = RemotingCommand::request(RequestCode::GetConsumerConnectionList).with_header(&header);
        let resp = self.call_ok(&addr, request).await?;
        let raw: ConsumerConnection = parse_body(&addr, &resp)?;
        let mut connections: Vec<ClientConnection> = raw
            .connection_set
            .into_iter()
            .map(|c| ClientConnection {
                client_id: c.client_id,
                client_addr: c.client_addr,
                language: c.language,
                version: c.version,
            })
            .collect();
        connections.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let subscriptions = raw
            .subscription_table
            .into_values()
            .map(|s| Subscription {
                topic: s.topic,
                expression: s.sub_string,
                expression_type: s.expression_type.unwrap_or_else(|| "TAG".into()),
            })
            .collect();
        Ok(ConsumerConnections {
            group: group.to_owned(),
            connections,
            subscriptions,
            consume_type: raw.consume_type,
            message_model: raw.message_model,
            consume_from_where: raw.consume_from_where,
        })
    }
}

#[cfg(test)]
mod tests {
    use rmq_remoting::protocol::body::from_fastjson;

    use super::*;

    #[test]
    fn apache_consume_stats_body_parses() {
        let body = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":10,"consumerOffset":7,"lastTimestamp":1700000000000,"pullOffset":9}}}"#;
        let raw: RawConsumeStats = from_fastjson(body).expect("parses");
        assert!((raw.consume_tps - 1.5).abs() < f64::EPSILON);
        let entries = mq_entries(raw.offset_table);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0.topic, "T");
        assert_eq!((entries[0].1.broker_offset, entries[0].1.consumer_offset, entries[0].1.pull_offset), (10, 7, 9));
    }
}

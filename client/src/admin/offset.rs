//! Moving a consumer group's offsets back or forward to a point in time, as `mqadmin
//! resetOffsetByTime`: INVOKE_BROKER_TO_RESET_OFFSET on each broker of the topic, which applies
//! it and gets online consumers to follow (rmq and Apache before 5.x push the offsets to them;
//! Apache 5.x resets server-side). When a broker answers CONSUMER_NOT_ONLINE, the offsets are
//! written directly (GET_CONSUME_STATS, SEARCH_OFFSET_BY_TIMESTAMP, UPDATE_CONSUMER_OFFSET).

use std::collections::BTreeMap;

use rmq_remoting::protocol::admin::ResetOffsetRequest;
use rmq_remoting::protocol::body::{mq_entries, MessageQueue};
use rmq_remoting::protocol::consumer::{OffsetResponse, SearchOffsetRequest, UpdateConsumerOffsetRequest};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::{Deserialize, Serialize};

use super::{parse_body, refused, Admin, AdminResult};
use crate::error::ClientError;

/// The new offset of one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReset {
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// The group's offset now.
    pub offset: i64,
}

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetReset {
    /// Consumer group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// The target time (ms; -1 = the end of each queue).
    pub timestamp: i64,
    /// `true` when the brokers applied the reset themselves (online consumers follow);
    /// `false` when a broker found the group offline and the committed offsets were rewritten
    /// by this client instead.
    pub applied_by_broker: bool,
    /// New offsets, ordered by broker name and queue id.
    pub queues: Vec<QueueReset>,
}

/// RESET body as read: `MessageQueue` object keys become strings.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawResetBody {
    offset_table: BTreeMap<String, i64>,
}

impl Admin {
    /// Moves `group`'s offsets on `topic` to the first message stored at or after `timestamp`
    /// (ms since the epoch; -1 = the end of each queue). With `force` off, a queue is only moved
    /// backwards.
    pub async fn reset_offset_by_time(
        &self,
        group: &str,
        topic: &str,
        timestamp: i64,
        force: bool,
    ) -> AdminResult<OffsetReset> {
        let route = self.topic_route(topic).await?;
        let brokers = Self::route_brokers(&route);
        let header = ResetOffsetRequest {
            topic: topic.into(),
            group: group.into(),
            timestamp,
            is_force: Some(force),
            queue_id: None,
            offset: None,
        };
        let mut queues = Vec::new();
        for (_, addr) in &brokers {
            let request = RemotingCommand::request(RequestCode::InvokeBrokerToResetOffset).with_header(&header);
            let resp = self.call(addr, request).await?;
            match resp.response_code() {
                ResponseCode::Success => {
                    let raw: RawResetBody = parse_body(addr, &resp)?;
                    queues.extend(mq_entries(raw.offset_table).into_iter().map(|(mq, offset)| QueueReset {
                        broker_name: mq.broker_name,
                        queue_id: mq.queue_id,
                        offset,
                    }));
                }
                // As mqadmin: nobody to notify, so rewrite the committed offsets directly.
                ResponseCode::ConsumerNotOnline => return self.reset_offline(group, topic, timestamp, force).await,
                _ => return Err(refused(addr, &resp)),
            }
        }
        queues.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
        Ok(OffsetReset { group: group.into(), topic: topic.into(), timestamp, applied_by_broker: true, queues })
    }

    /// The offline reset: per queue the group has consumed (or, if none, per queue of the
    /// topic), look up the offset at `timestamp` and commit it.
    async fn reset_offline(&self, group: &str, topic: &str, timestamp: i64, force: bool) -> AdminResult<OffsetReset> {
        let route = self.topic_route(topic).await?;
        let status = self.topic_status(topic).await?;
        let mut queues = Vec::new();
        for (broker_name, addr) in Self::route_brokers(&route) {
            let raw = self.consume_stats_on(&addr, group, None).await?;
            let mut consumed: Vec<(MessageQueue, i64)> = mq_entries(raw.offset_table)
                .into_iter()
                .filter(|(mq, _)| mq.topic == topic)
                .map(|(mq, o)| (mq, o.consumer_offset))
                .collect();
            if consumed.is_empty() {
                consumed = status
                    .iter()
                    .filter(|q| q.broker_name == broker_name)
                    .map(|q| {
                        let mq = MessageQueue {
                            topic: topic.into(),
                            broker_name: q.broker_name.clone(),
                            queue_id: q.queue_id,
                        };
                        (mq, q.min_offset)
                    })
                    .collect();
            }
            for (mq, current) in consumed {
                let target = if timestamp < 0 {
                    status
                        .iter()
                        .find(|q| q.broker_name == mq.broker_name && q.queue_id == mq.queue_id)
                        .map_or(current, |q| q.max_offset)
                } else {
                    self.search_offset(&addr, &mq, timestamp).await?
                };
                let offset = if force || target <= current { target } else { current };
                if offset != current || force {
                    self.commit_offset(&addr, group, &mq, offset).await?;
                }
                queues.push(QueueReset { broker_name: mq.broker_name, queue_id: mq.queue_id, offset });
            }
        }
        queues.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
        Ok(OffsetReset { group: group.into(), topic: topic.into(), timestamp, applied_by_broker: false, queues })
    }

    /// The offset of the first message of `mq` stored at or after `timestamp`
    /// (SEARCH_OFFSET_BY_TIMESTAMP).
    async fn search_offset(&self, addr: &str, mq: &MessageQueue, timestamp: i64) -> AdminResult<i64> {
        let header =
            SearchOffsetRequest { topic: mq.topic.clone(), queue_id: mq.queue_id, timestamp, boundary_type: None };
        let request = RemotingCommand::request(RequestCode::SearchOffsetByTimestamp).with_header(&header);
        let resp = self.call_ok(addr, request).await?;
        let offset: OffsetResponse =
            resp.header().map_err(|e| ClientError::protocol(addr, format!("bad offset header: {e}")))?;
        Ok(offset.offset)
    }

    /// Commits `offset` for `group` on `mq` (UPDATE_CONSUMER_OFFSET, answered).
    async fn commit_offset(&self, addr: &str, group: &str, mq: &MessageQueue, offset: i64) -> AdminResult<()> {
        let header = UpdateConsumerOffsetRequest {
            consumer_group: group.into(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        let request = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(&header);
        self.call_ok(addr, request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rmq_remoting::protocol::body::from_fastjson;

    use super::*;

    #[test]
    fn reset_body_parses() {
        let body = br#"{"offsetTable":{{"brokerName":"broker-a","queueId":3,"topic":"T"}:12}}"#;
        let raw: RawResetBody = from_fastjson(body).expect("parses");
        let entries = mq_entries(raw.offset_table);
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].0.queue_id, entries[0].1), (3, 12));
    }
}

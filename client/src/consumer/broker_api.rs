//! The consumer's requests to brokers: pull, offsets, the group's member list, send-back of a
//! failed message, and queue locks for orderly consumption.

use std::time::Duration;

use rmq_remoting::message::StoredMessage;
use rmq_remoting::protocol::body::{from_fastjson, to_json, ConsumerIdList, LockBatchRequest, LockBatchResponse};
use rmq_remoting::protocol::consumer::{
    pull_flag, ConsumerGroupHeader, ConsumerSendMsgBackRequest, OffsetResponse, PullMessageRequest,
    PullMessageResponse, QueryConsumerOffsetRequest, QueueRequest, SearchOffsetRequest, UpdateConsumerOffsetRequest,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::core::{expect_success, ClientCore};
use crate::error::{ClientError, Result};
use crate::message::{MessageQueue, ReceivedMessage};

/// How long the broker may hold a pull with no new message (long polling).
pub(crate) const BROKER_SUSPEND: Duration = Duration::from_secs(15);
/// Client-side timeout of a held pull.
pub(crate) const PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// One pull's answer.
#[derive(Debug)]
pub(crate) enum PullOutcome {
    /// Messages, and where to pull next.
    Found { messages: Vec<ReceivedMessage>, next_offset: i64 },
    /// Nothing new (or nothing matching) before `next_offset`.
    Nothing { next_offset: i64 },
    /// The requested offset was invalid; continue from `next_offset`.
    OffsetMoved { next_offset: i64 },
}

/// A pull request's parameters.
pub(crate) struct PullParams<'a> {
    pub group: &'a str,
    pub queue: &'a MessageQueue,
    pub offset: i64,
    pub max_messages: i32,
    pub commit_offset: Option<i64>,
    pub expression: &'a str,
    pub expression_type: &'a str,
    pub sub_version: i64,
    pub suspend: bool,
}

fn broker_addr(core: &ClientCore, queue: &MessageQueue) -> Result<String> {
    core.cached_route(&queue.topic)
        .and_then(|r| r.read_addr(&queue.broker_name, crate::route::MASTER_ID).map(str::to_owned))
        .or_else(|| core.master_addr(&queue.broker_name))
        .ok_or_else(|| ClientError::Config(format!("no address known for broker {}", queue.broker_name)))
}

/// Pulls from `queue`, decoding the records.
pub(crate) async fn pull(core: &ClientCore, p: PullParams<'_>) -> Result<PullOutcome> {
    let addr = broker_addr(core, p.queue)?;
    let mut sys_flag = pull_flag::SUBSCRIPTION;
    if p.suspend {
        sys_flag |= pull_flag::SUSPEND;
    }
    if p.commit_offset.is_some() {
        sys_flag |= pull_flag::COMMIT_OFFSET;
    }
    let header = PullMessageRequest {
        consumer_group: p.group.to_owned(),
        topic: p.queue.topic.clone(),
        queue_id: p.queue.queue_id,
        queue_offset: p.offset,
        max_msg_nums: p.max_messages,
        sys_flag,
        commit_offset: Some(p.commit_offset.unwrap_or(0)),
        suspend_timeout_millis: Some(BROKER_SUSPEND.as_millis() as i64),
        subscription: Some(p.expression.to_owned()),
        sub_version: Some(p.sub_version),
        expression_type: Some(p.expression_type.to_owned()),
        max_msg_bytes: None,
    };
    let request = RemotingCommand::request(RequestCode::PullMessage).with_header(&header);
    let timeout = if p.suspend { PULL_TIMEOUT } else { core.options.request_timeout };
    let resp = core.call(&addr, request, timeout).await?;
    let code = resp.response_code();
    if !matches!(
        code,
        ResponseCode::Success
            | ResponseCode::PullNotFound
            | ResponseCode::PullRetryImmediately
            | ResponseCode::PullOffsetMoved
    ) {
        return Err(ClientError::Broker { addr, code, remark: resp.remark.unwrap_or_default() });
    }
    let h: PullMessageResponse = resp.header().map_err(|e| ClientError::protocol(&addr, e))?;
    Ok(match code {
        ResponseCode::Success => {
            let stored = StoredMessage::decode_all(&resp.body).map_err(|e| ClientError::protocol(&addr, e))?;
            let messages = stored
                .into_iter()
                .map(|m| ReceivedMessage::from_stored(m, &p.queue.broker_name))
                .collect::<Result<Vec<_>>>()?;
            PullOutcome::Found { messages, next_offset: h.next_begin_offset }
        }
        ResponseCode::PullOffsetMoved => PullOutcome::OffsetMoved { next_offset: h.next_begin_offset },
        _ => PullOutcome::Nothing { next_offset: h.next_begin_offset },
    })
}

/// The group's committed offset of `queue`, or `None` when it has none.
pub(crate) async fn query_offset(core: &ClientCore, group: &str, queue: &MessageQueue) -> Result<Option<i64>> {
    let addr = broker_addr(core, queue)?;
    let header = QueryConsumerOffsetRequest {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        set_zero_if_not_found: None,
    };
    let request = RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(&header);
    let resp = core.call(&addr, request, core.options.request_timeout).await?;
    if resp.response_code() == ResponseCode::QueryNotFound {
        return Ok(None);
    }
    let resp = expect_success(&addr, resp)?;
    let h: OffsetResponse = resp.header().map_err(|e| ClientError::protocol(&addr, e))?;
    Ok((h.offset >= 0).then_some(h.offset))
}

/// Commits `offset` of `queue` for `group`.
pub(crate) async fn commit_offset(core: &ClientCore, group: &str, queue: &MessageQueue, offset: i64) -> Result<()> {
    let addr = broker_addr(core, queue)?;
    let header = UpdateConsumerOffsetRequest {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        commit_offset: offset,
    };
    let request = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(&header);
    core.call_ok(&addr, request).await.map(drop)
}

/// The max offset (one past the last message) of `queue`.
pub(crate) async fn max_offset(core: &ClientCore, queue: &MessageQueue) -> Result<i64> {
    let addr = broker_addr(core, queue)?;
    let header = QueueRequest { topic: queue.topic.clone(), queue_id: queue.queue_id };
    let resp = core.call_ok(&addr, RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&header)).await?;
    let h: OffsetResponse = resp.header().map_err(|e| ClientError::protocol(&addr, e))?;
    Ok(h.offset)
}

/// The offset of the first message of `queue` stored at or after `timestamp_ms`.
pub(crate) async fn offset_by_time(core: &ClientCore, queue: &MessageQueue, timestamp_ms: i64) -> Result<i64> {
    let addr = broker_addr(core, queue)?;
    let header = SearchOffsetRequest {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        timestamp: timestamp_ms,
        boundary_type: None,
    };
    let request = RemotingCommand::request(RequestCode::SearchOffsetByTimestamp).with_header(&header);
    let resp = core.call_ok(&addr, request).await?;
    let h: OffsetResponse = resp.header().map_err(|e| ClientError::protocol(&addr, e))?;
    Ok(h.offset)
}

/// The client ids of `group`'s members, as `broker_addr` knows them.
pub(crate) async fn consumer_ids(core: &ClientCore, broker_addr: &str, group: &str) -> Result<Vec<String>> {
    let header = ConsumerGroupHeader { consumer_group: group.to_owned() };
    let request = RemotingCommand::request(RequestCode::GetConsumerListByGroup).with_header(&header);
    let resp = core.call_ok(broker_addr, request).await?;
    let list: ConsumerIdList = from_fastjson(&resp.body).map_err(|e| ClientError::protocol(broker_addr, e))?;
    Ok(list.consumer_id_list)
}

/// Returns a message that failed to the broker, which redelivers it later through the group's
/// retry topic (or moves it to the DLQ after `max_reconsume_times`).
pub(crate) async fn send_back(
    core: &ClientCore,
    group: &str,
    msg: &ReceivedMessage,
    delay_level: i32,
    max_reconsume_times: i32,
) -> Result<()> {
    let addr = core.master_addr(&msg.broker_name).unwrap_or_else(|| msg.store_host.to_string());
    let header = ConsumerSendMsgBackRequest {
        offset: msg.commit_log_offset,
        group: group.to_owned(),
        delay_level,
        origin_msg_id: Some(msg.msg_id.clone()),
        origin_topic: Some(msg.topic.clone()),
        unit_mode: Some(false),
        max_reconsume_times: Some(max_reconsume_times),
    };
    let request = RemotingCommand::request(RequestCode::ConsumerSendMsgBack).with_header(&header);
    core.call_ok(&addr, request).await.map(drop)
}

/// Locks `queues` (all on `broker_name`) for this client; returns the ones now held.
pub(crate) async fn lock_queues(
    core: &ClientCore,
    group: &str,
    broker_name: &str,
    queues: Vec<MessageQueue>,
) -> Result<Vec<MessageQueue>> {
    let addr = core
        .master_addr(broker_name)
        .ok_or_else(|| ClientError::Config(format!("broker {broker_name} has no master")))?;
    let body = LockBatchRequest {
        consumer_group: group.to_owned(),
        client_id: core.client_id.clone(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::LockBatchMq).with_body(to_json(&body));
    let resp = core.call_ok(&addr, request).await?;
    let locked: LockBatchResponse = from_fastjson(&resp.body).map_err(|e| ClientError::protocol(&addr, e))?;
    Ok(locked.lock_ok_mq_set)
}

/// Releases the locks of `queues` on `broker_name`.
pub(crate) async fn unlock_queues(core: &ClientCore, group: &str, broker_name: &str, queues: Vec<MessageQueue>) {
    let Some(addr) = core.master_addr(broker_name) else { return };
    let body = LockBatchRequest {
        consumer_group: group.to_owned(),
        client_id: core.client_id.clone(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::UnlockBatchMq).with_body(to_json(&body));
    if let Err(e) = core.call_ok(&addr, request).await {
        tracing::debug!(broker = %broker_name, error = %e, "unlock failed; the lock expires on its own");
    }
}

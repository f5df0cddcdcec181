//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): check group, topic and subscription, read from
//! the store with the tag filter, map the store status to a response, and hold the request
//! (long polling) while the queue has nothing new.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::protocol::body::perm;
use rmq_remoting::protocol::consumer::{pull_flag, PullMessageRequest, PullMessageResponse};
use rmq_remoting::{RemotingCommand, ResponseCode};
use rmq_store::{ReadResult, ReadStatus};
use tokio::time::Instant;

use super::bad_header;
use crate::filter::{FilterBuildError, MessageFilter};
use crate::runtime::Broker;

/// Most messages one pull returns (`maxTransferCountOnMessageInMemory`).
const MAX_PULL_COUNT: usize = 32;
/// Most bytes one pull returns (`maxTransferBytesOnMessageInMemory`); at least one message is
/// always returned.
const MAX_PULL_BYTES: usize = 256 * 1024;
/// Longest hold accepted from a client, well below the clients' 30 s RPC timeout.
const MAX_SUSPEND: Duration = Duration::from_secs(20);
/// How long a held pull woken by an arrival lets more messages arrive before it reads, so one
/// answer carries what arrived meanwhile rather than one message each. Apache's held pulls see
/// arrivals through its `ReputMessageService`, which dispatches once per millisecond.
const ARRIVAL_BATCH: Duration = Duration::from_millis(1);

/// Handles a pull; `None` never happens today but keeps the door open for zero-copy writes.
pub async fn pull(broker: &Broker, req: &RemotingCommand) -> Option<RemotingCommand> {
    let header = match req.header::<PullMessageRequest>() {
        Ok(h) => h,
        Err(e) => return Some(bad_header(req, e)),
    };
    let reject = |code, remark: String| Some(RemotingCommand::error(req, code, remark));
    if broker.replication.is_slave() && !broker.replication.config().slave_read_enable {
        // Apache 5.x's rejectRequest: a slave serves pulls only with slaveReadEnable.
        return reject(ResponseCode::SystemBusy, "[REJECTREQUEST]system busy, start flow control for a while".into());
    }
    let Some(group) = broker.groups.find_or_create(&header.consumer_group, broker.config.policy.auto_create_group)
    else {
        return reject(
            ResponseCode::SubscriptionGroupNotExist,
            format!("subscription group [{}] does not exist", header.consumer_group),
        );
    };
    if !group.consume_enable {
        return reject(
            ResponseCode::NoPermission,
            format!("subscription group no permission, {}", header.consumer_group),
        );
    }
    let Some(topic) = broker.topics.get(&header.topic) else {
        return reject(ResponseCode::TopicNotExist, format!("topic[{}] not exist, apply first please!", header.topic));
    };
    if topic.perm & perm::READ == 0 {
        return reject(ResponseCode::NoPermission, format!("the topic[{}] pulling message is forbidden", header.topic));
    }
    if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
        return reject(
            ResponseCode::InvalidParameter,
            format!(
                "queueId[{}] is illegal, topic {} has {} read queues",
                header.queue_id, header.topic, topic.read_queue_nums
            ),
        );
    }
    let (expression, expression_type) = if header.sys_flag & pull_flag::SUBSCRIPTION != 0 {
        (header.subscription.clone().unwrap_or_default(), header.expression_type.clone())
    } else {
        match broker.clients.subscription(&header.consumer_group, &header.topic) {
            Some(sub) => (sub.sub_string, sub.expression_type),
            None => {
                return reject(
                    ResponseCode::SubscriptionNotExist,
                    format!("consumer's subscription not exist, group: {}", header.consumer_group),
                )
            }
        }
    };
    let filter =
        match MessageFilter::build(&expression, expression_type.as_deref(), broker.config.policy.property_filter) {
            Ok(f) => f,
            Err(e @ FilterBuildError::Disabled(_)) => return reject(ResponseCode::NoPermission, e.to_string()),
            Err(e) => return reject(ResponseCode::SubscriptionParseFailed, e.to_string()),
        };
    if let Some(reset) = broker.offsets.take_reset(&header.consumer_group, &header.topic, header.queue_id) {
        // An offset reset on the broker (resetOffsetByTime): move the consumer there.
        // Answered like an out-of-range offset: PULL_OFFSET_MOVED with nextBeginOffset = the reset.
        let result = ReadResult {
            status: ReadStatus::OffsetOverflowBadly,
            next_begin_offset: reset,
            min_offset: broker.store.min_offset(&header.topic, header.queue_id),
            max_offset: broker.store.max_offset(&header.topic, header.queue_id),
            records: Vec::new(),
        };
        return Some(respond(broker, req, result, header.queue_offset));
    }
    if header.sys_flag & pull_flag::COMMIT_OFFSET != 0 {
        if let Some(commit) = header.commit_offset.filter(|c| *c >= 0) {
            broker.offsets.commit(&header.consumer_group, &header.topic, header.queue_id, commit);
        }
    }

    let max_count = usize::try_from(header.max_msg_nums).unwrap_or(1).clamp(1, MAX_PULL_COUNT);
    let max_bytes =
        header.max_msg_bytes.and_then(|b| usize::try_from(b).ok()).unwrap_or(MAX_PULL_BYTES).min(MAX_PULL_BYTES);
    let accept = |code: i64| filter.accepts_tags_code(code);
    let suspend = header.sys_flag & pull_flag::SUSPEND != 0;
    let hold = if broker.config.policy.long_polling {
        Duration::from_millis(header.suspend_timeout_millis.unwrap_or(15_000).max(0) as u64).min(MAX_SUSPEND)
    } else {
        broker.config.policy.short_polling
    };
    let deadline = Instant::now() + hold;
    let topic_queues = topic.read_queue_nums;
    let signal = broker.pull_hold.signal(&header.topic, header.queue_id);
    loop {
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut result =
            broker.store.read(&header.topic, header.queue_id, header.queue_offset, max_count, max_bytes, &accept);
        if result.status == ReadStatus::Found && matches!(filter, MessageFilter::Sql(_)) {
            result.records.retain(|r| filter.accepts_record(r));
            if result.records.is_empty() {
                result.status = ReadStatus::NoMatchedMessage;
            }
        }
        let waiting = suspend && held_while_empty(result.status, header.queue_offset) && Instant::now() < deadline;
        if !waiting {
            if result.status == ReadStatus::Found {
                let bytes = result.records.iter().map(|r| r.len() as u64).sum();
                let out = (result.records.len() as u64, bytes);
                let (topic, group) = (&header.topic, &header.consumer_group);
                let next = result.next_begin_offset;
                broker.metrics.traffic.record_pull(topic, group, header.queue_id, topic_queues, out, next);
            }
            return Some(respond(broker, req, result, header.queue_offset));
        }
        crate::metrics::rpc::mark_long_polling();
        let _waiter = broker.metrics.long_poll_waiter();
        tokio::select! {
            _ = &mut notified => tokio::time::sleep_until(deadline.min(Instant::now() + ARRIVAL_BATCH)).await,
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// Whether a pull that found `status` at `requested` waits for an arrival: whenever its answer
/// would be PULL_NOT_FOUND, as Apache's `DefaultPullMessageResultHandler` suspends it. So a
/// queue that does not exist yet (a consumer's empty retry topic) is held too, instead of being
/// answered at once and pulled again in a busy loop. A missing ConsumeQueue file
/// (`OffsetFoundNull`) is answered at once: holding it would only read the same gap again.
fn held_while_empty(status: ReadStatus, requested: i64) -> bool {
    match status {
        ReadStatus::OffsetOverflowOne => true,
        ReadStatus::NoMessageInQueue | ReadStatus::NoMatchedLogicQueue => requested == 0,
        _ => false,
    }
}

fn respond(broker: &Broker, req: &RemotingCommand, result: ReadResult, requested: i64) -> RemotingCommand {
    let (code, next) = match result.status {
        ReadStatus::Found => (ResponseCode::Success, result.next_begin_offset),
        ReadStatus::NoMatchedMessage | ReadStatus::MessageWasRemoving => {
            (ResponseCode::PullRetryImmediately, result.next_begin_offset)
        }
        ReadStatus::NoMessageInQueue | ReadStatus::NoMatchedLogicQueue => {
            (if requested != 0 { ResponseCode::PullOffsetMoved } else { ResponseCode::PullNotFound }, 0)
        }
        ReadStatus::OffsetTooSmall | ReadStatus::OffsetOverflowBadly => {
            (ResponseCode::PullOffsetMoved, result.next_begin_offset)
        }
        ReadStatus::OffsetOverflowOne | ReadStatus::OffsetFoundNull => {
            (ResponseCode::PullNotFound, result.next_begin_offset)
        }
    };
    // A slave points consumers back to the master (brokerId 0) and, as Apache's slave does,
    // turns "nothing here" into an immediate retry instead of holding the pull.
    let code = if broker.replication.is_slave() && code != ResponseCode::Success {
        ResponseCode::PullRetryImmediately
    } else {
        code
    };
    let header = PullMessageResponse {
        suggest_which_broker_id: 0,
        next_begin_offset: next,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
    };
    let mut resp = RemotingCommand::response_to(req, code, Some(format!("{:?}", result.status))).with_header(&header);
    if code == ResponseCode::Success {
        broker.stats.get_total.fetch_add(result.records.len() as u64, Ordering::Relaxed);
        let mut body = BytesMut::with_capacity(result.records.iter().map(|r| r.len()).sum());
        for record in &result.records {
            body.extend_from_slice(record);
        }
        resp.body = body.freeze();
    }
    resp
}

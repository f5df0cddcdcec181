//! INVOKE_BROKER_TO_RESET_OFFSET (222), used by mqadmin `resetOffsetByTime`: move a group's
//! offsets on a topic to a timestamp. As Apache 5.x (`useServerSideResetOffset`, the default) the
//! broker records the new offsets and answers the group's next pull of each queue with them;
//! with it off, the broker commits them and tells every online consumer of the group
//! (RESET_CONSUMER_CLIENT_OFFSET, one-way), failing when none is online.

use rmq_remoting::protocol::admin::ResetOffsetRequest;
use rmq_remoting::protocol::body::{MessageQueue, ResetOffsetBody};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::Boundary;
use tracing::{debug, info};

use super::bad_header;
use crate::runtime::Broker;

/// Handles INVOKE_BROKER_TO_RESET_OFFSET.
pub async fn reset_offset(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ResetOffsetRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let Some(topic) = broker.topics.get(&h.topic) else {
        return RemotingCommand::error(req, ResponseCode::TopicNotExist, format!("topic[{}] not exist", h.topic));
    };
    if broker.config.policy.server_side_reset_offset {
        return reset_on_broker(broker, req, &h, topic.read_queue_nums);
    }
    let force = h.is_force.unwrap_or(true);
    let queues: Vec<i32> = match h.queue_id.filter(|q| *q >= 0) {
        Some(q) => vec![q],
        None => (0..topic.write_queue_nums).collect(),
    };
    let mut offset_table = Vec::new();
    for queue_id in queues {
        let target = match h.offset.filter(|o| *o >= 0) {
            Some(explicit) => explicit,
            None if h.timestamp < 0 => broker.store.max_offset(&h.topic, queue_id),
            None => broker.store.offset_by_time(&h.topic, queue_id, h.timestamp, Boundary::Lower),
        };
        let current = broker.offsets.get(&h.group, &h.topic, queue_id);
        let offset = if force || current.is_none_or(|c| target < c) { target } else { current.unwrap_or(target) };
        broker.offsets.commit(&h.group, &h.topic, queue_id, offset);
        let mq = MessageQueue { topic: h.topic.clone(), broker_name: broker.config.broker_name.clone(), queue_id };
        offset_table.push((mq, offset));
    }
    let body = ResetOffsetBody { offset_table }.to_json();
    let (connections, _) = broker.clients.consumer_connections(&h.group);
    if connections.is_empty() {
        return RemotingCommand::error(
            req,
            ResponseCode::ConsumerNotOnline,
            format!("Consumer not online, so can not reset offset, Group: {} Topic: {}", h.group, h.topic),
        );
    }
    for conn in connections {
        let push =
            RemotingCommand::request(RequestCode::ResetConsumerClientOffset).with_header(&h).with_body(body.clone());
        if let Err(e) = conn.oneway(push).await {
            debug!(group = %h.group, error = %e, "cannot push the offset reset to a consumer");
        }
    }
    info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, "consumer offsets reset");
    RemotingCommand::success(req).with_body(body)
}

/// The server-side reset: every readable queue (or the one asked for) of the topic gets its new
/// offset recorded for the group, online or not; the group must exist.
fn reset_on_broker(
    broker: &Broker,
    req: &RemotingCommand,
    h: &ResetOffsetRequest,
    read_queues: i32,
) -> RemotingCommand {
    if broker.groups.get(&h.group).is_none() {
        return RemotingCommand::error(
            req,
            ResponseCode::SubscriptionGroupNotExist,
            format!("Group {} does not exist", h.group),
        );
    }
    let target = |queue_id: i32| {
        if h.timestamp < 0 {
            broker.store.max_offset(&h.topic, queue_id)
        } else {
            broker.store.offset_by_time(&h.topic, queue_id, h.timestamp, Boundary::Lower)
        }
    };
    let mut offset_table = Vec::new();
    match h.queue_id.filter(|q| *q >= 0) {
        Some(queue_id) => {
            let offset = match h.offset.filter(|o| *o != -1) {
                Some(o) => {
                    let (min, max) =
                        (broker.store.min_offset(&h.topic, queue_id), broker.store.max_offset(&h.topic, queue_id));
                    if o < min || o > max + 1 {
                        return RemotingCommand::error(
                            req,
                            ResponseCode::SystemError,
                            format!("Target offset {o} not in consume queue range [{min}-{max}]"),
                        );
                    }
                    o
                }
                None => target(queue_id),
            };
            offset_table.push((queue_id, offset));
        }
        None => offset_table.extend((0..read_queues).map(|q| (q, target(q)))),
    }
    let broker_name = &broker.config.broker_name;
    let mut body = ResetOffsetBody::default();
    for (queue_id, offset) in offset_table {
        broker.offsets.assign_reset(&h.group, &h.topic, queue_id, offset);
        let mq = MessageQueue { topic: h.topic.clone(), broker_name: broker_name.clone(), queue_id };
        body.offset_table.push((mq, offset));
    }
    info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, "consumer offsets reset on the broker");
    RemotingCommand::success(req).with_body(body.to_json())
}

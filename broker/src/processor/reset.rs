//! INVOKE_BROKER_TO_RESET_OFFSET (222), used by mqadmin `resetOffsetByTime`: move a group's
//! offsets on a topic to a timestamp, commit them, and tell every online consumer of the group
//! (RESET_CONSUMER_CLIENT_OFFSET, one-way).

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

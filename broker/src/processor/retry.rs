//! Consume failures: CONSUMER_SEND_MSG_BACK (36) re-queues a message to `%RETRY%<group>` with a
//! growing delay, or to `%DLQ%<group>` once it was retried `maxReconsumeTimes` times; and the
//! same DLQ rule for consumers that re-send failed messages to the retry topic themselves.

use rand::Rng;
use rmq_remoting::message::{create_offset_msg_id, encode_properties, keys, tags_code, StoredMessage};
use rmq_remoting::protocol::body::perm;
use rmq_remoting::protocol::consumer::ConsumerSendMsgBackRequest;
use rmq_remoting::protocol::send::SendMessageRequest;
use rmq_remoting::{RemotingCommand, ResponseCode};
use rmq_store::NewMessage;
use std::sync::atomic::Ordering;

use super::bad_header;
use crate::meta::topics::{retry_topic, DLQ_PREFIX, RETRY_PREFIX};
use crate::runtime::Broker;
use crate::schedule::delay::park_if_delayed;

/// The dead-letter topic of a group.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_PREFIX}{group}")
}

fn ensure_dlq(broker: &Broker, group: &str) -> String {
    let topic = dlq_topic(group);
    if broker.topics.ensure(&topic, 1, perm::READ_WRITE).1 {
        broker.register_soon();
    }
    topic
}

/// For a send to `%RETRY%<group>`: the target `(topic, queue)`, rewritten to the group's DLQ
/// when the message was already retried more than its maximum. Other topics pass unchanged.
pub fn retry_or_dlq(broker: &Broker, header: &SendMessageRequest, queue_id: i32) -> Result<(String, i32), String> {
    let Some(group) = header.topic.strip_prefix(RETRY_PREFIX) else {
        return Ok((header.topic.clone(), queue_id));
    };
    let Some(config) = broker.groups.find_or_create(group, broker.config.policy.auto_create_group) else {
        return Err(format!("subscription group not exist, {group}"));
    };
    let max = header.max_reconsume_times.unwrap_or(config.retry_max_times);
    if header.reconsume_times.unwrap_or(0) > max {
        return Ok((ensure_dlq(broker, group), 0));
    }
    Ok((header.topic.clone(), queue_id))
}

/// CONSUMER_SEND_MSG_BACK.
pub fn send_back(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ConsumerSendMsgBackRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let Some(group) = broker.groups.find_or_create(&h.group, broker.config.policy.auto_create_group) else {
        return RemotingCommand::error(
            req,
            ResponseCode::SubscriptionGroupNotExist,
            format!("subscription group not exist, {}", h.group),
        );
    };
    if broker.permission.load(Ordering::Relaxed) & perm::WRITE == 0 {
        return RemotingCommand::error(req, ResponseCode::NoPermission, "the broker is not writable now");
    }
    if group.retry_queue_nums <= 0 {
        return RemotingCommand::success(req);
    }
    let Some(original) = broker.store.message_at(h.offset).and_then(|r| StoredMessage::decode(&r).ok().map(|(m, _)| m))
    else {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let mut props = original.properties.clone();
    props.entry(keys::RETRY_TOPIC.to_owned()).or_insert_with(|| original.topic.clone());
    let origin_id = create_offset_msg_id(original.store_host, original.physical_offset);
    props.entry(keys::ORIGIN_MESSAGE_ID.to_owned()).or_insert(origin_id);
    props.insert(keys::WAIT.to_owned(), "false".to_owned());
    let max = h.max_reconsume_times.unwrap_or(group.retry_max_times);
    let (topic, queue_id, dead) = if original.reconsume_times >= max || h.delay_level < 0 {
        props.remove(keys::DELAY);
        broker.metrics.traffic.record_dlq(h.origin_topic.as_deref().unwrap_or(&original.topic), &h.group);
        (ensure_dlq(broker, &h.group), 0, true)
    } else {
        let (retry, created) = broker.topics.ensure(&retry_topic(&h.group), group.retry_queue_nums, perm::READ_WRITE);
        if created {
            broker.register_soon();
        }
        let level = if h.delay_level == 0 { 3 + original.reconsume_times } else { h.delay_level };
        props.insert(keys::DELAY.to_owned(), level.to_string());
        (retry.topic_name, rand::thread_rng().gen_range(0..retry.write_queue_nums.max(1)), false)
    };
    let mut msg = NewMessage {
        topic,
        queue_id,
        flag: original.flag,
        body: original.body.clone(),
        properties: String::new(),
        tags_code: tags_code(props.get(keys::TAGS).map(String::as_str)),
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        reconsume_times: original.reconsume_times + 1,
        prepared_transaction_offset: 0,
    };
    if !dead {
        park_if_delayed(&broker.delay_levels, &mut msg, &mut props);
    }
    msg.properties = encode_properties(&props);
    let _writing = match broker.replication.begin_write() {
        Ok(guard) => guard,
        Err(why) => return RemotingCommand::error(req, ResponseCode::ServiceNotAvailable, why.to_string()),
    };
    match broker.store.put(msg) {
        Ok(_) => RemotingCommand::success(req),
        Err(e) => RemotingCommand::error(req, ResponseCode::SystemError, format!("send message back failed: {e}")),
    }
}

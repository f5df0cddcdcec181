//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): validate, resolve or
//! auto-create the topic, pick the queue, complete the properties and append to the store.

use bytes::Bytes;
use rand::Rng;
use rmq_remoting::message::{
    create_offset_msg_id, decode_batch, decode_properties, encode_properties, keys, sys_flag, tags_code,
    validate_topic, Properties, UniqIdGenerator,
};
use rmq_remoting::protocol::send::{SendMessageRequest, SendMessageRequestV2, SendMessageResponse};
use rmq_remoting::protocol::HeaderError;
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::{Durable, NewMessage, PutOk, StoreError};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use tracing::{debug, warn};

use super::bad_header;
use crate::meta::topics::{send_allowed, AUTO_CREATE_TOPIC, DLQ_PREFIX, RETRY_PREFIX};
use crate::metrics::traffic::stored_len;
use crate::metrics::MessageType;
use crate::runtime::Broker;
use crate::schedule::delay::park_if_delayed;
use crate::schedule::timer::park_if_timer;

pub(super) fn decode_header(req: &RemotingCommand) -> Result<SendMessageRequest, HeaderError> {
    match req.request_code() {
        RequestCode::SendMessage | RequestCode::SendReplyMessage => req.header::<SendMessageRequest>(),
        _ => req.header::<SendMessageRequestV2>().map(Into::into),
    }
}

fn uniq_ids(broker: &Broker) -> &'static UniqIdGenerator {
    static IDS: OnceLock<UniqIdGenerator> = OnceLock::new();
    IDS.get_or_init(|| UniqIdGenerator::new(broker.config.network.broker_ip1))
}

/// Maps a store failure to a response code and remark.
fn store_error(req: &RemotingCommand, err: StoreError) -> RemotingCommand {
    match err {
        StoreError::MessageIllegal(why) => RemotingCommand::error(req, ResponseCode::MessageIllegal, why),
        StoreError::ServiceUnavailable(why) => RemotingCommand::error(req, ResponseCode::ServiceNotAvailable, why),
        other => RemotingCommand::error(req, ResponseCode::SystemError, other.to_string()),
    }
}

/// Handles a send or batch send. Under `SYNC_FLUSH` the answer waits for the group commit, at
/// most `syncFlushTimeout`; past that the send is answered FLUSH_DISK_TIMEOUT (the message is
/// stored, the Java client reports `SendStatus.FLUSH_DISK_TIMEOUT`), as Apache does.
pub async fn send(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let header = match decode_header(req) {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let reject = |code, remark: String| RemotingCommand::error(req, code, remark);
    // Held until the append ends, so a fence can wait for this write before it reports the
    // CommitLog end.
    let writing = match broker.replication.begin_write() {
        Ok(guard) => guard,
        Err(why) => return reject(ResponseCode::ServiceNotAvailable, why.to_string()),
    };
    if let Err(why) = validate_topic(&header.topic) {
        return reject(ResponseCode::InvalidParameter, why);
    }
    if !send_allowed(&header.topic) {
        return reject(ResponseCode::NoPermission, format!("Sending message to topic[{}] is forbidden.", header.topic));
    }
    let topic = match broker.topics.get(&header.topic) {
        Some(t) => Some(t),
        None if header.topic.starts_with(RETRY_PREFIX) => Some(broker.topics.ensure(&header.topic, 1, 6).0),
        None if broker.config.policy.auto_create_topic => {
            let default_topic = header.default_topic.as_deref().unwrap_or(AUTO_CREATE_TOPIC);
            let created = broker.topics.create_on_send(
                &header.topic,
                default_topic,
                header.default_topic_queue_nums.unwrap_or(4),
            );
            if created.is_some() {
                broker.register_soon();
            }
            created
        }
        None => None,
    };
    let Some(topic) = topic else {
        return reject(ResponseCode::TopicNotExist, format!("topic[{}] not exist, apply first please!", header.topic));
    };
    let queue_id = if header.queue_id < 0 {
        rand::thread_rng().gen_range(0..topic.write_queue_nums.max(1))
    } else {
        header.queue_id
    };
    if queue_id >= topic.write_queue_nums.max(topic.read_queue_nums) {
        return reject(
            ResponseCode::InvalidParameter,
            format!(
                "request queueId[{queue_id}] is illegal, topic {} has {} queues",
                topic.topic_name, topic.write_queue_nums
            ),
        );
    }

    let is_batch = req.request_code() == RequestCode::SendBatchMessage || header.batch == Some(true);
    // A send to a retry topic (a consumer re-sending a failed message itself) goes to the DLQ
    // once it has been retried too often, as Apache's handleRetryAndDLQ.
    let (topic_name, queue_id) = match super::retry::retry_or_dlq(broker, &header, queue_id) {
        Ok(target) => target,
        Err(why) => return reject(ResponseCode::SubscriptionGroupNotExist, why),
    };
    let topic_name_is_dlq = topic_name.starts_with(DLQ_PREFIX);
    let base = MessageBase { broker, topic: topic_name, conn, header: &header, queue_id };
    let (messages, uniq_keys): (Vec<NewMessage>, Vec<String>) = if is_batch {
        match decode_batch(&req.body) {
            Ok(entries) if !entries.is_empty() => {
                entries.into_iter().map(|e| base.message(e.body, e.flag, e.properties, true)).unzip()
            }
            Ok(_) => return reject(ResponseCode::MessageIllegal, "the batch is empty".into()),
            Err(e) => return reject(ResponseCode::MessageIllegal, format!("bad batch body: {e}")),
        }
    } else {
        let props = decode_properties(header.properties.as_deref().unwrap_or(""));
        if let Err(remark) = crate::schedule::timer::check(&broker.config.timer, &props) {
            return reject(ResponseCode::MessageIllegal, remark);
        }
        let (msg, uniq_key) = base.message(req.body.clone(), header.flag, props, false);
        (vec![msg], vec![uniq_key])
    };
    if let Some(too_big) = messages.iter().find(|m| m.body.len() > broker.config.max_message_size) {
        return reject(
            ResponseCode::MessageIllegal,
            format!(
                "the message body size {} is over the max value {}",
                too_big.body.len(),
                broker.config.max_message_size
            ),
        );
    }
    if messages.iter().any(|m| m.body.is_empty()) {
        return reject(ResponseCode::MessageIllegal, "the message body is empty".into());
    }
    let count = messages.len() as u64;
    let store_host = broker.store.config().store_host;
    let stored_bytes: u64 = messages.iter().map(|m| stored_len(m, store_host)).sum();
    let kind = MessageType::of_encoded(header.properties.as_deref().unwrap_or(""));
    if broker.replication.check_in_sync(broker.store.commit_log_max_offset()).is_err() {
        return reject(ResponseCode::SystemError, "in-sync replicas not enough".into());
    }
    let result =
        if is_batch { broker.store.append_batch(messages) } else { broker.store.append(into_single(messages)) };
    drop(writing);
    match result {
        Ok((ok, durable)) => {
            broker.stats.put_total.fetch_add(count, Ordering::Relaxed);
            let traffic = &broker.metrics.traffic;
            traffic.record_put(&header.topic, kind, count, stored_bytes);
            if kind == MessageType::Transaction && !is_batch {
                traffic.half_prepared(&header.topic);
            }
            if header.topic.starts_with(RETRY_PREFIX) && topic_name_is_dlq {
                traffic.record_dlq(&header.topic, &header.producer_group);
            }
            let resp = success(broker, req, &ok, queue_id, &uniq_keys);
            acknowledge(broker, req, resp, durable, ok.end_offset).await
        }
        Err(e) => {
            debug!(topic = %header.topic, error = %e, "send rejected by the store");
            store_error(req, e)
        }
    }
}

/// Answers a stored send once it is as safe as the broker's roles require: flushed under
/// `SYNC_FLUSH` (else FLUSH_DISK_TIMEOUT after `syncFlushTimeout`) and, on a `SYNC_MASTER`,
/// acknowledged by enough slaves (else FLUSH_SLAVE_TIMEOUT after `slaveTimeout`). Both waits
/// run together; the replica outcome wins, as in Apache.
async fn acknowledge(
    broker: &Broker,
    req: &RemotingCommand,
    resp: RemotingCommand,
    durable: Durable,
    end_offset: i64,
) -> RemotingCommand {
    let flush_timeout = broker.config.sync_flush_timeout;
    let flushed = async {
        if durable.is_ready() {
            return Ok(Ok(()));
        }
        tokio::time::timeout(flush_timeout, durable).await
    };
    let (flushed, replicated) = tokio::join!(flushed, broker.replication.wait_replicated(end_offset));
    if replicated.is_err() {
        warn!(end_offset, "slaves did not acknowledge in time; answering FLUSH_SLAVE_TIMEOUT");
        return RemotingCommand { code: ResponseCode::FlushSlaveTimeout.value(), ..resp };
    }
    match flushed {
        Ok(Ok(())) => resp,
        Ok(Err(e)) => store_error(req, e),
        Err(_) => {
            warn!(timeout = ?flush_timeout, "sync flush did not finish in time; answering FLUSH_DISK_TIMEOUT");
            RemotingCommand { code: ResponseCode::FlushDiskTimeout.value(), ..resp }
        }
    }
}

fn into_single(mut messages: Vec<NewMessage>) -> NewMessage {
    // `messages` has exactly one element on the single-message path.
    messages.swap_remove(0)
}

struct MessageBase<'a> {
    broker: &'a Broker,
    topic: String,
    conn: &'a Connection,
    header: &'a SendMessageRequest,
    queue_id: i32,
}

impl MessageBase<'_> {
    /// Completes the properties, routes the message (DLQ, half topic, delay level) and encodes
    /// the properties once; returns the message and its UNIQ_KEY.
    fn message(&self, body: Bytes, flag: i32, mut props: Properties, batch: bool) -> (NewMessage, String) {
        let uniq_key = props.entry(keys::UNIQ_KEY.to_owned()).or_insert_with(|| uniq_ids(self.broker).next()).clone();
        props.insert(keys::CLUSTER.to_owned(), self.broker.config.cluster_name.clone());
        // As Apache: the Java consumer's trace hook drops trace records of messages without a region.
        let policy = &self.broker.config.policy;
        props.insert(keys::MSG_REGION.to_owned(), policy.region_id.clone());
        props.insert(keys::TRACE_ON.to_owned(), policy.trace_on.to_string());
        props.remove("POP_CK");
        let mut msg = NewMessage {
            topic: self.topic.clone(),
            queue_id: self.queue_id,
            flag,
            body,
            properties: String::new(),
            tags_code: tags_code(props.get(keys::TAGS).map(String::as_str)),
            sys_flag: self.header.sys_flag,
            born_timestamp: self.header.born_timestamp,
            born_host: self.conn.peer_addr(),
            reconsume_times: self.header.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
        };
        if self.topic.starts_with(DLQ_PREFIX) {
            props.remove(keys::DELAY);
        } else if !batch && sys_flag::transaction_type(msg.sys_flag) == sys_flag::TRANSACTION_PREPARED {
            crate::transaction::park_half(&mut msg, &mut props);
        } else if !batch
            && sys_flag::is_dispatchable(msg.sys_flag)
            && !park_if_timer(&self.broker.config.timer, &mut msg, &mut props)
        {
            park_if_delayed(&self.broker.delay_levels, &mut msg, &mut props);
        }
        msg.properties = encode_properties(&props);
        (msg, uniq_key)
    }
}

fn success(broker: &Broker, req: &RemotingCommand, ok: &PutOk, queue_id: i32, uniq_keys: &[String]) -> RemotingCommand {
    let store_host = broker.store.config().store_host;
    let msg_id =
        ok.commit_log_offsets.iter().map(|off| create_offset_msg_id(store_host, *off)).collect::<Vec<_>>().join(",");
    let header = SendMessageResponse {
        msg_id,
        queue_id,
        queue_offset: ok.first_queue_offset,
        transaction_id: uniq_keys.first().filter(|_| uniq_keys.len() == 1).cloned(),
        batch_uniq_id: None,
    };
    let mut resp = RemotingCommand::success(req).with_header(&header);
    resp.ext_fields.insert(keys::MSG_REGION, broker.config.policy.region_id.clone());
    resp.ext_fields.insert(keys::TRACE_ON, broker.config.policy.trace_on.to_string());
    resp
}

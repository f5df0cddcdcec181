//! Turning a [`Message`] into a SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request and the broker's
//! answer into a [`SendResult`].

use bytes::{Bytes, BytesMut};
use rmq_remoting::message::compression::Compression;
use rmq_remoting::message::{encode_batch, encode_properties, keys, validate_topic, BatchEntry};
use rmq_remoting::protocol::send::{SendMessageRequestV2, SendMessageResponse};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::{SendResult, SendStatus};
use crate::error::{ClientError, Result};
use crate::message::{Message, MessageQueue, RESERVED_PROPERTIES};
use crate::trace::{PubTrace, TraceMessageType, TraceRecord};

/// A message checked and encoded once, sent to whichever queue is chosen.
#[derive(Debug, Clone)]
pub(crate) struct PreparedSend {
    pub topic: String,
    pub body: Bytes,
    pub sys_flag: i32,
    pub flag: i32,
    pub properties: String,
    pub uniq_id: String,
    pub batch: bool,
    /// A reply message (`MSG_TYPE=reply`), sent as SEND_REPLY_MESSAGE_V2.
    pub reply: bool,
    /// Tag, keys and kind, for the send's trace record.
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub trace_type: TraceMessageType,
}

/// Limits applied before anything is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendLimits {
    pub max_message_size: usize,
    pub compress_over: usize,
}

fn check_topic_and_size(topic: &str, size: usize, limits: SendLimits) -> Result<()> {
    validate_topic(topic).map_err(ClientError::InvalidMessage)?;
    if size == 0 {
        return Err(ClientError::InvalidMessage("the message body is empty".into()));
    }
    if size > limits.max_message_size {
        return Err(ClientError::MessageTooLarge { size, max: limits.max_message_size });
    }
    Ok(())
}

fn check_properties(msg: &Message) -> Result<()> {
    if let Some(reserved) = msg.properties.keys().find(|k| RESERVED_PROPERTIES.contains(&k.as_str())) {
        return Err(ClientError::InvalidMessage(format!("property {reserved} is reserved by RocketMQ")));
    }
    Ok(())
}

/// Validates, stamps the `UNIQ_KEY` and compresses a single message.
pub(crate) fn prepare(msg: &Message, uniq_id: String, limits: SendLimits) -> Result<PreparedSend> {
    prepare_inner(msg, uniq_id, limits, None)
}

/// Like [`prepare`], as a half message of `group`'s transaction.
pub(crate) fn prepare_half(msg: &Message, uniq_id: String, limits: SendLimits, group: &str) -> Result<PreparedSend> {
    prepare_inner(msg, uniq_id, limits, Some(group))
}

fn prepare_inner(msg: &Message, uniq_id: String, limits: SendLimits, tx_group: Option<&str>) -> Result<PreparedSend> {
    check_topic_and_size(&msg.topic, msg.body.len(), limits)?;
    check_properties(msg)?;
    let mut props = msg.properties.clone();
    props.insert(keys::UNIQ_KEY.into(), uniq_id.clone());
    props.insert(keys::WAIT.into(), "true".into());
    if let Some(group) = tx_group {
        props.insert(keys::TRAN_MSG.into(), "true".into());
        props.insert(keys::PGROUP.into(), group.into());
    }
    let tx_flag = if tx_group.is_some() { rmq_remoting::message::sys_flag::TRANSACTION_PREPARED } else { 0 };
    let (body, sys_flag) = if msg.body.len() >= limits.compress_over {
        let compressed = Compression::Zlib
            .compress(&msg.body)
            .map_err(|e| ClientError::InvalidMessage(format!("compression failed: {e}")))?;
        (Bytes::from(compressed), Compression::Zlib.sys_flag_bits())
    } else {
        (msg.body.clone(), 0)
    };
    Ok(PreparedSend {
        topic: msg.topic.clone(),
        body,
        sys_flag: sys_flag | tx_flag,
        flag: msg.flag,
        properties: encode_properties(&props),
        uniq_id,
        batch: false,
        reply: msg.is_reply(),
        tags: msg.properties.get(keys::TAGS).cloned(),
        keys: msg.properties.get(keys::KEYS).cloned(),
        trace_type: if tx_group.is_some() {
            TraceMessageType::TransactionHalf
        } else if msg.properties.contains_key(keys::DELAY) || msg.properties.contains_key("__STARTDELIVERTIME") {
            TraceMessageType::Delay
        } else {
            TraceMessageType::Normal
        },
    })
}

/// Validates and encodes a batch: one topic, no delay, bodies not compressed (as Java).
pub(crate) fn prepare_batch(
    msgs: &[Message],
    mut next_id: impl FnMut() -> String,
    limits: SendLimits,
) -> Result<PreparedSend> {
    let Some(first) = msgs.first() else {
        return Err(ClientError::InvalidMessage("a batch needs at least one message".into()));
    };
    let mut entries = Vec::with_capacity(msgs.len());
    let mut ids = Vec::with_capacity(msgs.len());
    for m in msgs {
        if m.topic != first.topic {
            return Err(ClientError::InvalidMessage("all messages of a batch must have the same topic".into()));
        }
        if m.properties.contains_key(keys::DELAY) {
            return Err(ClientError::InvalidMessage("delayed messages cannot be batched".into()));
        }
        check_properties(m)?;
        let id = next_id();
        let mut props = m.properties.clone();
        props.insert(keys::UNIQ_KEY.into(), id.clone());
        props.insert(keys::WAIT.into(), "true".into());
        entries.push(BatchEntry { flag: m.flag, body: m.body.clone(), properties: props });
        ids.push(id);
    }
    let mut out = BytesMut::new();
    encode_batch(&entries, &mut out).map_err(|e| ClientError::InvalidMessage(e.to_string()))?;
    check_topic_and_size(&first.topic, out.len(), limits)?;
    let mut batch_props = std::collections::BTreeMap::new();
    batch_props.insert(keys::WAIT.to_owned(), "true".to_owned());
    Ok(PreparedSend {
        topic: first.topic.clone(),
        body: out.freeze(),
        sys_flag: 0,
        flag: 0,
        properties: encode_properties(&batch_props),
        uniq_id: ids.join(","),
        batch: true,
        reply: false,
        tags: None,
        keys: None,
        trace_type: TraceMessageType::Normal,
    })
}

/// The request sending `prepared` to `queue`.
pub(crate) fn request(
    prepared: &PreparedSend,
    group: &str,
    queue: &MessageQueue,
    default_queues: i32,
) -> RemotingCommand {
    let header = SendMessageRequestV2 {
        producer_group: group.to_owned(),
        topic: prepared.topic.clone(),
        default_topic: Some(crate::core::AUTO_CREATE_TOPIC.to_owned()),
        default_topic_queue_nums: Some(default_queues),
        queue_id: queue.queue_id,
        sys_flag: prepared.sys_flag,
        born_timestamp: now_ms(),
        flag: prepared.flag,
        properties: Some(prepared.properties.clone()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(prepared.batch),
        broker_name: Some(queue.broker_name.clone()),
    };
    let code = match (prepared.batch, prepared.reply) {
        (true, _) => RequestCode::SendBatchMessage,
        (false, true) => RequestCode::SendReplyMessageV2,
        (false, false) => RequestCode::SendMessageV2,
    };
    RemotingCommand::request(code).with_header(&header).with_body(prepared.body.clone())
}

/// Interprets the broker's answer to a send.
pub(crate) fn result(addr: &str, queue: &MessageQueue, uniq_id: &str, resp: &RemotingCommand) -> Result<SendResult> {
    let status = match resp.response_code() {
        ResponseCode::Success => SendStatus::SendOk,
        ResponseCode::FlushDiskTimeout => SendStatus::FlushDiskTimeout,
        ResponseCode::FlushSlaveTimeout => SendStatus::FlushSlaveTimeout,
        ResponseCode::SlaveNotAvailable => SendStatus::SlaveNotAvailable,
        code => {
            return Err(ClientError::Broker {
                addr: addr.to_owned(),
                code,
                remark: resp.remark.clone().unwrap_or_default(),
            })
        }
    };
    let header: SendMessageResponse = resp.header().map_err(|e| ClientError::protocol(addr, e))?;
    Ok(SendResult {
        status,
        msg_id: uniq_id.to_owned(),
        offset_msg_id: header.msg_id,
        queue: MessageQueue { queue_id: header.queue_id, ..queue.clone() },
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
        region_id: resp.ext(keys::MSG_REGION).map(str::to_owned),
        trace_on: resp.ext(keys::TRACE_ON) != Some("false"),
    })
}

/// One answered send attempt, as its trace record needs it.
pub(crate) struct Attempt<'a> {
    pub prepared: &'a PreparedSend,
    pub group: &'a str,
    pub addr: &'a str,
    pub result: &'a SendResult,
    pub started_ms: i64,
    pub took: std::time::Duration,
}

impl Attempt<'_> {
    /// The `Pub` trace record (Java `SendMessageTraceHookImpl`): only when the broker reports a
    /// region and tracing is on for it, and never for sends to the trace topic itself.
    pub fn trace(&self, trace_topic: &str) -> Option<TraceRecord> {
        let (p, r) = (self.prepared, self.result);
        let region_id = r.region_id.clone()?;
        if !r.trace_on || p.topic.starts_with(trace_topic) {
            return None;
        }
        Some(TraceRecord::Pub(PubTrace {
            timestamp: self.started_ms,
            region_id,
            group: self.group.to_owned(),
            topic: p.topic.clone(),
            msg_id: r.msg_id.clone(),
            tags: p.tags.clone().unwrap_or_else(|| "null".into()),
            keys: p.keys.clone().unwrap_or_else(|| "null".into()),
            store_host: self.addr.to_owned(),
            body_length: i32::try_from(p.body.len()).unwrap_or(i32::MAX),
            cost_ms: i32::try_from(self.took.as_millis()).unwrap_or(i32::MAX),
            msg_type: p.trace_type,
            offset_msg_id: r.offset_msg_id.clone(),
            success: r.status == SendStatus::SendOk,
        }))
    }
}

/// Whether a failed send should be retried on another broker (Java `retryResponseCodes` plus
/// every transport failure).
pub(crate) fn is_retryable(error: &ClientError) -> bool {
    match error {
        ClientError::Remoting(_) => true,
        ClientError::Broker { code, .. } => matches!(
            code,
            ResponseCode::TopicNotExist
                | ResponseCode::ServiceNotAvailable
                | ResponseCode::SystemError
                | ResponseCode::SystemBusy
                | ResponseCode::NoPermission
                | ResponseCode::NoBuyerId
                | ResponseCode::NotInCurrentUnit
        ),
        _ => false,
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SendLimits = SendLimits { max_message_size: 1024, compress_over: 64 };

    #[test]
    fn large_bodies_are_zlib_compressed_with_the_java_sysflag() {
        let p = prepare(&Message::new("t", vec![b'x'; 200]), "id".into(), LIMITS).expect("prepared");
        assert_eq!(p.sys_flag, 0x1 | (3 << 8));
        assert!(p.body.len() < 200);
        let small = prepare(&Message::new("t", "hi"), "id".into(), LIMITS).expect("prepared");
        assert_eq!((small.sys_flag, small.body.as_ref()), (0, b"hi".as_ref()));
    }

    #[test]
    fn oversized_empty_and_badly_named_messages_are_refused() {
        let big = prepare(&Message::new("t", vec![0u8; 2000]), "id".into(), LIMITS);
        assert!(matches!(big, Err(ClientError::MessageTooLarge { size: 2000, max: 1024 })));
        assert!(matches!(prepare(&Message::new("t", ""), "id".into(), LIMITS), Err(ClientError::InvalidMessage(_))));
        assert!(matches!(
            prepare(&Message::new("bad topic", "x"), "i".into(), LIMITS),
            Err(ClientError::InvalidMessage(_))
        ));
        let reserved = Message::new("t", "x").with_property("UNIQ_KEY", "mine");
        assert!(matches!(prepare(&reserved, "i".into(), LIMITS), Err(ClientError::InvalidMessage(_))));
    }

    #[test]
    fn batches_need_one_topic_and_no_delay() {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("id{n}")
        };
        let mixed = [Message::new("a", "1"), Message::new("b", "2")];
        assert!(prepare_batch(&mixed, &mut ids, LIMITS).is_err());
        let delayed = [Message::new("a", "1").with_delay_level(2)];
        assert!(prepare_batch(&delayed, &mut ids, LIMITS).is_err());
        let ok = prepare_batch(&[Message::new("a", "1"), Message::new("a", "2")], &mut ids, LIMITS).expect("batch");
        assert_eq!(ok.uniq_id, "id2,id3");
        assert!(ok.batch);
    }
}

//! Message lookups: by id (VIEW_MESSAGE_BY_ID with the offset id, else QUERY_MESSAGE by unique
//! key, as `mqadmin queryMsgById`), by key (QUERY_MESSAGE on every broker, merged), by queue
//! offset, and the raw [`Admin::pull`] behind `rmqadmin message consume`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use rmq_remoting::message::{decode_offset_msg_id, StoredMessage};
use rmq_remoting::protocol::consumer::{
    pull_flag, PullMessageRequest, PullMessageResponse, QueryMessageRequest, ViewMessageRequest,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::{Serialize, Serializer};
use tracing::debug;

use super::{refused, Admin, AdminError, AdminResult, ErrorKind};
use crate::error::ClientError;
use crate::message::{MessageQueue, ReceivedMessage};

/// The consumer group admin pulls use (Java's `MixAll.TOOLS_CONSUMER_GROUP`).
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Most results a unique-key query asks for (as the Java admin).
const UNIQUE_KEY_MAX: i32 = 32;

/// A stored message with its metadata, as the lookups return it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Topic (the original topic of a retried message).
    pub topic: String,
    /// Message id: the producer's `UNIQ_KEY`, else the offset id.
    pub msg_id: String,
    /// The broker's offset id (store host + CommitLog offset).
    pub offset_msg_id: String,
    /// Broker name, when known.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Offset in its queue.
    pub queue_offset: i64,
    /// Offset in the broker's CommitLog.
    pub commit_log_offset: i64,
    /// Tag, if any.
    pub tags: Option<String>,
    /// Keys.
    pub keys: Vec<String>,
    /// Every property, system ones included.
    pub properties: BTreeMap<String, String>,
    /// Body, decompressed (serialized as UTF-8 text, invalid bytes replaced).
    #[serde(serialize_with = "lossy_utf8")]
    pub body: Bytes,
    /// Body length in bytes.
    pub body_size: usize,
    /// Application flag.
    pub flag: i32,
    /// Redeliveries so far.
    pub reconsume_times: i32,
    /// When the producer created it (ms).
    pub born_timestamp: i64,
    /// When the broker stored it (ms).
    pub store_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address.
    pub store_host: SocketAddr,
}

impl From<ReceivedMessage> for MessageView {
    fn from(m: ReceivedMessage) -> Self {
        MessageView {
            tags: m.tags().map(str::to_owned),
            keys: m.keys().into_iter().map(str::to_owned).collect(),
            body_size: m.body.len(),
            topic: m.topic,
            msg_id: m.msg_id,
            offset_msg_id: m.offset_msg_id,
            broker_name: m.broker_name,
            queue_id: m.queue_id,
            queue_offset: m.queue_offset,
            commit_log_offset: m.commit_log_offset,
            properties: m.properties,
            body: m.body,
            flag: m.flag,
            reconsume_times: m.reconsume_times,
            born_timestamp: m.born_timestamp,
            store_timestamp: m.store_timestamp,
            born_host: m.born_host,
            store_host: m.store_host,
        }
    }
}

fn lossy_utf8<S: Serializer>(body: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

/// How a pull ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// The offset is the end of the queue: nothing new.
    NoNewMessage,
    /// Messages exist there but none matched.
    NoMatchedMessage,
    /// The offset is before the first or past the end; use `next_begin_offset`.
    OffsetIllegal,
}

/// The answer to one [`Admin::pull`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullBatch {
    /// How the pull ended.
    pub status: PullStatus,
    /// Where the next pull should start.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset.
    pub max_offset: i64,
    /// The messages, in queue order.
    pub messages: Vec<MessageView>,
}

impl Admin {
    /// Reads up to `max` messages of `mq` from `offset` on (PULL_MESSAGE as the tools group,
    /// without committing or waiting).
    pub async fn pull(&self, mq: &MessageQueue, offset: i64, max: i32) -> AdminResult<PullBatch> {
        let addr = self.broker_addr_of(&mq.topic, &mq.broker_name).await?;
        let header = PullMessageRequest {
            consumer_group: TOOLS_CONSUMER_GROUP.into(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max.max(1),
            sys_flag: pull_flag::SUBSCRIPTION,
            commit_offset: Some(0),
            suspend_timeout_millis: Some(0),
            subscription: Some("*".into()),
            sub_version: Some(0),
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
        };
        let request = RemotingCommand::request(RequestCode::PullMessage).with_header(&header);
        let resp = self.call(&addr, request).await?;
        let status = match resp.response_code() {
            ResponseCode::Success => PullStatus::Found,
            ResponseCode::PullNotFound => PullStatus::NoNewMessage,
            ResponseCode::PullRetryImmediately => PullStatus::NoMatchedMessage,
            ResponseCode::PullOffsetMoved => PullStatus::OffsetIllegal,
            _ => return Err(refused(&addr, &resp)),
        };
        let h: PullMessageResponse =
            resp.header().map_err(|e| ClientError::protocol(&addr, format!("bad pull header: {e}")))?;
        let messages =
            if status == PullStatus::Found { decode_all(&addr, &mq.broker_name, &resp.body)? } else { Vec::new() };
        Ok(PullBatch {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    /// The message at `offset` of a queue, as `mqadmin queryMsgByOffset`.
    pub async fn query_by_offset(&self, mq: &MessageQueue, offset: i64) -> AdminResult<MessageView> {
        let batch = self.pull(mq, offset, 1).await?;
        batch.messages.into_iter().find(|m| m.queue_offset == offset).ok_or_else(|| {
            AdminError::not_found(format!(
                "no message at offset {offset} of {}/{}/{} (the queue holds {}..{})",
                mq.topic, mq.broker_name, mq.queue_id, batch.min_offset, batch.max_offset
            ))
        })
    }

    /// The message of `topic` with id `msg_id`: an offset id is read from the broker it names
    /// (VIEW_MESSAGE_BY_ID); any other id is looked up as a unique key on every broker.
    pub async fn query_by_id(&self, topic: &str, msg_id: &str) -> AdminResult<MessageView> {
        if let Ok((store, offset)) = decode_offset_msg_id(msg_id) {
            match self.view_message(topic, store, offset).await {
                Ok(m) if m.offset_msg_id.eq_ignore_ascii_case(msg_id) => return Ok(m),
                Ok(_) => debug!(%msg_id, "the id decodes to another message; trying it as a unique key"),
                Err(e) => debug!(%msg_id, error = %e, "not an offset id; trying it as a unique key"),
            }
        }
        let found = self.query_index(topic, msg_id, UNIQUE_KEY_MAX, 0, i64::MAX, true).await?;
        found.into_iter().next().ok_or_else(|| AdminError::not_found(format!("no message {msg_id} in topic {topic}")))
    }

    /// Messages of `topic` whose keys include `key`, stored between `begin` and `end` (ms),
    /// from every broker of the topic, in store-time order.
    pub async fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        begin: i64,
        end: i64,
    ) -> AdminResult<Vec<MessageView>> {
        let found = self.query_index(topic, key, max, begin, end, false).await?;
        if found.is_empty() {
            return Err(AdminError::not_found(format!("no message with key {key} in topic {topic}")));
        }
        Ok(found)
    }

    async fn view_message(&self, topic: &str, store: SocketAddr, offset: i64) -> AdminResult<MessageView> {
        let addr = store.to_string();
        let header = ViewMessageRequest { topic: Some(topic.into()), offset };
        let resp =
            self.call_ok(&addr, RemotingCommand::request(RequestCode::ViewMessageById).with_header(&header)).await?;
        let broker_name = match self.topic_route(topic).await {
            Ok(route) => route
                .broker_datas
                .iter()
                .find(|b| b.broker_addrs.values().any(|a| *a == addr))
                .map(|b| b.broker_name.clone())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        decode_all(&addr, &broker_name, &resp.body)?
            .into_iter()
            .next()
            .ok_or_else(|| AdminError::not_found(format!("{addr} returned no message at CommitLog offset {offset}")))
    }

    /// QUERY_MESSAGE on every broker of `topic`'s route, keeping what really matches (the index
    /// is a hash: other keys can collide), as the Java admin does.
    async fn query_index(
        &self,
        topic: &str,
        key: &str,
        max: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> AdminResult<Vec<MessageView>> {
        let route = self.topic_route(topic).await?;
        let header = QueryMessageRequest {
            topic: topic.into(),
            key: key.into(),
            max_num: max,
            begin_timestamp: begin,
            end_timestamp: end,
        };
        let calls = Self::route_brokers(&route).into_iter().map(|(name, addr)| {
            let mut request = RemotingCommand::request(RequestCode::QueryMessage).with_header(&header);
            request.ext_fields.insert("_UNIQUE_KEY_QUERY", unique.to_string());
            async move {
                let resp = self.call(&addr, request).await?;
                match resp.response_code() {
                    ResponseCode::Success => decode_all(&addr, &name, &resp.body),
                    ResponseCode::QueryNotFound => Ok(Vec::new()),
                    _ => Err(refused(&addr, &resp)),
                }
            }
        });
        let mut found = Vec::new();
        let mut failure = None;
        for result in futures::future::join_all(calls).await {
            match result {
                Ok(msgs) => found.extend(msgs),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => failure = Some(e),
            }
        }
        found.retain(|m| if unique { m.msg_id == key } else { m.topic == topic && m.keys.iter().any(|k| k == key) });
        if let (true, Some(e)) = (found.is_empty(), failure) {
            return Err(e);
        }
        found.sort_by(|a, b| {
            (a.store_timestamp, &a.broker_name, a.commit_log_offset).cmp(&(
                b.store_timestamp,
                &b.broker_name,
                b.commit_log_offset,
            ))
        });
        found.dedup_by(|a, b| a.offset_msg_id == b.offset_msg_id);
        Ok(found)
    }
}

/// Decodes the stored records of a pull, query or view body.
fn decode_all(addr: &str, broker_name: &str, body: &[u8]) -> AdminResult<Vec<MessageView>> {
    let stored =
        StoredMessage::decode_all(body).map_err(|e| ClientError::protocol(addr, format!("bad message record: {e}")))?;
    stored.into_iter().map(|s| Ok(ReceivedMessage::from_stored(s, broker_name)?.into())).collect()
}

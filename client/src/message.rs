//! Messages as the application sees them: [`Message`] to send, [`ReceivedMessage`] as consumed,
//! and [`MessageQueue`], the unit of ordering and of allocation.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq_remoting::message::compression::Compression;
use rmq_remoting::message::{keys, sys_flag, StoredMessage};

pub use rmq_remoting::protocol::body::MessageQueue;

use crate::error::{ClientError, Result};

/// A message to send: topic, body, and optional tags, keys, delay and user properties.
///
/// ```
/// use rmq_client::Message;
/// let msg = Message::new("orders", "hello")
///     .with_tags("created")
///     .with_keys(["order-42"])
///     .with_property("region", "eu");
/// assert_eq!(msg.tags(), Some("created"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub(crate) topic: String,
    pub(crate) body: Bytes,
    pub(crate) flag: i32,
    pub(crate) properties: BTreeMap<String, String>,
}

impl Message {
    /// A message for `topic` with `body`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message { topic: topic.into(), body: body.into(), flag: 0, properties: BTreeMap::new() }
    }

    /// Sets the tag consumers filter on.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.properties.insert(keys::TAGS.into(), tags.into());
        self
    }

    /// Sets the business keys (indexed by the broker, queryable with `rmqadmin message query --key`).
    pub fn with_keys<I, S>(mut self, keys_iter: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys_iter.into_iter().map(|k| k.as_ref().to_owned()).collect();
        self.properties.insert(keys::KEYS.into(), joined.join(keys::KEY_SEPARATOR));
        self
    }

    /// Sets a user property. Names reserved by RocketMQ are rejected at send time.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Delivers the message after one of the broker's delay levels (1 = 1 s … 18 = 2 h by default).
    pub fn with_delay_level(mut self, level: u8) -> Self {
        self.properties.insert(keys::DELAY.into(), level.to_string());
        self
    }

    /// Makes this a RocketMQ 5 timer message delivered at `when` (Java `setDeliverTimeMs`, property
    /// `TIMER_DELIVER_MS`). The broker rounds the due time down to its timer precision (1 s by
    /// default), delivers at once when it has passed, and refuses due times more than
    /// `timerMaxDelaySec` (3 days by default) ahead. Replaces an earlier timer setting.
    pub fn with_delivery_time(self, when: SystemTime) -> Self {
        let ms = when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        self.with_timer(keys::TIMER_DELIVER_MS, ms)
    }

    /// Makes this a RocketMQ 5 timer message delivered `delay` after the broker stores it (Java
    /// `setDelayTimeMs`, property `TIMER_DELAY_MS`), any delay rather than one of the delay
    /// levels. Same rounding and limits as [`with_delivery_time`](Self::with_delivery_time).
    pub fn with_delay(self, delay: Duration) -> Self {
        self.with_timer(keys::TIMER_DELAY_MS, delay.as_millis())
    }

    /// Like [`with_delay`](Self::with_delay) in whole seconds (Java `setDelayTimeSec`, property
    /// `TIMER_DELAY_SEC`).
    pub fn with_delay_secs(self, secs: u64) -> Self {
        self.with_timer(keys::TIMER_DELAY_SEC, u128::from(secs))
    }

    fn with_timer(mut self, key: &str, value: u128) -> Self {
        // The broker reads SEC before MS before DELIVER: keep only the latest setting.
        for k in [keys::TIMER_DELAY_SEC, keys::TIMER_DELAY_MS, keys::TIMER_DELIVER_MS] {
            self.properties.remove(k);
        }
        self.properties.insert(key.into(), value.to_string());
        self
    }

    /// The reply to a request message sent with [`Producer::request`](crate::Producer::request)
    /// (Java `MessageUtil.createReplyMessage`): topic `<cluster>_REPLY_TOPIC` of the cluster that
    /// stored the request, `MSG_TYPE=reply`, and the request's `CORRELATION_ID`,
    /// `REPLY_TO_CLIENT` and `TTL`. Send it with [`Producer::send`](crate::Producer::send) (it goes
    /// as SEND_REPLY_MESSAGE_V2) or use [`Producer::reply_to`](crate::Producer::reply_to).
    /// Fails when `request` carries no `CLUSTER` property (it was not stored by a broker).
    pub fn reply_for(request: &ReceivedMessage, body: impl Into<Bytes>) -> Result<Message> {
        let cluster = request.property(keys::CLUSTER).ok_or_else(|| {
            ClientError::InvalidMessage("cannot reply: the request message has no CLUSTER property".into())
        })?;
        let mut reply = Message::new(format!("{cluster}_{REPLY_TOPIC_SUFFIX}"), body);
        reply.properties.insert(keys::MSG_TYPE.into(), REPLY_MESSAGE_TYPE.into());
        for k in [keys::CORRELATION_ID, keys::REPLY_TO_CLIENT, keys::TTL] {
            if let Some(v) = request.property(k) {
                reply.properties.insert(k.into(), v.into());
            }
        }
        Ok(reply)
    }

    /// Whether this is a reply message (`MSG_TYPE=reply`), sent as SEND_REPLY_MESSAGE_V2.
    pub fn is_reply(&self) -> bool {
        self.property(keys::MSG_TYPE) == Some(REPLY_MESSAGE_TYPE)
    }

    /// Sets the application flag carried with the message.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS).map(String::as_str)
    }

    /// The keys, if any.
    pub fn keys(&self) -> Vec<&str> {
        split_keys(self.properties.get(keys::KEYS))
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// All properties, system ones included.
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }
}

/// `MSG_TYPE` of reply messages (Java `MixAll.REPLY_MESSAGE_FLAG`).
pub const REPLY_MESSAGE_TYPE: &str = "reply";
/// Reply topics are `<cluster>_REPLY_TOPIC` (Java `MixAll.getReplyTopic`).
pub const REPLY_TOPIC_SUFFIX: &str = "REPLY_TOPIC";

/// A consumed message with the broker's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// Topic (the original topic for a retried message).
    pub topic: String,
    /// Body, decompressed.
    pub body: Bytes,
    /// Properties, system ones included.
    pub properties: BTreeMap<String, String>,
    /// Application flag.
    pub flag: i32,
    /// Queue id.
    pub queue_id: i32,
    /// Offset in its queue.
    pub queue_offset: i64,
    /// Offset in the broker's CommitLog.
    pub commit_log_offset: i64,
    /// When the producer created it (ms).
    pub born_timestamp: i64,
    /// When the broker stored it (ms).
    pub store_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address.
    pub store_host: SocketAddr,
    /// How many times it was redelivered.
    pub reconsume_times: i32,
    /// Name of the broker it came from.
    pub broker_name: String,
    /// Message id (the client-side `UNIQ_KEY`, else the broker's offset id).
    pub msg_id: String,
    /// The broker's offset message id.
    pub offset_msg_id: String,
}

impl ReceivedMessage {
    pub(crate) fn from_stored(stored: StoredMessage, broker_name: &str) -> Result<Self> {
        let offset_msg_id = stored.offset_msg_id();
        let body = match Compression::from_sys_flag(stored.sys_flag) {
            Some(c) if stored.sys_flag & sys_flag::COMPRESSED != 0 => {
                Bytes::from(c.decompress(&stored.body).map_err(|e| ClientError::protocol(broker_name, e))?)
            }
            _ => stored.body,
        };
        let mut topic = stored.topic;
        if let Some(retry) = stored.properties.get(keys::RETRY_TOPIC) {
            topic = retry.clone();
        }
        let msg_id = stored.properties.get(keys::UNIQ_KEY).cloned().unwrap_or_else(|| offset_msg_id.clone());
        Ok(ReceivedMessage {
            topic,
            body,
            flag: stored.flag,
            queue_id: stored.queue_id,
            queue_offset: stored.queue_offset,
            commit_log_offset: stored.physical_offset,
            born_timestamp: stored.born_timestamp,
            store_timestamp: stored.store_timestamp,
            born_host: stored.born_host,
            store_host: stored.store_host,
            reconsume_times: stored.reconsume_times,
            broker_name: broker_name.to_owned(),
            msg_id,
            offset_msg_id,
            properties: stored.properties,
        })
    }

    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS).map(String::as_str)
    }

    /// The keys, if any.
    pub fn keys(&self) -> Vec<&str> {
        split_keys(self.properties.get(keys::KEYS))
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The application's own properties (everything but RocketMQ's system properties).
    pub fn user_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.iter().filter(|(k, _)| !is_system_property(k)).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The queue it was consumed from.
    pub fn queue(&self) -> MessageQueue {
        MessageQueue { topic: self.topic.clone(), broker_name: self.broker_name.clone(), queue_id: self.queue_id }
    }
}

fn split_keys(v: Option<&String>) -> Vec<&str> {
    v.map(|s| s.split(keys::KEY_SEPARATOR).filter(|k| !k.is_empty()).collect()).unwrap_or_default()
}

/// Whether `name` is one of RocketMQ's system properties (Java `MessageConst.STRING_HASH_SET`).
pub fn is_system_property(name: &str) -> bool {
    SYSTEM_PROPERTIES.contains(&name)
}

const SYSTEM_PROPERTIES: &[&str] = &[
    keys::KEYS,
    keys::TAGS,
    keys::WAIT,
    keys::DELAY,
    keys::UNIQ_KEY,
    keys::CLUSTER,
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::TRAN_MSG,
    keys::PGROUP,
    keys::RECONSUME_TIME,
    keys::MAX_RECONSUME_TIMES,
    keys::ORIGIN_MESSAGE_ID,
    keys::MSG_REGION,
    keys::TRACE_ON,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    keys::INNER_NUM,
    keys::INNER_BASE,
    keys::TRAN_PREPARED_QUEUE_OFFSET,
    keys::TRANSACTION_CHECK_TIMES,
    keys::CHECK_IMMUNITY_TIME_IN_SECONDS,
    keys::TRANSACTION_ID,
    keys::POP_CK,
    keys::CORRELATION_ID,
    keys::REPLY_TO_CLIENT,
    keys::TTL,
    keys::MSG_TYPE,
    keys::DLQ_ORIGIN_TOPIC,
    keys::DLQ_ORIGIN_MESSAGE_ID,
    keys::TIMER_DELIVER_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
    keys::CRC32,
    "CONSUME_START_TIME",
    "BUYER_ID",
    "UNIQ_KEY",
    "SHARDING_KEY",
    "__STARTDELIVERTIME",
    "TIMER_OUT_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_DEL_UNIQKEY",
    "TRACE_CONTEXT",
    "REPLY_TOPIC",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "MSG_DELAY",
];

/// Property names the client sets itself; a user property of the same name is refused.
pub(crate) const RESERVED_PROPERTIES: &[&str] = &[
    keys::UNIQ_KEY,
    keys::WAIT,
    keys::TRAN_MSG,
    keys::PGROUP,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::RETRY_TOPIC,
    keys::MAX_OFFSET,
    keys::MIN_OFFSET,
    keys::RECONSUME_TIME,
    keys::MAX_RECONSUME_TIMES,
    keys::ORIGIN_MESSAGE_ID,
    keys::TRANSACTION_CHECK_TIMES,
    keys::TRAN_PREPARED_QUEUE_OFFSET,
    keys::INNER_BASE,
    keys::INNER_NUM,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_helpers_set_apaches_properties_and_the_last_one_wins() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let m = Message::new("t", "x").with_delay_secs(9).with_delivery_time(at);
        assert_eq!(m.property(keys::TIMER_DELIVER_MS), Some("1700000000123"));
        assert_eq!(m.property(keys::TIMER_DELAY_SEC), None, "an earlier timer setting would take precedence");
        let m = m.with_delay(Duration::from_millis(2500));
        assert_eq!((m.property(keys::TIMER_DELAY_MS), m.property(keys::TIMER_DELIVER_MS)), (Some("2500"), None));
        assert_eq!(Message::new("t", "x").with_delay_secs(3).property(keys::TIMER_DELAY_SEC), Some("3"));
    }

    #[test]
    fn reply_goes_to_the_clusters_reply_topic_with_the_requests_correlation() {
        let mut properties = BTreeMap::new();
        for (k, v) in [("CLUSTER", "C1"), ("CORRELATION_ID", "c-1"), ("REPLY_TO_CLIENT", "10.0.0.1@7"), ("TTL", "3000")]
        {
            properties.insert(k.to_owned(), v.to_owned());
        }
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let mut request = ReceivedMessage {
            topic: "T".into(),
            body: Bytes::from_static(b"q"),
            properties,
            flag: 0,
            queue_id: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            born_timestamp: 0,
            store_timestamp: 0,
            born_host: addr,
            store_host: addr,
            reconsume_times: 0,
            broker_name: "b".into(),
            msg_id: "m".into(),
            offset_msg_id: "o".into(),
        };
        let reply = Message::reply_for(&request, "a").expect("reply");
        assert_eq!(reply.topic(), "C1_REPLY_TOPIC");
        assert!(reply.is_reply());
        for k in ["CORRELATION_ID", "REPLY_TO_CLIENT", "TTL"] {
            assert_eq!(reply.property(k), request.property(k), "{k}");
        }
        request.properties.remove("CLUSTER");
        assert!(matches!(Message::reply_for(&request, "a"), Err(ClientError::InvalidMessage(_))));
    }
}

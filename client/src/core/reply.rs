//! The requester's half of request-reply: requests waiting for their reply by correlation id,
//! and the PUSH_REPLY_MESSAGE_TO_CLIENT (326) a broker sends when a consumer replied (Java
//! `ClientRemotingProcessor.receiveReplyMessage`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use bytes::Bytes;
use rmq_remoting::message::compression::Compression;
use rmq_remoting::message::{decode_properties, keys, sys_flag};
use rmq_remoting::protocol::send::{ReplyMessageExtras, SendMessageRequest};
use rmq_remoting::RemotingCommand;
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::message::ReceivedMessage;

/// Property the requester adds to a reply: when it arrived (ms; Java `ARRIVE_TIME`).
pub(crate) const ARRIVE_TIME: &str = "ARRIVE_TIME";

/// Requests waiting for a reply, by `CORRELATION_ID`.
#[derive(Default)]
pub(crate) struct ReplyWaiters {
    waiting: Mutex<HashMap<String, oneshot::Sender<ReceivedMessage>>>,
}

impl ReplyWaiters {
    /// Waits for the reply to `correlation_id`; the registration ends when the guard is dropped.
    pub fn register(&self, correlation_id: &str) -> (oneshot::Receiver<ReceivedMessage>, WaitGuard<'_>) {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(correlation_id.to_owned(), tx);
        }
        (rx, WaitGuard { waiters: self, correlation_id: correlation_id.to_owned() })
    }

    /// Hands a pushed reply to its request; unmatched replies (late, or for another process
    /// with the same client id) are logged and dropped, as in Java.
    pub fn deliver(&self, reply: ReceivedMessage) {
        let id = reply.property(keys::CORRELATION_ID).unwrap_or_default().to_owned();
        let waiter = self.waiting.lock().ok().and_then(|mut w| w.remove(&id));
        match waiter {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None => warn!(correlation_id = %id, born_host = %reply.born_host, "reply matches no waiting request"),
        }
    }
}

/// Removes a request's registration when its `request` call ends.
pub(crate) struct WaitGuard<'a> {
    waiters: &'a ReplyWaiters,
    correlation_id: String,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.waiters.waiting.lock() {
            w.remove(&self.correlation_id);
        }
    }
}

/// Decodes a PUSH_REPLY_MESSAGE_TO_CLIENT: the reply's send header (long keys) plus where and
/// when it was stored; the body is decompressed as its sys flag says.
pub(crate) fn decode_push(request: &RemotingCommand, arrived_ms: i64) -> Result<ReceivedMessage, String> {
    let header: SendMessageRequest = request.header().map_err(|e| e.to_string())?;
    let extras: Option<ReplyMessageExtras> = request.header().ok();
    let mut properties = decode_properties(header.properties.as_deref().unwrap_or(""));
    properties.insert(ARRIVE_TIME.to_owned(), arrived_ms.to_string());
    let body = match Compression::from_sys_flag(header.sys_flag) {
        Some(c) if header.sys_flag & sys_flag::COMPRESSED != 0 => {
            Bytes::from(c.decompress(&request.body).map_err(|e| e.to_string())?)
        }
        _ => request.body.clone(),
    };
    let (born_host, store_host, store_timestamp) = match &extras {
        Some(x) => (parse_addr(&x.born_host), parse_addr(&x.store_host), x.store_timestamp),
        None => (unknown_addr(), unknown_addr(), 0),
    };
    let msg_id = properties.get(keys::UNIQ_KEY).cloned().unwrap_or_default();
    debug!(topic = %header.topic, %msg_id, "reply pushed by the broker");
    Ok(ReceivedMessage {
        topic: header.topic,
        body,
        flag: header.flag,
        queue_id: header.queue_id,
        queue_offset: 0,
        commit_log_offset: 0,
        born_timestamp: header.born_timestamp,
        store_timestamp,
        born_host,
        store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        broker_name: String::new(),
        msg_id,
        offset_msg_id: String::new(),
        properties,
    })
}

/// `host:port`, as Java writes socket addresses (possibly with a leading `/` or `name/`).
fn parse_addr(s: &str) -> SocketAddr {
    let s = s.rsplit('/').next().unwrap_or(s);
    s.parse().unwrap_or_else(|_| unknown_addr())
}

fn unknown_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_remoting::RequestCode;

    #[test]
    fn pushed_reply_is_decoded_with_its_hosts_and_matched_by_correlation_id() {
        let header = SendMessageRequest {
            producer_group: "pg".into(),
            topic: "DefaultCluster_REPLY_TOPIC".into(),
            default_topic: None,
            default_topic_queue_nums: None,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 7,
            flag: 0,
            properties: Some("CORRELATION_ID\u{1}abc\u{2}UNIQ_KEY\u{1}U1\u{2}".into()),
            reconsume_times: None,
            unit_mode: None,
            batch: None,
            max_reconsume_times: None,
            broker_name: None,
        };
        let extras = ReplyMessageExtras {
            born_host: "/10.0.0.1:5000".into(),
            store_host: "10.0.0.2:10911".into(),
            store_timestamp: 9,
        };
        let push = RemotingCommand::request(RequestCode::PushReplyMessageToClient)
            .with_header(&header)
            .with_header(&extras)
            .with_body(Bytes::from_static(b"pong"));
        let reply = decode_push(&push, 42).expect("decoded");
        assert_eq!((&reply.body[..], reply.msg_id.as_str()), (&b"pong"[..], "U1"));
        assert_eq!(reply.born_host, "10.0.0.1:5000".parse().expect("addr"));
        assert_eq!(reply.property(ARRIVE_TIME), Some("42"));

        let waiters = ReplyWaiters::default();
        let (mut rx, guard) = waiters.register("abc");
        waiters.deliver(reply);
        assert_eq!(rx.try_recv().expect("delivered").store_timestamp, 9);
        drop(guard);
        assert!(waiters.waiting.lock().expect("lock").is_empty());
    }
}

//! Request-reply (Java `DefaultMQProducer.request` and `MessageUtil.createReplyMessage`): the
//! requester sends an ordinary message carrying `CORRELATION_ID`, `REPLY_TO_CLIENT` (its client
//! id) and `TTL`; a consumer answers with a reply message to `<cluster>_REPLY_TOPIC`
//! (SEND_REPLY_MESSAGE_V2), which the broker stores and pushes to the requester's connection
//! (PUSH_REPLY_MESSAGE_TO_CLIENT), where the waiting request picks it up by correlation id.

use std::time::{Duration, Instant};

use rmq_remoting::message::keys;
use tracing::instrument;

use super::{Producer, SendResult};
use crate::error::{ClientError, Result};
use crate::message::{Message, ReceivedMessage};

impl Producer {
    /// Sends `msg` as a request and waits up to `timeout` for the reply a consumer sends with
    /// [`Producer::reply_to`] (or a Java consumer with `MessageUtil.createReplyMessage`).
    ///
    /// Fails with [`ClientError::RequestTimeout`] when no reply arrives in time, or with the
    /// send's error when the request could not be sent. The reply carries its body, properties
    /// (with the request's `CORRELATION_ID`, and `ARRIVE_TIME`), hosts and timestamps; it comes
    /// from no queue, so its `broker_name` is empty and its queue and CommitLog offsets are 0.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> Result<(), rmq_client::ClientError> {
    /// use std::time::Duration;
    /// let reply = producer.request(rmq_client::Message::new("prices", "AAPL"), Duration::from_secs(3)).await?;
    /// println!("{}", String::from_utf8_lossy(&reply.body));
    /// # Ok(()) }
    /// ```
    #[instrument(name = "request", skip_all, fields(topic = %msg.topic))]
    pub async fn request(&self, msg: Message, timeout: Duration) -> Result<ReceivedMessage> {
        let started = Instant::now();
        let topic = msg.topic.clone();
        let correlation_id = new_correlation_id();
        let msg = msg
            .with_property(keys::CORRELATION_ID, correlation_id.as_str())
            .with_property(keys::REPLY_TO_CLIENT, self.client_id())
            .with_property(keys::TTL, timeout.as_millis().to_string());
        // Registered before sending: a fast reply may arrive before the send's own answer.
        let (reply, _registration) = self.inner.core.push.replies.register(&correlation_id);
        let timed_out = || ClientError::RequestTimeout { topic: topic.clone(), timeout };
        // The broker can only push the reply to a client it knows: `send` fetches the route,
        // which announces this producer (heartbeat) to brokers seen for the first time.
        tokio::time::timeout(timeout, self.send(msg)).await.map_err(|_| timed_out())??;
        let remaining = timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, reply).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(ClientError::Shutdown),
            Err(_) => Err(timed_out()),
        }
    }

    /// Answers `request` (a message sent with [`Producer::request`], as consumed) with `body`:
    /// builds the reply with [`Message::reply_for`] and sends it as SEND_REPLY_MESSAGE_V2 to the
    /// reply topic's queue on the broker the request came from (any queue of the reply topic if
    /// that broker has none). The broker stores it and pushes it to the requester; it answers
    /// with an error when the requester is no longer connected.
    pub async fn reply_to(&self, request: &ReceivedMessage, body: impl Into<bytes::Bytes>) -> Result<SendResult> {
        let reply = Message::reply_for(request, body)?;
        let route = self.inner.core.publish_route(&reply.topic, 1).await?;
        let same_broker = route.write_queues.iter().find(|q| q.broker_name == request.broker_name).cloned();
        match same_broker {
            Some(queue) => self.send_to_queue(reply, &queue).await,
            None => self.send(reply).await,
        }
    }
}

/// A random (version 4) UUID, as Java's `CorrelationIdUtil.createCorrelationId`.
fn new_correlation_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_distinct_version_4_uuids() {
        let a = new_correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_ne!(a, new_correlation_id());
    }
}

//! The producer: sends messages to a topic's queues with retries on another broker, latency-based
//! fault avoidance, key-ordered and selector-chosen queues, batches and one-way sends.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rmq_client::ClientError> {
//! use rmq_client::{Message, Producer};
//! let producer = Producer::builder().name_server("127.0.0.1:9876").group("orders-producer").build().await?;
//! let sent = producer.send(Message::new("orders", "created #42").with_keys(["42"])).await?;
//! println!("stored as {} at offset {}", sent.msg_id, sent.queue_offset);
//! producer.shutdown().await;
//! # Ok(()) }
//! ```

mod builder;
mod fault;
mod request;
mod select;
mod send;
mod transaction;

use std::sync::Arc;
use std::time::Instant;

use tracing::{debug, instrument, warn};

pub use builder::ProducerBuilder;
pub use select::queue_for_key;
pub(crate) use send::now_ms;
pub use transaction::{TransactionChecker, TransactionState};

use crate::core::ClientCore;
use crate::error::{ClientError, Result};
use crate::message::{Message, MessageQueue};
use crate::trace::Tracer;
use fault::FaultTolerance;
use select::RoundRobin;
use send::{PreparedSend, SendLimits};

/// The producer group used when none is set (Java's `DEFAULT_PRODUCER`).
pub const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";

/// How the broker stored a message that it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored (and flushed/replicated as the broker is configured).
    SendOk,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but the synchronous replication timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave is available for synchronous replication.
    SlaveNotAvailable,
}

/// What the broker answered to a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How it was stored.
    pub status: SendStatus,
    /// The message id (`UNIQ_KEY`; comma-separated for a batch).
    pub msg_id: String,
    /// The broker's offset message id(s).
    pub offset_msg_id: String,
    /// The queue it went to.
    pub queue: MessageQueue,
    /// Its offset in that queue (the first one for a batch).
    pub queue_offset: i64,
    /// Transaction id, for a half message.
    pub transaction_id: Option<String>,
    /// Region id, when the broker reports one.
    pub region_id: Option<String>,
    /// Whether the broker wants sends traced (`TRACE_ON`; true unless it says `false`).
    pub trace_on: bool,
}

struct Inner {
    core: Arc<ClientCore>,
    group: String,
    retries: u32,
    limits: SendLimits,
    faults: Option<FaultTolerance>,
    round_robin: RoundRobin,
    default_topic_queues: i32,
    tracer: Option<Arc<Tracer>>,
}

impl Drop for Inner {
    /// The last clone is gone: stop the background refresh (without the goodbye `shutdown` sends).
    fn drop(&mut self) {
        self.core.shutdown.cancel();
    }
}

/// Sends messages. Cheap to clone; clones share connections and routes.
///
/// Every send is async: `send(..).await` waits for the broker's answer (Java's synchronous
/// send); to send in the background, spawn it: `tokio::spawn({ let p = producer.clone(); async
/// move { p.send(msg).await } })`.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.inner.group)
            .field("client_id", &self.inner.core.client_id)
            .finish()
    }
}

impl Producer {
    /// A builder with the Java client's defaults.
    pub fn builder() -> ProducerBuilder {
        ProducerBuilder::default()
    }

    /// This client's id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.inner.core.client_id
    }

    /// A new message id (`UNIQ_KEY` format).
    pub(crate) fn next_uniq_id(&self) -> String {
        self.inner.core.ids.next()
    }

    /// Sends `msg` and waits for the broker's answer, retrying on another broker on failure.
    #[instrument(name = "send", skip_all, fields(topic = %msg.topic))]
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        let prepared = send::prepare(&msg, self.inner.core.ids.next(), self.inner.limits)?;
        self.send_with_retries(&prepared).await
    }

    /// Sends several messages of one topic as one batch (one queue, consecutive offsets).
    #[instrument(name = "send_batch", skip_all)]
    pub async fn send_batch(&self, msgs: &[Message]) -> Result<SendResult> {
        let prepared = send::prepare_batch(msgs, || self.inner.core.ids.next(), self.inner.limits)?;
        self.send_with_retries(&prepared).await
    }

    /// Sends `msg` to the queue chosen by hashing `key`, so that messages with the same key keep
    /// their order (and land where a Java producer using `SelectMessageQueueByHash` puts them).
    pub async fn send_ordered(&self, msg: Message, key: &str) -> Result<SendResult> {
        self.send_with_selector(msg, |queues| queue_for_key(key, queues.len())).await
    }

    /// Sends `msg` to the queue whose index `selector` returns (no retry, as in Java).
    pub async fn send_with_selector(
        &self,
        msg: Message,
        selector: impl FnOnce(&[MessageQueue]) -> usize,
    ) -> Result<SendResult> {
        let route = self.inner.core.publish_route(&msg.topic, self.inner.default_topic_queues).await?;
        let index = selector(&route.write_queues);
        let queue = route.write_queues.get(index).cloned().ok_or_else(|| {
            ClientError::InvalidMessage(format!("selector chose queue {index} of {}", route.write_queues.len()))
        })?;
        self.send_to_queue(msg, &queue).await
    }

    /// Sends `msg` to `queue` (no retry).
    pub async fn send_to_queue(&self, msg: Message, queue: &MessageQueue) -> Result<SendResult> {
        let prepared = send::prepare(&msg, self.inner.core.ids.next(), self.inner.limits)?;
        let route = self.inner.core.publish_route(&msg.topic, self.inner.default_topic_queues).await?;
        let addr = route
            .master_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::Config(format!("broker {} has no master in the route", queue.broker_name)))?
            .to_owned();
        self.attempt(&prepared, queue, &addr).await
    }

    /// Sends `msg` as a half message (invisible to consumers), runs `local` with the broker's
    /// answer, then commits or rolls back as `local` decides; on
    /// [`TransactionState::Unknown`] the broker later asks the checker given to
    /// [`ProducerBuilder::build_transactional`].
    #[instrument(name = "send_in_transaction", skip_all, fields(topic = %msg.topic))]
    pub async fn send_in_transaction<F, Fut>(&self, msg: Message, local: F) -> Result<(SendResult, TransactionState)>
    where
        F: FnOnce(SendResult) -> Fut,
        Fut: std::future::Future<Output = TransactionState>,
    {
        if msg.properties.contains_key(rmq_remoting::message::keys::DELAY) {
            return Err(ClientError::InvalidMessage("a transactional message cannot be delayed".into()));
        }
        let prepared = send::prepare_half(&msg, self.inner.core.ids.next(), self.inner.limits, &self.inner.group)?;
        let result = self.send_with_retries(&prepared).await?;
        let state =
            if result.status == SendStatus::SendOk { local(result.clone()).await } else { TransactionState::Rollback };
        let broker_addr = self
            .inner
            .core
            .publish_route(&msg.topic, self.inner.default_topic_queues)
            .await?
            .master_addr(&result.queue.broker_name)
            .map(str::to_owned)
            .unwrap_or_default();
        let half = transaction::HalfMessage {
            broker_addr: &broker_addr,
            group: &self.inner.group,
            topic: &msg.topic,
            queue_offset: result.queue_offset,
            offset_msg_id: &result.offset_msg_id,
            msg_id: &result.msg_id,
            transaction_id: result.transaction_id.as_deref().or(Some(result.msg_id.as_str())),
        };
        if let Err(e) = transaction::end(&self.inner.core, half, state, false).await {
            warn!(error = %e, "END_TRANSACTION failed; the broker will check the transaction back");
        }
        Ok((result, state))
    }

    /// Sends `msg` without waiting for (or getting) an answer.
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        let prepared = send::prepare(&msg, self.inner.core.ids.next(), self.inner.limits)?;
        let route = self.inner.core.publish_route(&prepared.topic, self.inner.default_topic_queues).await?;
        let queue = self
            .inner
            .round_robin
            .select(&route.write_queues, self.inner.faults.as_ref(), None)
            .ok_or_else(|| ClientError::TopicNotFound(prepared.topic.clone()))?;
        let addr = route.master_addr(&queue.broker_name).unwrap_or_default().to_owned();
        let request = send::request(&prepared, &self.inner.group, queue, self.inner.default_topic_queues);
        self.inner.core.oneway(&addr, request.into_oneway()).await
    }

    async fn send_with_retries(&self, prepared: &PreparedSend) -> Result<SendResult> {
        let inner = &self.inner;
        let mut last_failed: Option<String> = None;
        let mut last_error = None;
        for attempt in 0..=inner.retries {
            let route = inner.core.publish_route(&prepared.topic, inner.default_topic_queues).await?;
            let Some(queue) =
                inner.round_robin.select(&route.write_queues, inner.faults.as_ref(), last_failed.as_deref())
            else {
                return Err(ClientError::TopicNotFound(prepared.topic.clone()));
            };
            let Some(addr) = route.master_addr(&queue.broker_name).map(str::to_owned) else {
                last_failed = Some(queue.broker_name.clone());
                continue;
            };
            match self.attempt(prepared, queue, &addr).await {
                Ok(result) => return Ok(result),
                Err(e) if send::is_retryable(&e) && attempt < inner.retries => {
                    warn!(broker = %queue.broker_name, %addr, attempt, error = %e, "send failed; retrying on another broker");
                    last_failed = Some(queue.broker_name.clone());
                    last_error = Some(e);
                    if let Err(refresh) = inner.core.refresh_route(&prepared.topic).await {
                        debug!(error = %refresh, "route refresh after a failed send failed");
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| ClientError::TopicNotFound(prepared.topic.clone())))
    }

    async fn attempt(&self, prepared: &PreparedSend, queue: &MessageQueue, addr: &str) -> Result<SendResult> {
        let inner = &self.inner;
        let request = send::request(prepared, &inner.group, queue, inner.default_topic_queues);
        let started = Instant::now();
        let started_ms = send::now_ms();
        let outcome = inner
            .core
            .call(addr, request, inner.core.options.request_timeout)
            .await
            .and_then(|resp| send::result(addr, queue, &prepared.uniq_id, &resp));
        if let Some(faults) = &inner.faults {
            let failed = matches!(&outcome, Err(e) if send::is_retryable(e));
            faults.record(&queue.broker_name, started.elapsed(), failed);
        }
        if let (Some(tracer), Ok(result)) = (&inner.tracer, &outcome) {
            let send =
                send::Attempt { prepared, group: &inner.group, addr, result, started_ms, took: started.elapsed() };
            if let Some(record) = send.trace(tracer.topic()) {
                tracer.append(&prepared.topic, record);
            }
        }
        outcome
    }

    /// Unregisters the producer group from the brokers and stops background tasks.
    pub async fn shutdown(&self) {
        let core = &self.inner.core;
        if core.shutdown.is_cancelled() {
            return;
        }
        if let Some(tracer) = &self.inner.tracer {
            tracer.shutdown().await;
        }
        core.unregister(Some(&self.inner.group), None).await;
        core.shutdown.cancel();
    }
}

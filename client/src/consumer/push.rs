//! The push consumer: pull loops per owned queue feed a listener, concurrently (bounded by a
//! semaphore, failed messages sent back for a later retry) or orderly (one batch at a time per
//! queue, under a broker lock, failed batches retried in place).

mod builder;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use tracing::{error, warn};

pub use builder::PushConsumerBuilder;

use super::broker_api;
use super::engine::{Engine, QueueTask, Runner};
use super::pull_loop;
use super::MessageModel;
use crate::message::{MessageQueue, ReceivedMessage};
use crate::trace::{return_type, Tracer};

/// A concurrent listener's verdict on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeStatus {
    /// Done; the offset may move past these messages.
    Success,
    /// Failed; redeliver later through the group's retry topic (clustering) or drop (broadcast).
    ReconsumeLater,
}

/// An orderly listener's verdict on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderlyStatus {
    /// Done; continue with the next messages of the queue.
    Success,
    /// Failed; pause the queue for a second and retry the same batch.
    SuspendCurrentQueueAMoment,
}

/// Handles batches of messages concurrently. Implemented for
/// `Fn(Vec<ReceivedMessage>) -> impl Future<Output = ConsumeStatus>` closures.
pub trait MessageListener: Send + Sync + 'static {
    /// Consumes a batch (of `consume_batch_size` messages at most).
    fn consume(&self, messages: Vec<ReceivedMessage>) -> impl Future<Output = ConsumeStatus> + Send;
}

impl<F, Fut> MessageListener for F
where
    F: Fn(Vec<ReceivedMessage>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeStatus> + Send,
{
    fn consume(&self, messages: Vec<ReceivedMessage>) -> impl Future<Output = ConsumeStatus> + Send {
        self(messages)
    }
}

/// Handles one queue's messages in order. Implemented for
/// `Fn(Vec<ReceivedMessage>) -> impl Future<Output = OrderlyStatus>` closures.
pub trait OrderlyListener: Send + Sync + 'static {
    /// Consumes the next batch of a queue.
    fn consume(&self, messages: Vec<ReceivedMessage>) -> impl Future<Output = OrderlyStatus> + Send;
}

impl<F, Fut> OrderlyListener for F
where
    F: Fn(Vec<ReceivedMessage>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OrderlyStatus> + Send,
{
    fn consume(&self, messages: Vec<ReceivedMessage>) -> impl Future<Output = OrderlyStatus> + Send {
        self(messages)
    }
}

/// A running push consumer. Call [`PushConsumer::shutdown`] to commit offsets and leave the
/// group; dropping it only stops the background work (offsets since the last commit are then
/// consumed again by the group, which at-least-once delivery allows).
pub struct PushConsumer {
    engine: Arc<Engine>,
    tracer: Option<Arc<Tracer>>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.engine.settings.group)
            .field("client_id", &self.engine.core.client_id)
            .finish()
    }
}

impl Drop for PushConsumer {
    fn drop(&mut self) {
        self.engine.core.shutdown.cancel();
    }
}

impl PushConsumer {
    /// A builder with the Java client's defaults.
    pub fn builder() -> PushConsumerBuilder {
        PushConsumerBuilder::default()
    }

    /// This client's id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.engine.core.client_id
    }

    /// The queues this member consumes now.
    pub async fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.engine.owned_queues().await
    }

    /// Rebalances now instead of at the next interval.
    pub async fn rebalance(&self) {
        self.engine.rebalance().await;
    }

    /// Stops pulling, waits for in-flight batches, commits offsets and leaves the group (and
    /// sends the trace records still queued).
    pub async fn shutdown(&self) {
        self.engine.shutdown().await;
        if let Some(tracer) = &self.tracer {
            tracer.shutdown().await;
        }
    }
}

struct Shared<L> {
    listener: L,
    permits: Arc<Semaphore>,
    batch: usize,
    max_reconsume_times: i32,
    tracer: Option<Arc<Tracer>>,
}

fn concurrent_runner<L: MessageListener>(shared: Arc<Shared<L>>) -> Runner {
    Box::new(move |task: QueueTask| {
        let shared = Arc::clone(&shared);
        let span = task.span.clone();
        tokio::spawn(
            async move {
                let task = Arc::new(task);
                pull_loop::run(&task, |msgs| {
                    let task = Arc::clone(&task);
                    let shared = Arc::clone(&shared);
                    async move {
                        task.pq.put(&msgs);
                        for chunk in msgs.chunks(shared.batch.max(1)) {
                            let Ok(permit) = Arc::clone(&shared.permits).acquire_owned().await else { return };
                            let consume =
                                consume_concurrently(Arc::clone(&task), Arc::clone(&shared), chunk.to_vec(), permit);
                            tokio::spawn(consume.instrument(task.span.clone()));
                        }
                    }
                })
                .await;
            }
            .instrument(span),
        )
    })
}

async fn consume_concurrently<L: MessageListener>(
    task: Arc<QueueTask>,
    shared: Arc<Shared<L>>,
    mut msgs: Vec<ReceivedMessage>,
    permit: OwnedSemaphorePermit,
) {
    let mut permit = Some(permit);
    loop {
        let group = &task.engine.settings.group;
        let trace = shared.tracer.as_ref().and_then(|t| t.before_consume(group, &msgs));
        let (status, code) = match AssertUnwindSafe(shared.listener.consume(msgs.clone())).catch_unwind().await {
            Ok(ConsumeStatus::Success) => (ConsumeStatus::Success, return_type::SUCCESS),
            Ok(s) => (s, return_type::FAILED),
            Err(_) => {
                error!(queue = ?task.queue, "listener panicked; treating the batch as failed");
                (ConsumeStatus::ReconsumeLater, return_type::EXCEPTION)
            }
        };
        if let (Some(tracer), Some(ctx)) = (&shared.tracer, trace) {
            tracer.after_consume(ctx, status == ConsumeStatus::Success, code);
        }
        drop(permit.take());
        if task.pq.is_dropped() {
            return;
        }
        let engine = &task.engine;
        let mut done: Vec<i64> = Vec::with_capacity(msgs.len());
        let mut again = Vec::new();
        for m in msgs {
            if status == ConsumeStatus::Success {
                done.push(m.queue_offset);
            } else if engine.settings.model == MessageModel::Broadcasting {
                warn!(msg_id = %m.msg_id, "broadcast consumption failed; the message is dropped (as in Java)");
                done.push(m.queue_offset);
            } else {
                match broker_api::send_back(&engine.core, &engine.settings.group, &m, 0, shared.max_reconsume_times)
                    .await
                {
                    Ok(()) => done.push(m.queue_offset),
                    Err(e) => {
                        warn!(msg_id = %m.msg_id, error = %e, "send-back failed; consuming again here in 5 s");
                        again.push(m);
                    }
                }
            }
        }
        if let Some(resume) = task.pq.complete(done) {
            engine.offsets.update(&task.queue, resume, true);
        }
        if again.is_empty() {
            return;
        }
        // Still in flight (so the offset cannot pass them): consume them again locally.
        tokio::select! {
            _ = task.cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        for m in &mut again {
            m.reconsume_times += 1;
        }
        msgs = again;
        match Arc::clone(&shared.permits).acquire_owned().await {
            Ok(p) => permit = Some(p),
            Err(_) => return,
        }
    }
}

fn orderly_runner<L: OrderlyListener>(shared: Arc<Shared<L>>) -> Runner {
    Box::new(move |task: QueueTask| {
        let shared = Arc::clone(&shared);
        let span = task.span.clone();
        tokio::spawn(
            async move {
                let task = Arc::new(task);
                let consumer = tokio::spawn(consume_orderly(Arc::clone(&task), shared).instrument(task.span.clone()));
                pull_loop::run(&task, |msgs| {
                    task.pq.put(&msgs);
                    std::future::ready(())
                })
                .await;
                // Let the batch in progress finish, so its offset is committed before the lock goes.
                let _ = consumer.await;
            }
            .instrument(span),
        )
    })
}

async fn consume_orderly<L: OrderlyListener>(task: Arc<QueueTask>, shared: Arc<Shared<L>>) {
    let engine = &task.engine;
    let mut failures = 0i32;
    loop {
        if task.cancel.is_cancelled() {
            return;
        }
        let batch = if task.pq.is_locked() { task.pq.peek_first(shared.batch.max(1)) } else { Vec::new() };
        if batch.is_empty() {
            tokio::select! {
                _ = task.cancel.cancelled() => return,
                _ = task.pq.arrived.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let mut attempt = batch.clone();
        for m in &mut attempt {
            m.reconsume_times += failures;
        }
        let trace = shared.tracer.as_ref().and_then(|t| t.before_consume(&engine.settings.group, &attempt));
        let (status, code) = match AssertUnwindSafe(shared.listener.consume(attempt)).catch_unwind().await {
            Ok(OrderlyStatus::Success) => (OrderlyStatus::Success, return_type::SUCCESS),
            Ok(s) => (s, return_type::FAILED),
            Err(_) => {
                error!(queue = ?task.queue, "orderly listener panicked; retrying the batch");
                (OrderlyStatus::SuspendCurrentQueueAMoment, return_type::EXCEPTION)
            }
        };
        if let (Some(tracer), Some(ctx)) = (&shared.tracer, trace) {
            tracer.after_consume(ctx, status == OrderlyStatus::Success, code);
        }
        let offsets: Vec<i64> = batch.iter().map(|m| m.queue_offset).collect();
        match status {
            OrderlyStatus::Success => failures = 0,
            OrderlyStatus::SuspendCurrentQueueAMoment => {
                failures += 1;
                let exhausted = shared.max_reconsume_times >= 0 && failures > shared.max_reconsume_times;
                if !exhausted {
                    tokio::select! {
                        _ = task.cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
                let mut moved = true;
                for m in &batch {
                    // A negative delay level sends the message straight to the group's DLQ.
                    if let Err(e) = broker_api::send_back(&engine.core, &engine.settings.group, m, -1, 0).await {
                        warn!(msg_id = %m.msg_id, error = %e, "moving to the DLQ failed; retrying the batch");
                        moved = false;
                        break;
                    }
                }
                if !moved {
                    continue;
                }
                failures = 0;
            }
        }
        // Committed even if the queue is being released: the lock is held until the task ends.
        if let Some(resume) = task.pq.complete(offsets) {
            engine.offsets.update(&task.queue, resume, true);
        }
    }
}

//! The pull consumer: you [`poll`](PullConsumer::poll) for messages. Queues come from
//! [`subscribe`](PullConsumer::subscribe) (rebalanced with the group) or
//! [`assign`](PullConsumer::assign) (chosen by you); [`seek`](PullConsumer::seek) moves a queue;
//! offsets are committed automatically every few seconds (default) or by
//! [`commit`](PullConsumer::commit).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex};
use tracing::Instrument;

use super::engine::{Engine, QueueTask};
use super::options::{consumer_setters, ConsumerOptions, Mode};
use super::process_queue::ProcessQueue;
use super::{pull_loop, Subscription};
use crate::error::{ClientError, Result};
use crate::message::{MessageQueue, ReceivedMessage};

type Batch = (Arc<ProcessQueue>, MessageQueue, Vec<ReceivedMessage>);

/// Configures a [`PullConsumer`].
#[derive(Debug, Clone)]
pub struct PullConsumerBuilder {
    opts: ConsumerOptions,
    auto_commit: bool,
}

impl Default for PullConsumerBuilder {
    fn default() -> Self {
        PullConsumerBuilder { opts: ConsumerOptions::default(), auto_commit: true }
    }
}

impl PullConsumerBuilder {
    consumer_setters!();

    /// Commit polled progress automatically every `commit_interval` (default on); when off,
    /// call [`PullConsumer::commit`].
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.auto_commit = on;
        self
    }

    /// Connects; no queue is consumed until `subscribe` or `assign`.
    pub async fn build(self) -> Result<PullConsumer> {
        let mode =
            Mode { orderly: false, passive: false, auto_commit: self.auto_commit, max_in_flight_bytes: usize::MAX };
        let engine = self.opts.into_engine(mode).await?;
        let (tx, rx) = mpsc::channel::<Batch>(64);
        engine
            .start(Box::new(move |task: QueueTask| {
                let tx = tx.clone();
                let span = task.span.clone();
                let feed = async move {
                    let pq = Arc::clone(&task.pq);
                    let queue = task.queue.clone();
                    pull_loop::run(&task, |msgs| {
                        pq.put(&msgs);
                        let batch = (Arc::clone(&pq), queue.clone(), msgs);
                        let tx = tx.clone();
                        async move {
                            let _ = tx.send(batch).await;
                        }
                    })
                    .await;
                };
                tokio::spawn(feed.instrument(span))
            }))
            .await;
        Ok(PullConsumer { engine, rx: Mutex::new(rx) })
    }
}

/// A consumer you poll.
pub struct PullConsumer {
    engine: Arc<Engine>,
    rx: Mutex<mpsc::Receiver<Batch>>,
}

impl std::fmt::Debug for PullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullConsumer").field("group", &self.engine.settings.group).finish()
    }
}

impl Drop for PullConsumer {
    /// Stops the background work; call [`PullConsumer::shutdown`] first to commit offsets.
    fn drop(&mut self) {
        self.engine.core.shutdown.cancel();
    }
}

impl PullConsumer {
    /// A builder with defaults.
    pub fn builder() -> PullConsumerBuilder {
        PullConsumerBuilder::default()
    }

    /// Subscribes to `topic` (tag expression); its queues are shared with the group.
    pub async fn subscribe(&self, topic: &str, tags: &str) -> Result<()> {
        rmq_remoting::message::validate_topic(topic).map_err(ClientError::Config)?;
        self.engine.core.route(topic).await?;
        self.engine.subscribe(Subscription::tag(topic, tags));
        self.engine.core.send_heartbeats().await;
        self.engine.rebalance().await;
        Ok(())
    }

    /// Consumes exactly `queues` (no rebalancing).
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        for q in &queues {
            self.engine.core.route(&q.topic).await?;
        }
        self.engine.assign(queues).await;
        Ok(())
    }

    /// The readable queues of `topic`.
    pub async fn queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        Ok(self.engine.core.refresh_route(topic).await?.read_queues.clone())
    }

    /// The queues consumed now.
    pub async fn assigned_queues(&self) -> Vec<MessageQueue> {
        self.engine.owned_queues().await
    }

    /// Waits up to `timeout` for messages; returns an empty batch on timeout. Returned messages
    /// count as consumed: their offsets are committed at the next (automatic or explicit) commit.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<ReceivedMessage>> {
        if self.engine.core.shutdown.is_cancelled() {
            return Err(ClientError::Shutdown);
        }
        let mut rx = self.rx.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let batch = match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(b)) => b,
                Ok(None) => return Err(ClientError::Shutdown),
                Err(_) => return Ok(Vec::new()),
            };
            let (pq, queue, msgs) = batch;
            if pq.is_dropped() {
                continue; // the queue was sought, reassigned or reset since the pull
            }
            if let Some(resume) = pq.complete(msgs.iter().map(|m| m.queue_offset)) {
                self.engine.offsets.update(&queue, resume, true);
            }
            return Ok(msgs);
        }
    }

    /// Moves `queue` to `offset`: the next polls return messages from there.
    pub async fn seek(&self, queue: &MessageQueue, offset: i64) {
        self.engine.seek(queue, offset).await;
    }

    /// Commits the polled progress of every queue now.
    pub async fn commit(&self) {
        self.engine.offsets.persist(&self.engine.core, &self.engine.settings.group, None).await;
    }

    /// The offset the group would resume `queue` from, as the broker (or local file) has it.
    pub async fn committed(&self, queue: &MessageQueue) -> Result<Option<i64>> {
        self.engine.offsets.read_committed(&self.engine.core, &self.engine.settings.group, queue).await
    }

    /// Stops pulling, commits offsets (when auto-commit is on) and leaves the group.
    pub async fn shutdown(&self) {
        self.engine.shutdown().await;
    }
}

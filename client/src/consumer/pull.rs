//! The pull consumer: you [`poll`](PullConsumer::poll) for messages. Queues come from
//! [`subscribe`](PullConsumer::subscribe) (rebalanced with the group) or
//! [`assign`](PullConsumer::assign) (chosen by you); [`seek`](PullConsumer::seek) moves a queue;
//! offsets are committed automatically every few seconds (default) or by
//! [`commit`](PullConsumer::commit).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::message::validate_group;
use tokio::sync::{mpsc, Mutex};

use super::engine::{Engine, QueueTask, Settings};
use super::offsets::{OffsetBackend, OffsetStore};
use super::process_queue::ProcessQueue;
use super::{pull_loop, Allocation, ConsumeFrom, MessageModel, Subscription};
use crate::core::{ClientCore, ClientOptions};
use crate::error::{ClientError, Result};
use crate::message::{MessageQueue, ReceivedMessage};
use crate::namesrv::NameServerSource;

type Batch = (Arc<ProcessQueue>, MessageQueue, Vec<ReceivedMessage>);

/// Configures a [`PullConsumer`].
#[derive(Debug, Clone)]
pub struct PullConsumerBuilder {
    options: ClientOptions,
    group: String,
    model: MessageModel,
    allocation: Allocation,
    consume_from: ConsumeFrom,
    auto_commit: bool,
    commit_interval: Duration,
    rebalance_interval: Duration,
    pull_batch: i32,
    max_in_flight_messages: usize,
    offset_dir: Option<PathBuf>,
}

impl Default for PullConsumerBuilder {
    fn default() -> Self {
        PullConsumerBuilder {
            options: ClientOptions::default(),
            group: String::new(),
            model: MessageModel::Clustering,
            allocation: Allocation::Average,
            consume_from: ConsumeFrom::LastOffset,
            auto_commit: true,
            commit_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            pull_batch: 32,
            max_in_flight_messages: 1000,
            offset_dir: None,
        }
    }
}

impl PullConsumerBuilder {
    /// Adds NameServer addresses (`host:port`, or several separated by `;`).
    pub fn name_server(mut self, addr: impl Into<String>) -> Self {
        match &mut self.options.name_servers {
            NameServerSource::List(list) => list.push(addr.into()),
            other => *other = NameServerSource::List(vec![addr.into()]),
        }
        self
    }

    /// Sets where NameServer addresses come from (default: `NAMESRV_ADDR`).
    pub fn name_server_source(mut self, source: NameServerSource) -> Self {
        self.options.name_servers = source;
        self
    }

    /// The consumer group (required).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// Clustering (default) or broadcasting.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.model = model;
        self
    }

    /// How subscribed queues are shared among the group's members (default: average).
    pub fn allocation(mut self, allocation: Allocation) -> Self {
        self.allocation = allocation;
        self
    }

    /// Where a group without committed offsets starts (default: the last offset).
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.consume_from = from;
        self
    }

    /// Commit polled progress automatically every `commit_interval` (default on); when off,
    /// call [`PullConsumer::commit`].
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.auto_commit = on;
        self
    }

    /// Automatic commit interval (default 5 s).
    pub fn commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }

    /// Rebalance interval (default 20 s).
    pub fn rebalance_interval(mut self, d: Duration) -> Self {
        self.rebalance_interval = d;
        self
    }

    /// Messages per pull request (default 32).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.pull_batch = n.clamp(1, 1024);
        self
    }

    /// Messages buffered per queue before pulling pauses (default 1000).
    pub fn max_in_flight_messages(mut self, n: usize) -> Self {
        self.max_in_flight_messages = n.max(1);
        self
    }

    /// Timeout of one request (default 3 s).
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.options.request_timeout = d;
        self
    }

    /// Instance name, part of the client id.
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.options.instance_name = Some(name.into());
        self
    }

    /// Directory of broadcast offsets (default `~/.rocketmq_offsets`).
    pub fn offset_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.offset_dir = Some(dir.into());
        self
    }

    /// Connects; no queue is consumed until `subscribe` or `assign`.
    pub async fn build(self) -> Result<PullConsumer> {
        validate_group(&self.group).map_err(ClientError::Config)?;
        let core = ClientCore::start(self.options).await?;
        let backend = match self.model {
            MessageModel::Clustering => OffsetBackend::Broker,
            MessageModel::Broadcasting => {
                let dir = self.offset_dir.unwrap_or_else(|| {
                    std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(std::env::temp_dir)
                        .join(".rocketmq_offsets")
                });
                OffsetBackend::LocalFile(dir.join(&core.client_id).join(&self.group).join("offsets.json"))
            }
        };
        let settings = Settings {
            group: self.group,
            model: self.model,
            allocation: self.allocation,
            consume_from: self.consume_from,
            orderly: false,
            passive: false,
            pull_batch: self.pull_batch,
            max_in_flight_messages: self.max_in_flight_messages,
            max_in_flight_bytes: usize::MAX,
            rebalance_interval: self.rebalance_interval,
            commit_interval: self.commit_interval,
            auto_commit: self.auto_commit,
        };
        let engine = Engine::new(core, settings, OffsetStore::new(backend));
        let (tx, rx) = mpsc::channel::<Batch>(64);
        engine
            .start(Box::new(move |task: QueueTask| {
                let tx = tx.clone();
                let span = task.span.clone();
                tokio::spawn(tracing::Instrument::instrument(
                    async move {
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
                    },
                    span,
                ))
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

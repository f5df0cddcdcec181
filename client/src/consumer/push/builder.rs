//! Configuring and starting a [`PushConsumer`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::message::{validate_group, RETRY_TOPIC_PREFIX};
use tokio::sync::Semaphore;

use super::{concurrent_runner, orderly_runner, MessageListener, OrderlyListener, PushConsumer, Shared};
use crate::consumer::engine::{Engine, Runner, Settings};
use crate::consumer::offsets::{OffsetBackend, OffsetStore};
use crate::consumer::{Allocation, ConsumeFrom, MessageModel, Subscription};
use crate::core::{ClientCore, ClientOptions};
use crate::error::{ClientError, Result};
use crate::namesrv::NameServerSource;

/// The group name Java reserves; a consumer must choose its own.
pub const DEFAULT_CONSUMER_GROUP: &str = "DEFAULT_CONSUMER";

/// Configures a [`PushConsumer`]; finish with [`start`](Self::start) or
/// [`start_orderly`](Self::start_orderly).
#[derive(Debug, Clone)]
pub struct PushConsumerBuilder {
    pub(crate) options: ClientOptions,
    pub(crate) group: String,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) model: MessageModel,
    pub(crate) allocation: Allocation,
    pub(crate) consume_from: ConsumeFrom,
    pub(crate) batch: usize,
    pub(crate) concurrency: usize,
    pub(crate) pull_batch: i32,
    pub(crate) max_in_flight_messages: usize,
    pub(crate) max_in_flight_bytes: usize,
    pub(crate) max_reconsume_times: Option<i32>,
    pub(crate) rebalance_interval: Duration,
    pub(crate) commit_interval: Duration,
    pub(crate) offset_dir: Option<PathBuf>,
}

impl Default for PushConsumerBuilder {
    fn default() -> Self {
        PushConsumerBuilder {
            options: ClientOptions::default(),
            group: String::new(),
            subscriptions: Vec::new(),
            model: MessageModel::Clustering,
            allocation: Allocation::Average,
            consume_from: ConsumeFrom::LastOffset,
            batch: 1,
            concurrency: 20,
            pull_batch: 32,
            max_in_flight_messages: 1000,
            max_in_flight_bytes: 100 * 1024 * 1024,
            max_reconsume_times: None,
            rebalance_interval: Duration::from_secs(20),
            commit_interval: Duration::from_secs(5),
            offset_dir: None,
        }
    }
}

impl PushConsumerBuilder {
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

    /// Subscribes to `topic` with a tag expression (`*`, `TagA || TagB`).
    pub fn subscribe(mut self, topic: impl Into<String>, tags: &str) -> Self {
        self.subscriptions.push(Subscription::tag(topic, tags));
        self
    }

    /// Subscribes to `topic` with an SQL92 expression over properties.
    pub fn subscribe_sql(mut self, topic: impl Into<String>, sql: &str) -> Self {
        self.subscriptions.push(Subscription::sql92(topic, sql));
        self
    }

    /// Clustering (default) or broadcasting.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.model = model;
        self
    }

    /// How queues are shared among the group's members (default: average).
    pub fn allocation(mut self, allocation: Allocation) -> Self {
        self.allocation = allocation;
        self
    }

    /// Where a group without committed offsets starts (default: the last offset).
    pub fn consume_from(mut self, from: ConsumeFrom) -> Self {
        self.consume_from = from;
        self
    }

    /// Messages per listener call (default 1).
    pub fn consume_batch_size(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Listener calls running at once (default 20; orderly: one per queue regardless).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Messages per pull request (default 32).
    pub fn pull_batch_size(mut self, n: i32) -> Self {
        self.pull_batch = n.clamp(1, 1024);
        self
    }

    /// Flow control: a queue stops pulling while this many of its messages are in flight
    /// (default 1000) …
    pub fn max_in_flight_messages(mut self, n: usize) -> Self {
        self.max_in_flight_messages = n.max(1);
        self
    }

    /// … or this many body bytes (default 100 MiB).
    pub fn max_in_flight_bytes(mut self, n: usize) -> Self {
        self.max_in_flight_bytes = n.max(1);
        self
    }

    /// Deliveries before a message goes to the DLQ (default 16; orderly: unlimited).
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.max_reconsume_times = Some(n);
        self
    }

    /// Rebalance (and orderly lock renewal) interval (default 20 s).
    pub fn rebalance_interval(mut self, d: Duration) -> Self {
        self.rebalance_interval = d;
        self
    }

    /// Offset commit interval (default 5 s).
    pub fn commit_interval(mut self, d: Duration) -> Self {
        self.commit_interval = d;
        self
    }

    /// Route refresh and heartbeat interval (default 30 s).
    pub fn refresh_interval(mut self, d: Duration) -> Self {
        self.options.refresh_interval = d;
        self
    }

    /// Timeout of one request (default 3 s).
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.options.request_timeout = d;
        self
    }

    /// Instance name, part of the client id (set it for broadcast consumers that must find
    /// their local offsets after a restart).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.options.instance_name = Some(name.into());
        self
    }

    /// Directory of broadcast offsets (default `~/.rocketmq_offsets`, as Java).
    pub fn offset_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.offset_dir = Some(dir.into());
        self
    }

    /// Starts consuming with a concurrent listener.
    pub async fn start<L: MessageListener>(self, listener: L) -> Result<PushConsumer> {
        let max = self.max_reconsume_times.unwrap_or(16);
        let shared = Arc::new(Shared {
            listener,
            permits: Arc::new(Semaphore::new(self.concurrency)),
            batch: self.batch,
            max_reconsume_times: max,
        });
        self.launch(false, concurrent_runner(shared)).await
    }

    /// Starts consuming with an orderly listener: each queue's messages one batch at a time, in
    /// order, while this member holds the queue's broker lock.
    pub async fn start_orderly<L: OrderlyListener>(self, listener: L) -> Result<PushConsumer> {
        let max = self.max_reconsume_times.unwrap_or(-1);
        let shared = Arc::new(Shared {
            listener,
            permits: Arc::new(Semaphore::new(1)),
            batch: self.batch,
            max_reconsume_times: max,
        });
        self.launch(true, orderly_runner(shared)).await
    }

    async fn launch(self, orderly: bool, runner: Runner) -> Result<PushConsumer> {
        validate_group(&self.group).map_err(ClientError::Config)?;
        if self.group == DEFAULT_CONSUMER_GROUP {
            return Err(ClientError::Config(format!("the consumer group cannot be {DEFAULT_CONSUMER_GROUP}")));
        }
        if self.subscriptions.is_empty() {
            return Err(ClientError::Config("a push consumer needs at least one subscription".into()));
        }
        for s in &self.subscriptions {
            rmq_remoting::message::validate_topic(&s.topic).map_err(ClientError::Config)?;
        }
        let core = ClientCore::start(self.options).await?;
        let backend = match self.model {
            MessageModel::Clustering => OffsetBackend::Broker,
            MessageModel::Broadcasting => {
                let dir = self.offset_dir.unwrap_or_else(default_offset_dir);
                OffsetBackend::LocalFile(dir.join(&core.client_id).join(&self.group).join("offsets.json"))
            }
        };
        let settings = Settings {
            group: self.group.clone(),
            model: self.model,
            allocation: self.allocation,
            consume_from: self.consume_from,
            orderly,
            passive: true,
            pull_batch: self.pull_batch,
            max_in_flight_messages: self.max_in_flight_messages,
            max_in_flight_bytes: self.max_in_flight_bytes,
            rebalance_interval: self.rebalance_interval,
            commit_interval: self.commit_interval,
            auto_commit: true,
        };
        let engine = Engine::new(core, settings, OffsetStore::new(backend));
        for s in self.subscriptions {
            engine.subscribe(s);
        }
        if self.model == MessageModel::Clustering {
            engine.subscribe(Subscription::tag(format!("{RETRY_TOPIC_PREFIX}{}", self.group), "*"));
        }
        engine.start(runner).await;
        Ok(PushConsumer { engine })
    }
}

/// Java's `rocketmq.client.localOffsetStoreDir` default.
fn default_offset_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".rocketmq_offsets")
}

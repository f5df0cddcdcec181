//! Configuring and starting a [`PushConsumer`].

use std::sync::Arc;

use rmq_remoting::message::RETRY_TOPIC_PREFIX;
use tokio::sync::Semaphore;

use super::{concurrent_runner, orderly_runner, MessageListener, OrderlyListener, PushConsumer, Shared};
use crate::consumer::engine::Runner;
use crate::consumer::options::{consumer_setters, ConsumerOptions, Mode};
use crate::consumer::{MessageModel, Subscription};
use crate::error::{ClientError, Result};
use crate::trace::{Tracer, DEFAULT_TRACE_TOPIC};

/// The group name Java reserves; a consumer must choose its own.
pub const DEFAULT_CONSUMER_GROUP: &str = "DEFAULT_CONSUMER";

/// Configures a [`PushConsumer`]; finish with [`start`](Self::start) or
/// [`start_orderly`](Self::start_orderly).
#[derive(Debug, Clone)]
pub struct PushConsumerBuilder {
    opts: ConsumerOptions,
    subscriptions: Vec<Subscription>,
    batch: usize,
    concurrency: usize,
    max_in_flight_bytes: usize,
    max_reconsume_times: Option<i32>,
    trace_topic: Option<String>,
}

impl Default for PushConsumerBuilder {
    fn default() -> Self {
        PushConsumerBuilder {
            opts: ConsumerOptions::default(),
            subscriptions: Vec::new(),
            batch: 1,
            concurrency: 20,
            max_in_flight_bytes: 100 * 1024 * 1024,
            max_reconsume_times: None,
            trace_topic: None,
        }
    }
}

impl PushConsumerBuilder {
    consumer_setters!();

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

    /// Flow control: a queue also stops pulling while this many body bytes are in flight
    /// (default 100 MiB).
    pub fn max_in_flight_bytes(mut self, n: usize) -> Self {
        self.max_in_flight_bytes = n.max(1);
        self
    }

    /// Deliveries before a message goes to the DLQ (default 16; orderly: unlimited).
    pub fn max_reconsume_times(mut self, n: i32) -> Self {
        self.max_reconsume_times = Some(n);
        self
    }

    /// Traces every listener call (Java `enableMsgTrace`): `SubBefore` and `SubAfter` records
    /// of each message go to `RMQ_SYS_TRACE_TOPIC`, in the background and batched (see
    /// [`crate::trace`]). Off by default.
    pub fn enable_trace(self) -> Self {
        self.trace_topic(DEFAULT_TRACE_TOPIC)
    }

    /// Like [`enable_trace`](Self::enable_trace), to a custom trace topic (Java
    /// `customizedTraceTopic`).
    pub fn trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.trace_topic = Some(topic.into());
        self
    }

    async fn start_tracer(&self) -> Result<Option<Arc<Tracer>>> {
        match &self.trace_topic {
            Some(topic) => {
                Ok(Some(Tracer::start(&self.opts.client, &self.opts.group, "CONSUME", topic.clone()).await?))
            }
            None => Ok(None),
        }
    }

    /// Starts consuming with a concurrent listener.
    pub async fn start<L: MessageListener>(self, listener: L) -> Result<PushConsumer> {
        let max = self.max_reconsume_times.unwrap_or(16);
        let tracer = self.start_tracer().await?;
        let shared = Arc::new(Shared {
            listener,
            permits: Arc::new(Semaphore::new(self.concurrency)),
            batch: self.batch,
            max_reconsume_times: max,
            tracer: tracer.clone(),
        });
        self.launch(false, concurrent_runner(shared), tracer).await
    }

    /// Starts consuming with an orderly listener: each queue's messages one batch at a time, in
    /// order, while this member holds the queue's broker lock.
    pub async fn start_orderly<L: OrderlyListener>(self, listener: L) -> Result<PushConsumer> {
        let max = self.max_reconsume_times.unwrap_or(-1);
        let tracer = self.start_tracer().await?;
        let shared = Arc::new(Shared {
            listener,
            permits: Arc::new(Semaphore::new(1)),
            batch: self.batch,
            max_reconsume_times: max,
            tracer: tracer.clone(),
        });
        self.launch(true, orderly_runner(shared), tracer).await
    }

    async fn launch(self, orderly: bool, runner: Runner, tracer: Option<Arc<Tracer>>) -> Result<PushConsumer> {
        let group = self.opts.group.clone();
        if group == DEFAULT_CONSUMER_GROUP {
            return Err(ClientError::Config(format!("the consumer group cannot be {DEFAULT_CONSUMER_GROUP}")));
        }
        if self.subscriptions.is_empty() {
            return Err(ClientError::Config("a push consumer needs at least one subscription".into()));
        }
        for s in &self.subscriptions {
            rmq_remoting::message::validate_topic(&s.topic).map_err(ClientError::Config)?;
        }
        let clustering = self.opts.model == MessageModel::Clustering;
        let mode = Mode { orderly, passive: true, auto_commit: true, max_in_flight_bytes: self.max_in_flight_bytes };
        let engine = self.opts.into_engine(mode).await?;
        for s in self.subscriptions {
            engine.subscribe(s);
        }
        if clustering {
            engine.subscribe(Subscription::tag(format!("{RETRY_TOPIC_PREFIX}{group}"), "*"));
        }
        engine.start(runner).await;
        Ok(PushConsumer { engine, tracer })
    }
}

//! Configuring and connecting a [`Producer`].

use std::sync::Arc;
use std::time::Duration;

use super::fault::FaultTolerance;
use super::select::RoundRobin;
use super::send::SendLimits;
use super::transaction::{self, TransactionChecker};
use super::{Inner, Producer, DEFAULT_PRODUCER_GROUP};
use crate::core::{ClientCore, ClientOptions};
use crate::error::{ClientError, Result};
use crate::trace::{Tracer, DEFAULT_TRACE_TOPIC};

/// Configures a [`Producer`].
#[derive(Debug, Clone)]
pub struct ProducerBuilder {
    options: ClientOptions,
    group: String,
    retries: u32,
    limits: SendLimits,
    fault_avoidance: bool,
    default_topic_queues: i32,
    trace_topic: Option<String>,
}

impl Default for ProducerBuilder {
    fn default() -> Self {
        ProducerBuilder {
            options: ClientOptions::default(),
            group: DEFAULT_PRODUCER_GROUP.to_owned(),
            retries: 2,
            limits: SendLimits { max_message_size: 4 * 1024 * 1024, compress_over: 4096 },
            fault_avoidance: true,
            default_topic_queues: 4,
            trace_topic: None,
        }
    }
}

impl ProducerBuilder {
    crate::core::client_setters!(options);

    /// The producer group (needed for transactions; shown by `rmqadmin`).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// Timeout of one send attempt (default 3 s).
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Extra attempts, on another broker when possible, after a failed send (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Largest body accepted (default 4 MiB, as the broker's `maxMessageSize`).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.limits.max_message_size = bytes;
        self
    }

    /// Bodies at least this long are zlib-compressed (default 4 KiB, as the Java client).
    pub fn compress_over(mut self, bytes: usize) -> Self {
        self.limits.compress_over = bytes;
        self
    }

    /// Whether slow or failed brokers are avoided for a while (default on).
    pub fn fault_avoidance(mut self, enabled: bool) -> Self {
        self.fault_avoidance = enabled;
        self
    }

    /// Queues of a topic the broker auto-creates on the first send (default 4).
    pub fn default_topic_queues(mut self, n: i32) -> Self {
        self.default_topic_queues = n.clamp(1, 1024);
        self
    }

    /// Traces every send (Java `enableMsgTrace`): after the broker accepts a message, a `Pub`
    /// record goes to `RMQ_SYS_TRACE_TOPIC`, in the background and batched (see
    /// [`crate::trace`]); `mqadmin queryMsgTraceById` then shows it. Off by default.
    pub fn enable_trace(self) -> Self {
        self.trace_topic(DEFAULT_TRACE_TOPIC)
    }

    /// Like [`enable_trace`](Self::enable_trace), to a custom trace topic (Java
    /// `customizedTraceTopic`).
    pub fn trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.trace_topic = Some(topic.into());
        self
    }

    /// Connects like [`build`](Self::build) and answers the broker's checks of unresolved
    /// transactions with `checker`, so that [`Producer::send_in_transaction`] can be used.
    pub async fn build_transactional<C: TransactionChecker>(self, checker: C) -> Result<Producer> {
        let producer = self.build().await?;
        let core = Arc::clone(&producer.inner.core);
        tokio::spawn(transaction::answer_checks(core, producer.inner.group.clone(), checker));
        Ok(producer)
    }

    /// Connects to the NameServers and registers the producer group.
    pub async fn build(self) -> Result<Producer> {
        rmq_remoting::message::validate_group(&self.group).map_err(ClientError::Config)?;
        let tracer = match self.trace_topic {
            Some(topic) => Some(Tracer::start(&self.options, &self.group, "PRODUCE", topic).await?),
            None => None,
        };
        let core = ClientCore::start(self.options).await?;
        if let Ok(mut regs) = core.registrations.lock() {
            regs.producer_groups.push(self.group.clone());
        }
        Ok(Producer {
            inner: Arc::new(Inner {
                core,
                group: self.group,
                retries: self.retries,
                limits: self.limits,
                faults: self.fault_avoidance.then(FaultTolerance::default),
                round_robin: RoundRobin::default(),
                default_topic_queues: self.default_topic_queues,
                tracer,
            }),
        })
    }
}

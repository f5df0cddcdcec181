//! What the push and pull consumer builders share: the group and how it consumes, their setters
//! (one macro, so both builders read the same), and turning them into a running [`Engine`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::message::validate_group;

use super::engine::{Engine, Settings};
use super::offsets::{OffsetBackend, OffsetStore};
use super::{Allocation, ConsumeFrom, MessageModel};
use crate::core::{ClientCore, ClientOptions};
use crate::error::{ClientError, Result};

/// Settings common to both consumers.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerOptions {
    pub client: ClientOptions,
    pub group: String,
    pub model: MessageModel,
    pub allocation: Allocation,
    pub consume_from: ConsumeFrom,
    pub pull_batch: i32,
    pub max_in_flight_messages: usize,
    pub rebalance_interval: Duration,
    pub commit_interval: Duration,
    pub offset_dir: Option<PathBuf>,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            client: ClientOptions::default(),
            group: String::new(),
            model: MessageModel::Clustering,
            allocation: Allocation::Average,
            consume_from: ConsumeFrom::LastOffset,
            pull_batch: 32,
            max_in_flight_messages: 1000,
            rebalance_interval: Duration::from_secs(20),
            commit_interval: Duration::from_secs(5),
            offset_dir: None,
        }
    }
}

/// How a particular consumer kind runs.
pub(crate) struct Mode {
    pub orderly: bool,
    pub passive: bool,
    pub auto_commit: bool,
    pub max_in_flight_bytes: usize,
}

impl ConsumerOptions {
    /// Validates the group, connects, and builds the (not yet started) engine.
    pub async fn into_engine(self, mode: Mode) -> Result<Arc<Engine>> {
        validate_group(&self.group).map_err(ClientError::Config)?;
        let core = ClientCore::start(self.client).await?;
        let backend = match self.model {
            MessageModel::Clustering => OffsetBackend::Broker,
            MessageModel::Broadcasting => {
                let dir = self.offset_dir.unwrap_or_else(default_offset_dir);
                OffsetBackend::LocalFile(dir.join(&core.client_id).join(&self.group).join("offsets.json"))
            }
        };
        let settings = Settings {
            group: self.group,
            model: self.model,
            allocation: self.allocation,
            consume_from: self.consume_from,
            orderly: mode.orderly,
            passive: mode.passive,
            pull_batch: self.pull_batch,
            max_in_flight_messages: self.max_in_flight_messages,
            max_in_flight_bytes: mode.max_in_flight_bytes,
            rebalance_interval: self.rebalance_interval,
            commit_interval: self.commit_interval,
            auto_commit: mode.auto_commit,
        };
        Ok(Engine::new(core, settings, OffsetStore::new(backend)))
    }
}

/// Java's `rocketmq.client.localOffsetStoreDir` default.
fn default_offset_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".rocketmq_offsets")
}

/// The setters of the [`ConsumerOptions`] at `self.opts`, shared by both consumer builders.
macro_rules! consumer_setters {
    () => {
        $crate::core::client_setters!(opts.client);

        /// The consumer group (required).
        pub fn group(mut self, group: impl Into<String>) -> Self {
            self.opts.group = group.into();
            self
        }

        /// Clustering (default) or broadcasting.
        pub fn message_model(mut self, model: $crate::consumer::MessageModel) -> Self {
            self.opts.model = model;
            self
        }

        /// How the group's queues are shared among its members (default: average).
        pub fn allocation(mut self, allocation: $crate::consumer::Allocation) -> Self {
            self.opts.allocation = allocation;
            self
        }

        /// Where a group without committed offsets starts (default: the last offset).
        pub fn consume_from(mut self, from: $crate::consumer::ConsumeFrom) -> Self {
            self.opts.consume_from = from;
            self
        }

        /// Messages per pull request (default 32).
        pub fn pull_batch_size(mut self, n: i32) -> Self {
            self.opts.pull_batch = n.clamp(1, 1024);
            self
        }

        /// Flow control: a queue stops pulling while this many of its messages are in flight
        /// (default 1000).
        pub fn max_in_flight_messages(mut self, n: usize) -> Self {
            self.opts.max_in_flight_messages = n.max(1);
            self
        }

        /// Rebalance interval (default 20 s; also the orderly lock renewal interval).
        pub fn rebalance_interval(mut self, d: std::time::Duration) -> Self {
            self.opts.rebalance_interval = d;
            self
        }

        /// Offset commit interval (default 5 s).
        pub fn commit_interval(mut self, d: std::time::Duration) -> Self {
            self.opts.commit_interval = d;
            self
        }

        /// Timeout of one request (default 3 s).
        pub fn request_timeout(mut self, d: std::time::Duration) -> Self {
            self.opts.client.request_timeout = d;
            self
        }

        /// Directory of broadcast offsets (default `~/.rocketmq_offsets`, as Java; the file is
        /// `<dir>/<client id>/<group>/offsets.json`, so set an instance name for it to survive
        /// restarts).
        pub fn offset_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
            self.opts.offset_dir = Some(dir.into());
            self
        }
    };
}
pub(crate) use consumer_setters;

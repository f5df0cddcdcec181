//! Consumers: [`PushConsumer`] (the client pulls with long polling and calls your listener) and
//! [`PullConsumer`] (you poll), both built on one engine that rebalances a group's queues among
//! its members, runs one pull loop per owned queue and commits offsets.

mod allocate;
mod broker_api;
mod engine;
mod offsets;
mod options;
mod process_queue;
mod pull;
mod pull_loop;
mod push;
mod subscription;

pub use allocate::Allocation;
pub use pull::{PullConsumer, PullConsumerBuilder};
pub use push::{ConsumeStatus, MessageListener, OrderlyListener, OrderlyStatus, PushConsumer, PushConsumerBuilder};
pub use subscription::{ExpressionType, Subscription};

/// How a group's members share messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageModel {
    /// Each message goes to one member of the group (offsets kept by the broker).
    #[default]
    Clustering,
    /// Each message goes to every member (offsets kept locally by each member).
    Broadcasting,
}

impl MessageModel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageModel::Clustering => "CLUSTERING",
            MessageModel::Broadcasting => "BROADCASTING",
        }
    }
}

/// Where a group with no committed offset starts in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFrom {
    /// After the last message present when the group first starts (Java's default).
    #[default]
    LastOffset,
    /// From the first message still stored.
    FirstOffset,
    /// From the first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumeFrom::LastOffset => "CONSUME_FROM_LAST_OFFSET",
            ConsumeFrom::FirstOffset => "CONSUME_FROM_FIRST_OFFSET",
            ConsumeFrom::Timestamp(_) => "CONSUME_FROM_TIMESTAMP",
        }
    }
}

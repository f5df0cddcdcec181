//! rmq-client: an async Rust producer/consumer SDK for rmq and Apache RocketMQ (4.x/5.x remoting
//! protocol), and the `rmqadmin` CLI.
//!
//! - [`Producer`]: sends with retries on another broker and latency-based fault avoidance,
//!   ordered sends by key, batches, one-way sends, compression of large bodies.
//! - [`PushConsumer`]: clustering or broadcast consumption with concurrent or orderly listeners,
//!   at-least-once delivery with offset commits, flow control, retries through `%RETRY%` topics.
//! - [`PullConsumer`]: subscribe (with rebalancing) or assign queues, poll, seek, commit.
//! - [`Allocation`]: how a group's queues are shared among its consumers.
//! - Request-reply ([`Producer::request`], [`Producer::reply_to`]), RocketMQ 5 timer messages
//!   ([`Message::with_delay`], [`Message::with_delivery_time`]) and opt-in message tracing in
//!   Apache's format ([`trace`]).
//!
//! NameServers come from a list, the `NAMESRV_ADDR` variable or an HTTP address server
//! ([`NameServerSource`]). Every call has a timeout; every failure is a [`ClientError`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), rmq_client::ClientError> {
//! use rmq_client::{ConsumeStatus, Message, Producer, PushConsumer};
//!
//! let producer = Producer::builder().name_server("127.0.0.1:9876").build().await?;
//! producer.send(Message::new("greetings", "hello").with_tags("en")).await?;
//!
//! let consumer = PushConsumer::builder()
//!     .name_server("127.0.0.1:9876")
//!     .group("greeters")
//!     .subscribe("greetings", "en || fr")
//!     .start(|batch: Vec<rmq_client::ReceivedMessage>| async move {
//!         for m in &batch {
//!             println!("{}", String::from_utf8_lossy(&m.body));
//!         }
//!         ConsumeStatus::Success
//!     })
//!     .await?;
//! consumer.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod consumer;
mod core;
pub mod error;
pub mod message;
pub mod namesrv;
pub mod producer;
pub mod route;
pub mod trace;

pub use crate::core::ClientOptions;
pub use admin::Admin;
pub use consumer::{
    Allocation, ConsumeFrom, ConsumeStatus, MessageModel, OrderlyStatus, PullConsumer, PushConsumer, Subscription,
};
pub use error::{ClientError, Result};
pub use message::{Message, MessageQueue, ReceivedMessage};
pub use namesrv::NameServerSource;
pub use producer::{Producer, ProducerBuilder, SendResult, SendStatus, TransactionState};
pub use rmq_remoting::acl::Credentials;
pub use rmq_remoting::rpc::tls::ClientTls;

//! The rmq broker: a RocketMQ-compatible message broker (wire-compatible with the Apache Java
//! client and mqadmin), storing messages with [`rmq_store`].
//!
//! # Layout
//! - [`config`]: typed configuration loaded from Apache's `broker.conf` keys.
//! - [`runtime`]: the shared [`runtime::Broker`] state, listeners, background tasks, shutdown.
//! - [`processor`]: one exhaustive `match` from request code to the processor of its family.
//! - [`meta`]: topics, subscription groups and consumer offsets, persisted as Apache's JSON files.
//! - [`filter`]: tag and SQL92 subscription filters.
//! - [`acl`]: ACL 1.0 (`plain_acl.yml`): who may send which request, checked before dispatch.
//! - [`clients`]: connected producers and consumers, heartbeats and expiry.
//! - [`pull_hold`]: long polling.
//! - [`locks`]: queue locks of orderly consumers.
//! - [`namesrv`]: registration with the NameServers.
//! - [`grpc`]: the gRPC admin API (replication status).
//! - [`ha`]: master/slave replication: the HA transfer, slave acknowledgements, `SYNC_MASTER` waits.
//! - [`metrics`]: Apache 5.3.3's metrics on `/metrics`, and `/healthz`, `/readyz`.
//! - [`transaction`]: half messages, commit/rollback and check-back.
//! - [`schedule`]: delay levels (`SCHEDULE_TOPIC_XXXX`) and their delivery.

pub mod acl;
pub mod clients;
pub mod config;
pub mod filter;
pub mod grpc;
pub mod ha;
pub mod locks;
pub mod meta;
pub mod metrics;
pub mod namesrv;
pub mod outbound;
pub mod processor;
pub mod pull_hold;
pub mod runtime;
pub mod schedule;
pub mod transaction;

pub use config::BrokerConfig;
pub use runtime::{bind, run, Broker, Listeners, OpenError};

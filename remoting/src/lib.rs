//! The RocketMQ remoting protocol, shared by the NameServer, the broker, the client and the tools.
//!
//! # Layout
//! - [`frame`]: the length-prefixed frame and its `tokio_util` codec (`check` before `parse`).
//! - [`command`]: [`RemotingCommand`], language and serialize types, flags, opaques.
//! - [`header`]: the JSON and ROCKETMQ binary header serializations.
//! - [`code`]: [`RequestCode`] and [`ResponseCode`], each generated from one table.
//! - [`protocol`]: typed custom headers (ext fields) per family and the JSON bodies.
//! - [`message`]: properties strings, stored records (pull bodies), batch bodies, message ids.
//! - [`config`]: Apache-style properties files with typed lookups, shared by the binaries.
//! - [`acl`]: ACL request signing (Apache's `AclClientRPCHook`), shared by signer and verifier.
//! - [`rpc`]: connections, the server accept loop with admission control, the pooled client.
//!
//! This crate knows nothing about brokers or name servers: it moves commands.

pub mod acl;
pub mod code;
pub mod command;
pub mod config;
pub mod error;
pub mod ext_fields;
pub mod frame;
pub mod header;
pub mod message;
pub mod protocol;
pub mod rpc;

pub use code::{RequestCode, ResponseCode};
pub use command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
pub use error::Error;

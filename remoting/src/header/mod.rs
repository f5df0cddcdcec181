//! The two header serializations of a [`RemotingCommand`](crate::RemotingCommand): fastjson-style
//! JSON and the compact ROCKETMQ binary form. Both accept absent fields (only `code` is required).

pub mod binary;
pub mod json;
mod json_scan;

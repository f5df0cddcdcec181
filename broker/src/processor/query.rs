//! Message lookups: VIEW_MESSAGE_BY_ID (33) by CommitLog offset, and QUERY_MESSAGE (12) by key or
//! by UNIQ_KEY through the store's index.

use bytes::BytesMut;
use rmq_remoting::message::{keys, StoredMessage};
use rmq_remoting::protocol::consumer::{QueryMessageRequest, QueryMessageResponse, ViewMessageRequest};
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, ResponseCode};

use super::{acl_refusal, bad_header};
use crate::acl::{Perm, Resource};
use crate::runtime::Broker;
use crate::schedule::{delay::SCHEDULE_TOPIC, timer::TIMER_TOPIC};
use crate::transaction::HALF_TOPIC;

/// Results of a unique-key query (`defaultQueryMaxNum`).
const UNIQUE_KEY_QUERY_MAX: usize = 32;

/// VIEW_MESSAGE_BY_ID: the raw stored record at a CommitLog offset. With ACL on, the account
/// needs `SUB` on the record's topic.
pub fn view_by_id(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ViewMessageRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    match broker.store.message_at(h.offset) {
        Some(record) => {
            if broker.acl.is_some() {
                let Some(topic) = viewed_topic(&record) else {
                    return RemotingCommand::error(req, ResponseCode::SystemError, "the record does not decode");
                };
                if let Some(refused) = acl_refusal(broker, conn, req, Resource::topic(&topic), Perm::SUB) {
                    return refused;
                }
            }
            RemotingCommand::success(req).with_body(record)
        }
        None => RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("can not find message by the offset, {}", h.offset),
        ),
    }
}

/// The topic a record belongs to for the ACL: a delayed, timer or half message parked under a
/// system topic counts as its real topic.
fn viewed_topic(record: &[u8]) -> Option<String> {
    let (message, _) = StoredMessage::decode(record).ok()?;
    let parked = [SCHEDULE_TOPIC, TIMER_TOPIC, HALF_TOPIC].contains(&message.topic.as_str());
    match message.properties.get(keys::REAL_TOPIC) {
        Some(real) if parked => Some(real.clone()),
        _ => Some(message.topic),
    }
}

/// QUERY_MESSAGE: records whose KEYS contain `key` (or whose UNIQ_KEY is `key` when the
/// `_UNIQUE_KEY_QUERY` ext field is true) stored within the time range.
pub fn query_by_key(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<QueryMessageRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let unique = req.ext("_UNIQUE_KEY_QUERY").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let max = if unique { UNIQUE_KEY_QUERY_MAX } else { usize::try_from(h.max_num).unwrap_or(0) };
    let result = broker.store.query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
    if result.records.is_empty() {
        return RemotingCommand::error(
            req,
            ResponseCode::QueryNotFound,
            "can not find message, maybe time range not correct",
        );
    }
    let mut body = BytesMut::with_capacity(result.records.iter().map(|r| r.len()).sum());
    for record in &result.records {
        body.extend_from_slice(record);
    }
    let header = QueryMessageResponse {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phy_offset,
    };
    RemotingCommand::success(req).with_header(&header).with_body(body.freeze())
}

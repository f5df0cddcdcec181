//! Message lookups: VIEW_MESSAGE_BY_ID (33) by CommitLog offset, and QUERY_MESSAGE (12) by key,
//! which needs the index store (not built yet: it answers QUERY_NOT_FOUND).

use rmq_remoting::protocol::consumer::{QueryMessageRequest, ViewMessageRequest};
use rmq_remoting::{RemotingCommand, ResponseCode};

use super::bad_header;
use crate::runtime::Broker;

/// VIEW_MESSAGE_BY_ID: the raw stored record at a CommitLog offset.
pub fn view_by_id(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ViewMessageRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    match broker.store.message_at(h.offset) {
        Some(record) => RemotingCommand::success(req).with_body(record),
        None => RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("can not find message by the offset, {}", h.offset),
        ),
    }
}

/// QUERY_MESSAGE: key lookups need the index store, which is not built yet.
pub fn query_by_key(_broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match req.header::<QueryMessageRequest>() {
        Ok(_) => RemotingCommand::error(
            req,
            ResponseCode::QueryNotFound,
            "can not find message, maybe time range not correct (message index is not available on this broker yet)",
        ),
        Err(e) => bad_header(req, e),
    }
}

//! Offsets: QUERY/UPDATE_CONSUMER_OFFSET (14/15), GET_MAX/MIN_OFFSET (30/31),
//! SEARCH_OFFSET_BY_TIMESTAMP (29) and GET_EARLIEST_MSG_STORETIME (32).

use rmq_remoting::protocol::consumer::{
    OffsetResponse, QueryConsumerOffsetRequest, QueueRequest, SearchOffsetRequest, TimestampResponse,
    UpdateConsumerOffsetRequest,
};
use rmq_remoting::{RemotingCommand, ResponseCode};
use rmq_store::Boundary;

use super::bad_header;
use crate::runtime::Broker;

fn offset_response(req: &RemotingCommand, offset: i64) -> RemotingCommand {
    RemotingCommand::success(req).with_header(&OffsetResponse { offset })
}

/// QUERY_CONSUMER_OFFSET: the committed offset; for a group with none, 0 when the queue still
/// starts at offset 0 (so a new group reads from the beginning, as Apache does while the first
/// message is in memory), otherwise QUERY_NOT_FOUND.
pub fn query_consumer_offset(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<QueryConsumerOffsetRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if let Some(offset) = broker.offsets.get(&h.consumer_group, &h.topic, h.queue_id) {
        return offset_response(req, offset);
    }
    let starts_at_zero =
        broker.store.min_offset(&h.topic, h.queue_id) <= 0 && broker.store.max_offset(&h.topic, h.queue_id) > 0;
    if h.set_zero_if_not_found != Some(false) && starts_at_zero {
        return offset_response(req, 0);
    }
    RemotingCommand::error(
        req,
        ResponseCode::QueryNotFound,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    )
}

/// UPDATE_CONSUMER_OFFSET.
pub fn update_consumer_offset(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<UpdateConsumerOffsetRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if broker.offsets.has_reset(&h.consumer_group, &h.topic, h.queue_id) {
        // As Apache: the consumer has not seen the reset yet, so its commit is stale.
        return RemotingCommand::success(req).with_remark("Offset has been previously reset");
    }
    broker.offsets.commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    RemotingCommand::success(req)
}

/// GET_MAX_OFFSET.
pub fn max_offset(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match req.header::<QueueRequest>() {
        Ok(h) => offset_response(req, broker.store.max_offset(&h.topic, h.queue_id)),
        Err(e) => bad_header(req, e),
    }
}

/// GET_MIN_OFFSET.
pub fn min_offset(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match req.header::<QueueRequest>() {
        Ok(h) => offset_response(req, broker.store.min_offset(&h.topic, h.queue_id)),
        Err(e) => bad_header(req, e),
    }
}

/// SEARCH_OFFSET_BY_TIMESTAMP.
pub fn search_by_timestamp(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<SearchOffsetRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let boundary = match h.boundary_type.as_deref() {
        Some(b) if b.eq_ignore_ascii_case("upper") => Boundary::Upper,
        _ => Boundary::Lower,
    };
    offset_response(req, broker.store.offset_by_time(&h.topic, h.queue_id, h.timestamp, boundary))
}

/// GET_EARLIEST_MSG_STORETIME.
pub fn earliest_store_time(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match req.header::<QueueRequest>() {
        Ok(h) => {
            let timestamp = broker.store.earliest_store_time(&h.topic, h.queue_id).unwrap_or(-1);
            RemotingCommand::success(req).with_header(&TimestampResponse { timestamp })
        }
        Err(e) => bad_header(req, e),
    }
}

//! Orderly consumption: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42).

use std::time::Instant;

use rmq_remoting::protocol::body::{from_json, to_json, LockBatchRequest, LockBatchResponse};
use rmq_remoting::{RemotingCommand, ResponseCode};

use crate::runtime::Broker;

fn bad_body(req: &RemotingCommand, e: serde_json::Error) -> RemotingCommand {
    RemotingCommand::error(req, ResponseCode::SystemError, format!("bad lock body: {e}"))
}

/// LOCK_BATCH_MQ: answers the queues the client now holds.
pub fn lock(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let request: LockBatchRequest = match from_json(&req.body) {
        Ok(b) => b,
        Err(e) => return bad_body(req, e),
    };
    let lock_ok_mq_set =
        broker.locks.lock(&request.consumer_group, &request.client_id, &request.mq_set, Instant::now());
    RemotingCommand::success(req).with_body(to_json(&LockBatchResponse { lock_ok_mq_set }))
}

/// UNLOCK_BATCH_MQ.
pub fn unlock(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match from_json::<LockBatchRequest>(&req.body) {
        Ok(request) => {
            broker.locks.unlock(&request.consumer_group, &request.client_id, &request.mq_set);
            RemotingCommand::success(req)
        }
        Err(e) => bad_body(req, e),
    }
}

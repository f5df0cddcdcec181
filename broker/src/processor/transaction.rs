//! END_TRANSACTION (37): the producer's commit or rollback of a half message (usually one-way,
//! so errors are only logged by the sender's absence of a reply).

use rmq_remoting::message::sys_flag;
use rmq_remoting::protocol::send::EndTransactionRequest;
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, ResponseCode};
use tracing::{debug, warn};

use super::{acl_refusal, bad_header};
use crate::acl::{Perm, Resource};
use crate::ha::fence::NotWritable;
use crate::runtime::Broker;
use crate::transaction;

/// Handles END_TRANSACTION. With ACL on, the account needs `PUB` on the half message's real
/// topic, whatever topic the request names.
pub fn end_transaction(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<EndTransactionRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let commit = match h.commit_or_rollback {
        sys_flag::TRANSACTION_COMMIT => true,
        sys_flag::TRANSACTION_ROLLBACK => false,
        _ => {
            debug!(msg_id = %h.msg_id, "transaction state unknown; the broker will check back");
            return RemotingCommand::success(req);
        }
    };
    if broker.acl.is_some() {
        let topic = transaction::real_topic(broker, h.commit_log_offset).unwrap_or_default();
        if let Some(refused) = acl_refusal(broker, conn, req, Resource::topic(&topic), Perm::PUB) {
            return refused;
        }
    }
    let _writing = match broker.replication.begin_write() {
        Ok(guard) => guard,
        Err(why) => {
            // Apache answers a slave SLAVE_NOT_AVAILABLE.
            let code = match why {
                NotWritable::Slave => ResponseCode::SlaveNotAvailable,
                NotWritable::Fenced | NotWritable::LeaseExpired => ResponseCode::ServiceNotAvailable,
            };
            return RemotingCommand::error(req, code, why.to_string());
        }
    };
    match transaction::end(broker, h.commit_log_offset, &h.producer_group, commit) {
        Ok(()) => RemotingCommand::success(req),
        Err(why) => {
            warn!(msg_id = %h.msg_id, %why, "END_TRANSACTION failed");
            RemotingCommand::error(req, ResponseCode::SystemError, why)
        }
    }
}

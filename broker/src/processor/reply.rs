//! Request-reply (the Java client's `request()`): SEND_REPLY_MESSAGE (324) / _V2 (325) store the
//! reply like a send, then push it to the requesting client named in `REPLY_TO_CLIENT` with
//! PUSH_REPLY_MESSAGE_TO_CLIENT (326).

use std::time::Duration;

use rmq_remoting::message::{decode_properties, keys};
use rmq_remoting::protocol::send::ReplyMessageExtras;
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tracing::debug;

use super::send;
use crate::meta::now_ms;
use crate::runtime::Broker;

const PUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// Handles SEND_REPLY_MESSAGE(_V2).
pub async fn reply(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let header = match send::decode_header(req) {
        Ok(h) => h,
        Err(e) => return super::bad_header(req, e),
    };
    let stored = send::send(broker, conn, req).await;
    if stored.response_code() != ResponseCode::Success {
        return stored;
    }
    let props = decode_properties(header.properties.as_deref().unwrap_or(""));
    let Some(requester) = props.get(keys::REPLY_TO_CLIENT) else {
        return RemotingCommand::error(req, ResponseCode::MessageIllegal, "the reply has no REPLY_TO_CLIENT property");
    };
    let Some(target) = broker.clients.producer_channel_of_client(requester) else {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("the requester {requester} of the reply is not online"),
        );
    };
    let extras = ReplyMessageExtras {
        born_host: conn.peer_addr().to_string(),
        store_host: broker.config.network.store_host().to_string(),
        store_timestamp: now_ms(),
    };
    let push = RemotingCommand::request(RequestCode::PushReplyMessageToClient)
        .with_header(&header)
        .with_header(&extras)
        .with_body(req.body.clone());
    match target.request(push, PUSH_TIMEOUT).await {
        Ok(resp) if resp.response_code() == ResponseCode::Success => stored,
        Ok(resp) => {
            debug!(%requester, code = resp.code, "the requester refused the reply");
            RemotingCommand::error(
                req,
                ResponseCode::SystemError,
                format!("push reply to {requester} failed: {:?}", resp.remark),
            )
        }
        Err(e) => {
            RemotingCommand::error(req, ResponseCode::SystemError, format!("push reply to {requester} failed: {e}"))
        }
    }
}

//! Requests a broker sends to the client over the client's own connection: "the consumers of
//! your group changed" (rebalance now), "reset your offsets" (mqadmin `resetOffsetByTime`) and
//! "what is the state of this transaction" are turned into [`PushEvent`]s that the producer or
//! consumer listening for them handles; "here is the reply to your request" goes straight to the
//! waiting request ([`super::reply`]).

use rmq_remoting::protocol::admin::ResetOffsetRequest;
use rmq_remoting::protocol::body::{from_fastjson, mq_entries};
use rmq_remoting::protocol::send::CheckTransactionStateRequest;
use rmq_remoting::rpc::{not_supported, Connection, Handler};
use rmq_remoting::{RemotingCommand, RequestCode};
use tokio::sync::broadcast;
use tracing::{debug, warn};

use super::reply::{self, ReplyWaiters};
use crate::message::MessageQueue;

/// What a broker asked of this client.
#[derive(Debug, Clone)]
pub(crate) enum PushEvent {
    /// The consumers of `group` changed.
    ConsumerIdsChanged { group: String },
    /// Move `group`'s offsets of `topic` to these values.
    ResetOffset { group: String, topic: String, offsets: Vec<(MessageQueue, i64)> },
    /// Report the state of a half message (answered with END_TRANSACTION to `broker_addr`).
    CheckTransaction { broker_addr: String, header: CheckTransactionStateRequest, body: bytes::Bytes },
}

/// The client side of the connection's request handler.
pub(crate) struct PushHandler {
    events: broadcast::Sender<PushEvent>,
    /// Requests of [`crate::Producer::request`] waiting for their reply.
    pub replies: ReplyWaiters,
}

impl Default for PushHandler {
    fn default() -> Self {
        PushHandler { events: broadcast::channel(256).0, replies: ReplyWaiters::default() }
    }
}

impl PushHandler {
    /// Receives the events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PushEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: PushEvent) {
        // No receiver simply means nobody in this client cares (e.g. a producer-only client).
        let _ = self.events.send(event);
    }
}

impl Handler for PushHandler {
    async fn handle(&self, conn: Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        match request.request_code() {
            RequestCode::NotifyConsumerIdsChanged => {
                let group = request.ext("consumerGroup").unwrap_or_default().to_owned();
                debug!(%group, "broker says the consumers of the group changed");
                self.emit(PushEvent::ConsumerIdsChanged { group });
                None
            }
            RequestCode::ResetConsumerClientOffset => {
                let Ok(header) = request.header::<ResetOffsetRequest>() else {
                    warn!("RESET_CONSUMER_CLIENT_OFFSET without a valid header");
                    return Some(RemotingCommand::success(&request));
                };
                #[derive(serde::Deserialize, Default)]
                #[serde(default)]
                struct Body {
                    #[serde(rename = "offsetTable")]
                    offset_table: std::collections::BTreeMap<String, i64>,
                }
                let body: Body = from_fastjson(&request.body).unwrap_or_default();
                let offsets = mq_entries(body.offset_table);
                self.emit(PushEvent::ResetOffset { group: header.group, topic: header.topic, offsets });
                Some(RemotingCommand::success(&request))
            }
            RequestCode::CheckTransactionState => {
                match request.header::<CheckTransactionStateRequest>() {
                    Ok(header) => self.emit(PushEvent::CheckTransaction {
                        broker_addr: conn.peer_addr().to_string(),
                        header,
                        body: request.body.clone(),
                    }),
                    Err(e) => warn!(error = %e, "CHECK_TRANSACTION_STATE without a valid header"),
                }
                None
            }
            RequestCode::PushReplyMessageToClient => {
                let arrived = crate::producer::now_ms();
                match reply::decode_push(&request, arrived) {
                    Ok(msg) => {
                        self.replies.deliver(msg);
                        Some(RemotingCommand::success(&request))
                    }
                    Err(e) => {
                        warn!(error = %e, "PUSH_REPLY_MESSAGE_TO_CLIENT could not be decoded");
                        Some(RemotingCommand::error(
                            &request,
                            rmq_remoting::ResponseCode::SystemError,
                            "process reply message fail",
                        ))
                    }
                }
            }
            _ => Some(not_supported(&request)),
        }
    }
}

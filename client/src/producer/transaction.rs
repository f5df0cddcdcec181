//! Transactional messages: a half message is stored invisible to consumers, the local
//! transaction runs, and END_TRANSACTION commits or rolls it back. When the outcome was unknown
//! (or the producer died), the broker later asks a live producer of the group
//! (CHECK_TRANSACTION_STATE) and the [`TransactionChecker`] answers.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use rmq_remoting::message::{decode_offset_msg_id, keys, StoredMessage};
use rmq_remoting::protocol::send::EndTransactionRequest;
use rmq_remoting::{RemotingCommand, RequestCode};
use tracing::{debug, warn};

use crate::core::push::PushEvent;
use crate::core::ClientCore;
use crate::error::Result;
use crate::message::ReceivedMessage;

/// A local transaction's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Make the message visible.
    Commit,
    /// Discard the message.
    Rollback,
    /// Not known yet: the broker will ask the checker later.
    Unknown,
}

impl TransactionState {
    /// The `commitOrRollback` value of END_TRANSACTION.
    fn wire(self) -> i32 {
        match self {
            TransactionState::Commit => rmq_remoting::message::sys_flag::TRANSACTION_COMMIT,
            TransactionState::Rollback => rmq_remoting::message::sys_flag::TRANSACTION_ROLLBACK,
            TransactionState::Unknown => rmq_remoting::message::sys_flag::TRANSACTION_NOT,
        }
    }
}

/// Answers the broker's check of a half message left unresolved. Implemented for
/// `Fn(ReceivedMessage) -> impl Future<Output = TransactionState>` closures.
pub trait TransactionChecker: Send + Sync + 'static {
    /// The state of the local transaction that sent `msg`.
    fn check(&self, msg: ReceivedMessage) -> impl Future<Output = TransactionState> + Send;
}

impl<F, Fut> TransactionChecker for F
where
    F: Fn(ReceivedMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TransactionState> + Send,
{
    fn check(&self, msg: ReceivedMessage) -> impl Future<Output = TransactionState> + Send {
        self(msg)
    }
}

/// What END_TRANSACTION refers to.
pub(crate) struct HalfMessage<'a> {
    pub broker_addr: &'a str,
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_offset: i64,
    pub offset_msg_id: &'a str,
    pub msg_id: &'a str,
    pub transaction_id: Option<&'a str>,
}

/// Tells the broker the outcome of a half message (one-way, as the Java client).
pub(crate) async fn end(
    core: &ClientCore,
    half: HalfMessage<'_>,
    state: TransactionState,
    from_check: bool,
) -> Result<()> {
    let commit_log_offset = decode_offset_msg_id(half.offset_msg_id)
        .map_err(|e| crate::error::ClientError::protocol(half.broker_addr, format!("bad offset msg id: {e}")))?
        .1;
    let header = EndTransactionRequest {
        topic: Some(half.topic.to_owned()),
        producer_group: half.group.to_owned(),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset,
        commit_or_rollback: state.wire(),
        from_transaction_check: Some(from_check),
        msg_id: half.msg_id.to_owned(),
        transaction_id: half.transaction_id.map(str::to_owned),
    };
    let request = RemotingCommand::request(RequestCode::EndTransaction).with_header(&header).into_oneway();
    core.oneway(half.broker_addr, request).await
}

/// Answers the broker's checks until the client shuts down.
pub(crate) async fn answer_checks<C: TransactionChecker>(core: Arc<ClientCore>, group: String, checker: C) {
    let mut events = core.push.subscribe();
    loop {
        let event = tokio::select! {
            _ = core.shutdown.cancelled() => return,
            e = events.recv() => e,
        };
        let (broker_addr, header, body) = match event {
            Ok(PushEvent::CheckTransaction { broker_addr, header, body }) => (broker_addr, header, body),
            Ok(_) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                warn!(missed = n, "missed transaction checks; the broker asks again");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let msg = match StoredMessage::decode(&body) {
            Ok((stored, _)) => match ReceivedMessage::from_stored(stored, "") {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "undecodable message in a transaction check");
                    continue;
                }
            },
            Err(e) => {
                warn!(error = %e, "undecodable message in a transaction check");
                continue;
            }
        };
        let state = match AssertUnwindSafe(checker.check(msg.clone())).catch_unwind().await {
            Ok(state) => state,
            Err(_) => {
                warn!(msg_id = %msg.msg_id, "transaction checker panicked; the broker asks again later");
                continue;
            }
        };
        debug!(msg_id = %msg.msg_id, ?state, "answering a transaction check");
        let uniq = msg.properties.get(keys::UNIQ_KEY).cloned().unwrap_or_else(|| msg.msg_id.clone());
        let offset_msg_id = header.offset_msg_id.clone().unwrap_or_else(|| msg.offset_msg_id.clone());
        let half = HalfMessage {
            broker_addr: &broker_addr,
            group: &group,
            topic: &msg.topic,
            queue_offset: header.tran_state_table_offset,
            offset_msg_id: &offset_msg_id,
            msg_id: &uniq,
            transaction_id: header.transaction_id.as_deref(),
        };
        if let Err(e) = end(&core, half, state, true).await {
            warn!(error = %e, "answering a transaction check failed; the broker asks again");
        }
    }
}

//! Request processing. [`dispatch`] is the one place that answers "who handles request code N":
//! an exhaustive `match` over [`RequestCode`], one processor module per family.

pub mod admin;
pub mod client;
pub mod client_config;
pub mod offset;
pub mod order;
pub mod pull;
pub mod query;
pub mod reply;
pub mod reset;
pub mod retry;
pub mod send;
mod stats;
pub mod transaction;

use std::net::SocketAddr;
use std::sync::Arc;

use rmq_remoting::protocol::HeaderError;
use rmq_remoting::rpc::{not_supported, Connection, Handler};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use tracing::{info, Instrument as _};

use crate::runtime::Broker;

/// Answers a request whose header did not decode.
pub fn bad_header(request: &RemotingCommand, err: HeaderError) -> RemotingCommand {
    RemotingCommand::error(request, ResponseCode::SystemError, err.to_string())
}

/// The span a request runs in, so every log line it causes names its request code, its client
/// (the connection's peer address, and Apache's client id once the connection sent a heartbeat
/// or the request names it) and the topic and group it is about. DEBUG level: with DEBUG off for
/// `rmq_broker` the macro returns a disabled span and reads no field.
/// `known_client_id` is asked only for an enabled span.
fn request_span(
    peer: SocketAddr,
    known_client_id: impl FnOnce() -> Option<String>,
    req: &RemotingCommand,
) -> tracing::Span {
    let span = tracing::debug_span!(
        "request",
        code = req.code,
        client = %peer,
        client_id = tracing::field::Empty,
        topic = tracing::field::Empty,
        group = tracing::field::Empty
    );
    if !span.is_disabled() {
        let named = req.ext_fields.get("clientId").or_else(|| req.ext_fields.get("clientID")).map(str::to_owned);
        if let Some(id) = named.or_else(known_client_id) {
            span.record("client_id", id.as_str());
        }
        if let Some(topic) = req.ext_fields.get("topic") {
            span.record("topic", topic);
        }
        let group = ["consumerGroup", "producerGroup", "group"].iter().find_map(|k| req.ext_fields.get(k));
        if let Some(group) = group {
            span.record("group", group);
        }
    }
    span
}

/// The remoting handler of the broker's listeners.
pub struct BrokerHandler {
    broker: Arc<Broker>,
}

impl BrokerHandler {
    /// A handler for `broker`.
    pub fn new(broker: Arc<Broker>) -> Self {
        BrokerHandler { broker }
    }
}

impl Handler for BrokerHandler {
    async fn handle(&self, conn: Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        let (code, oneway, start) = (request.code, request.is_oneway(), std::time::Instant::now());
        let span = request_span(conn.peer_addr(), || self.broker.clients.client_id_of(conn.id()), &request);
        if let Some(acl) = &self.broker.acl {
            if let Err(refusal) = acl.check(conn.peer_addr().ip(), &request) {
                let _entered = span.enter();
                info!(peer = %conn.peer_addr(), code, %refusal, "request refused by the ACL");
                return Some(RemotingCommand::error(&request, ResponseCode::NoPermission, refusal.to_string()));
            }
        }
        let routed = dispatch(&self.broker, conn, request).instrument(span);
        let (response, long_polling) = crate::metrics::rpc::scope(routed).await;
        let millis = start.elapsed().as_secs_f64() * 1000.0;
        let response_code = response.as_ref().map_or(0, |r| r.code);
        self.broker.metrics.rpc.observe(code, response_code, long_polling, oneway, millis);
        response
    }

    fn is_long_running(&self, code: i32) -> bool {
        matches!(RequestCode::from_value(code), RequestCode::PullMessage | RequestCode::LitePullMessage)
    }

    fn on_close(&self, conn: &Connection) {
        let broker = Arc::clone(&self.broker);
        let groups = broker.clients.remove_connection(conn.id());
        if !groups.is_empty() {
            tokio::spawn(async move {
                for group in groups {
                    client::notify_consumer_ids_changed(&broker, &group).await;
                }
            });
        }
    }
}

/// Runs a topic or group creation and records its time in Apache's creation histograms.
fn timed_create(
    broker: &Broker,
    req: &RemotingCommand,
    create: fn(&Broker, &RemotingCommand) -> RemotingCommand,
) -> RemotingCommand {
    let start = std::time::Instant::now();
    let response = create(broker, req);
    let millis = start.elapsed().as_secs_f64() * 1000.0;
    let success = response.code == ResponseCode::Success.value();
    if req.request_code() == RequestCode::UpdateAndCreateSubscriptiongroup {
        broker.metrics.record_group_create(success, millis);
    } else {
        broker.metrics.record_topic_create(req.ext_fields.get("topic").unwrap_or(""), success, millis);
    }
    response
}

/// The ACL's check of `perm` on `resource`, for a resource a processor learns from the store
/// (a half message's topic, a message looked up by its offset): the refusal to answer, or `None`
/// when allowed or when ACL is off.
pub fn acl_refusal(
    broker: &Broker,
    conn: &Connection,
    req: &RemotingCommand,
    resource: crate::acl::Resource,
    perm: crate::acl::Perm,
) -> Option<RemotingCommand> {
    let refusal = broker.acl.as_ref()?.check_resource(conn.peer_addr().ip(), req, resource, perm).err()?;
    info!(peer = %conn.peer_addr(), code = req.code, %refusal, "request refused by the ACL");
    Some(RemotingCommand::error(req, ResponseCode::NoPermission, refusal.to_string()))
}

/// Routes one request to its processor.
pub async fn dispatch(broker: &Broker, conn: Connection, req: RemotingCommand) -> Option<RemotingCommand> {
    use RequestCode as C;
    let response = match req.request_code() {
        C::SendMessage | C::SendMessageV2 | C::SendBatchMessage => send::send(broker, &conn, &req).await,
        C::PullMessage | C::LitePullMessage => return pull::pull(broker, &req).await,
        C::HeartBeat => client::heartbeat(broker, &conn, &req).await,
        C::UnregisterClient => client::unregister(broker, &conn, &req).await,
        C::GetConsumerListByGroup => client::consumer_list(broker, &req),
        C::CheckClientConfig => client_config::check(broker, &req),
        C::LockBatchMq => order::lock(broker, &req),
        C::ConsumerSendMsgBack => retry::send_back(broker, &req),
        C::SendReplyMessage | C::SendReplyMessageV2 => reply::reply(broker, &conn, &req).await,
        C::EndTransaction => transaction::end_transaction(broker, &conn, &req),
        C::InvokeBrokerToResetOffset => reset::reset_offset(broker, &req).await,
        C::DeleteExpiredCommitlog => {
            broker.store.clean_now();
            RemotingCommand::success(&req)
        }
        C::UnlockBatchMq => order::unlock(broker, &req),
        C::QueryConsumerOffset => offset::query_consumer_offset(broker, &req),
        C::UpdateConsumerOffset => offset::update_consumer_offset(broker, &req),
        C::GetMaxOffset => offset::max_offset(broker, &req),
        C::GetMinOffset => offset::min_offset(broker, &req),
        C::SearchOffsetByTimestamp => offset::search_by_timestamp(broker, &req),
        C::GetEarliestMsgStoretime => offset::earliest_store_time(broker, &req),
        C::ViewMessageById => query::view_by_id(broker, &conn, &req),
        C::QueryMessage => query::query_by_key(broker, &req),
        C::UpdateAndCreateTopic => timed_create(broker, &req, admin::create_topic),
        C::UpdateAndCreateTopicList => timed_create(broker, &req, admin::create_topic_list),
        C::DeleteTopicInBroker => admin::delete_topic(broker, &req),
        C::GetAllTopicConfig => admin::all_topic_config(broker, &req),
        C::GetTopicConfig => admin::topic_config(broker, &req),
        C::GetBrokerConfig => admin::broker_config(broker, &req),
        C::UpdateBrokerConfig => admin::update_broker_config(broker, &req),
        C::GetBrokerRuntimeInfo => stats::runtime_info(broker, &req),
        C::GetTopicStatsInfo => stats::topic_stats(broker, &req),
        C::GetConsumeStats => stats::consume_stats(broker, &req),
        C::GetConsumerConnectionList => stats::consumer_connections(broker, &req),
        C::GetProducerConnectionList => stats::producer_connections(broker, &req),
        C::QueryTopicConsumeByWho => stats::topic_consumed_by(broker, &req),
        C::QueryTopicsByConsumer => stats::topics_of_consumer(broker, &req),
        C::UpdateAndCreateSubscriptiongroup => timed_create(broker, &req, admin::create_group),
        C::GetAllSubscriptiongroupConfig => admin::all_group_config(broker, &req),
        C::GetAllConsumerOffset => RemotingCommand::success(&req).with_body(broker.offsets.to_json()),
        C::GetAllDelayOffset => RemotingCommand::success(&req).with_body(broker.delay.to_json()),
        C::DeleteSubscriptiongroup => admin::delete_group(broker, &req),
        C::GetSystemTopicListFromBroker => admin::system_topics(broker, &req),
        // Families built under later work (retry/DLQ, transactions, order locks, replication,
        // POP, ACL, controller mode) and legacy codes are answered as unsupported for now; the
        // connection stays open.
        C::QueryBrokerOffset
        | C::GetTopicConfigList
        | C::GetTopicNameList
        | C::TriggerDeleteFiles
        | C::CheckTransactionState
        | C::NotifyConsumerIdsChanged
        | C::GetClientConfig
        | C::UpdateAndCreateAclConfig
        | C::DeleteAclConfig
        | C::GetBrokerClusterAclInfo
        | C::UpdateGlobalWhiteAddrsConfig
        | C::GetBrokerClusterAclConfig
        | C::GetTimerCheckPoint
        | C::GetTimerMetrics
        | C::PutKvConfig
        | C::GetKvConfig
        | C::DeleteKvConfig
        | C::RegisterBroker
        | C::UnregisterBroker
        | C::GetRouteinfoByTopic
        | C::GetBrokerClusterInfo
        | C::WipeWritePermOfBroker
        | C::GetAllTopicListFromNameserver
        | C::SuspendConsumer
        | C::ResumeConsumer
        | C::ResetConsumerOffsetInConsumer
        | C::ResetConsumerOffsetInBroker
        | C::AdjustConsumerThreadPool
        | C::WhoConsumeTheMessage
        | C::DeleteTopicInNamesrv
        | C::RegisterTopicInNamesrv
        | C::GetKvlistByNamespace
        | C::ResetConsumerClientOffset
        | C::GetConsumerStatusFromClient
        | C::InvokeBrokerToGetConsumerStatus
        | C::GetTopicsByCluster
        | C::UpdateAndCreateSubscriptiongroupList
        | C::RegisterFilterServer
        | C::RegisterMessageFilterClass
        | C::QueryConsumeTimeSpan
        | C::GetSystemTopicListFromNs
        | C::CleanExpiredConsumequeue
        | C::GetConsumerRunningInfo
        | C::QueryCorrectionOffset
        | C::ConsumeMessageDirectly
        | C::GetUnitTopicList
        | C::GetHasUnitSubTopicList
        | C::GetHasUnitSubUnunitTopicList
        | C::CloneGroupOffset
        | C::ViewBrokerStatsData
        | C::CleanUnusedTopic
        | C::GetBrokerConsumeStats
        | C::UpdateNamesrvConfig
        | C::GetNamesrvConfig
        | C::QueryConsumeQueue
        | C::QueryDataVersion
        | C::ResumeCheckHalfMessage
        | C::PushReplyMessageToClient
        | C::AddWritePermOfBroker
        | C::GetAllProducerInfo
        | C::QuerySubscriptionByConsumer
        | C::GetSubscriptiongroupConfig
        | C::UpdateAndGetGroupForbidden
        | C::CheckRocksdbCqWriteProgress
        | C::ExportRocksdbConfigToJson
        | C::RecallMessage
        | C::QueryAssignment
        | C::SetMessageRequestMode
        | C::GetAllMessageRequestMode
        | C::UpdateAndCreateStaticTopic
        | C::GetBrokerMemberGroup
        | C::AddBroker
        | C::RemoveBroker
        | C::BrokerHeartbeat
        | C::NotifyMinBrokerIdChange
        | C::ExchangeBrokerHaInfo
        | C::GetBrokerHaStatus
        | C::ResetMasterFlushOffset
        | C::ControllerAlterSyncStateSet
        | C::ControllerElectMaster
        | C::ControllerRegisterBroker
        | C::ControllerGetReplicaInfo
        | C::ControllerGetMetadataInfo
        | C::ControllerGetSyncStateData
        | C::GetBrokerEpochCache
        | C::NotifyBrokerRoleChanged
        | C::UpdateControllerConfig
        | C::GetControllerConfig
        | C::CleanBrokerData
        | C::ControllerGetNextBrokerId
        | C::ControllerApplyBrokerId
        | C::AuthCreateUser
        | C::AuthUpdateUser
        | C::AuthDeleteUser
        | C::AuthGetUser
        | C::AuthListUser
        | C::AuthCreateAcl
        | C::AuthUpdateAcl
        | C::AuthDeleteAcl
        | C::AuthGetAcl
        | C::AuthListAcl
        | C::PopMessage
        | C::AckMessage
        | C::PeekMessage
        | C::ChangeMessageInvisibletime
        | C::Notification
        | C::PollingInfo
        | C::PopRollback
        | C::BatchAckMessage
        | C::Unknown(_) => not_supported(&req),
    };
    Some(response)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_of_a_request_carry_its_code_client_client_id_topic_and_group() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let mut req = RemotingCommand::request(RequestCode::PullMessage);
        req.ext_fields.insert("topic", "Orders");
        req.ext_fields.insert("consumerGroup", "billing");
        let peer: SocketAddr = "10.1.2.3:40000".parse().expect("addr");
        tracing::subscriber::with_default(subscriber, || {
            let _entered = request_span(peer, || Some("10.1.2.3@4242".to_owned()), &req).entered();
            tracing::warn!("something happened");
        });
        let out = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
        let fields = [
            "code=11",
            "client=10.1.2.3:40000",
            "client_id=\"10.1.2.3@4242\"",
            "topic=\"Orders\"",
            "group=\"billing\"",
            "something happened",
        ];
        for field in fields {
            assert!(out.contains(field), "{field} missing from: {out}");
        }
    }
}

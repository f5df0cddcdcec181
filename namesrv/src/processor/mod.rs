//! Request handling: [`Namesrv`] holds the NameServer state and answers every request code in
//! one exhaustive `match` ([`Namesrv::dispatch`]); the handlers live in one file per family.
//!
//! - `broker`: registration, unregistration, data-version queries, heartbeats, member groups.
//! - `route`: routes, cluster info, topic lists, topic deletion and registration, write perms.
//! - `kv_config`: the KV config requests.
//! - `config`: reading and updating the NameServer configuration at run time.

mod broker;
mod compressed;
mod config;
mod kv_config;
mod route;

use std::sync::{Arc, RwLock};

use rmq_remoting::protocol::HeaderError;
use rmq_remoting::rpc::{not_supported, Connection, Handler};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, info};

use crate::config::NamesrvConfig;
use crate::error::Error;
use crate::kv::KvStore;
use crate::metrics::NamesrvMetrics;
use crate::route::{RouteTable, UnitFilter};

/// Why a request failed; mapped to a response code in [`RequestError::code`].
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A required header field is missing or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The body does not decode.
    #[error("bad request body: {0}")]
    Body(String),
    /// The server failed while handling the request.
    #[error("internal error: {0}")]
    Internal(String),
    /// Persisting the KV config failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The request was understood and refused.
    #[error("{remark}")]
    Refused {
        /// The response code to answer with.
        code: ResponseCode,
        /// The remark to answer with.
        remark: String,
    },
}

impl RequestError {
    /// The response code this error is answered with.
    pub fn code(&self) -> ResponseCode {
        match self {
            RequestError::Header(_) | RequestError::Body(_) | RequestError::Internal(_) | RequestError::Store(_) => {
                ResponseCode::SystemError
            }
            RequestError::Refused { code, .. } => *code,
        }
    }

    fn refused(code: ResponseCode, remark: impl Into<String>) -> Self {
        RequestError::Refused { code, remark: remark.into() }
    }
}

/// The answer to one request, or why there is none.
type Reply = Result<RemotingCommand, RequestError>;

/// The NameServer: route table, KV config and configuration, serving remoting requests.
#[derive(Debug)]
pub struct Namesrv {
    routes: RouteTable,
    kv: Arc<KvStore>,
    config: RwLock<NamesrvConfig>,
    metrics: NamesrvMetrics,
}

impl Namesrv {
    /// A NameServer with an empty route table and the KV config loaded from
    /// `config.kv_config_path`.
    pub fn new(config: NamesrvConfig) -> Result<Self, Error> {
        let kv = KvStore::open(&config.kv_config_path)?;
        Ok(Namesrv {
            routes: RouteTable::new(),
            kv: Arc::new(kv),
            config: RwLock::new(config),
            metrics: NamesrvMetrics::new(),
        })
    }

    /// The route table.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// The metric handles (request counters, readiness).
    pub fn metrics(&self) -> &NamesrvMetrics {
        &self.metrics
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> NamesrvConfig {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Answers one request. Every code the remoting table knows is listed: NameServer codes go
    /// to their handler, all others get `REQUEST_CODE_NOT_SUPPORTED`.
    pub async fn dispatch(&self, conn: &Connection, request: &RemotingCommand) -> Reply {
        use RequestCode as C;
        match request.request_code() {
            C::RegisterBroker => self.register_broker(conn, request),
            C::UnregisterBroker => self.unregister_broker(request),
            C::QueryDataVersion => self.query_data_version(request),
            C::BrokerHeartbeat => self.broker_heartbeat(request),
            C::GetBrokerMemberGroup => self.broker_member_group(request),
            C::GetRouteinfoByTopic => self.route_by_topic(request),
            C::GetBrokerClusterInfo => self.cluster_info(request),
            C::GetAllTopicListFromNameserver => self.all_topics(request),
            C::GetTopicsByCluster => self.topics_by_cluster(request),
            C::GetSystemTopicListFromNs => self.system_topics(request),
            C::GetUnitTopicList => self.unit_topics(request, UnitFilter::Unit),
            C::GetHasUnitSubTopicList => self.unit_topics(request, UnitFilter::HasUnitSub),
            C::GetHasUnitSubUnunitTopicList => self.unit_topics(request, UnitFilter::HasUnitSubNotUnit),
            C::DeleteTopicInNamesrv => self.delete_topic(request),
            C::RegisterTopicInNamesrv => self.register_topic(request),
            C::WipeWritePermOfBroker => self.set_write_perm(request, false),
            C::AddWritePermOfBroker => self.set_write_perm(request, true),
            C::PutKvConfig => self.put_kv(request).await,
            C::GetKvConfig => self.get_kv(request),
            C::DeleteKvConfig => self.delete_kv(request).await,
            C::GetKvlistByNamespace => self.kv_namespace(request),
            C::UpdateNamesrvConfig => self.update_config(request),
            C::GetNamesrvConfig => self.get_config(request),
            C::SendMessage
            | C::PullMessage
            | C::QueryMessage
            | C::QueryBrokerOffset
            | C::QueryConsumerOffset
            | C::UpdateConsumerOffset
            | C::UpdateAndCreateTopic
            | C::UpdateAndCreateTopicList
            | C::GetAllTopicConfig
            | C::GetTopicConfigList
            | C::GetTopicNameList
            | C::UpdateBrokerConfig
            | C::GetBrokerConfig
            | C::TriggerDeleteFiles
            | C::GetBrokerRuntimeInfo
            | C::SearchOffsetByTimestamp
            | C::GetMaxOffset
            | C::GetMinOffset
            | C::GetEarliestMsgStoretime
            | C::ViewMessageById
            | C::HeartBeat
            | C::UnregisterClient
            | C::ConsumerSendMsgBack
            | C::EndTransaction
            | C::GetConsumerListByGroup
            | C::CheckTransactionState
            | C::NotifyConsumerIdsChanged
            | C::LockBatchMq
            | C::UnlockBatchMq
            | C::GetAllConsumerOffset
            | C::GetAllDelayOffset
            | C::CheckClientConfig
            | C::GetClientConfig
            | C::UpdateAndCreateAclConfig
            | C::DeleteAclConfig
            | C::GetBrokerClusterAclInfo
            | C::UpdateGlobalWhiteAddrsConfig
            | C::GetBrokerClusterAclConfig
            | C::GetTimerCheckPoint
            | C::GetTimerMetrics
            | C::UpdateAndCreateSubscriptiongroup
            | C::GetAllSubscriptiongroupConfig
            | C::GetTopicStatsInfo
            | C::GetConsumerConnectionList
            | C::GetProducerConnectionList
            | C::DeleteSubscriptiongroup
            | C::GetConsumeStats
            | C::SuspendConsumer
            | C::ResumeConsumer
            | C::ResetConsumerOffsetInConsumer
            | C::ResetConsumerOffsetInBroker
            | C::AdjustConsumerThreadPool
            | C::WhoConsumeTheMessage
            | C::DeleteTopicInBroker
            | C::ResetConsumerClientOffset
            | C::GetConsumerStatusFromClient
            | C::InvokeBrokerToResetOffset
            | C::InvokeBrokerToGetConsumerStatus
            | C::UpdateAndCreateSubscriptiongroupList
            | C::QueryTopicConsumeByWho
            | C::RegisterFilterServer
            | C::RegisterMessageFilterClass
            | C::QueryConsumeTimeSpan
            | C::GetSystemTopicListFromBroker
            | C::CleanExpiredConsumequeue
            | C::GetConsumerRunningInfo
            | C::QueryCorrectionOffset
            | C::ConsumeMessageDirectly
            | C::SendMessageV2
            | C::CloneGroupOffset
            | C::ViewBrokerStatsData
            | C::CleanUnusedTopic
            | C::GetBrokerConsumeStats
            | C::SendBatchMessage
            | C::QueryConsumeQueue
            | C::ResumeCheckHalfMessage
            | C::SendReplyMessage
            | C::SendReplyMessageV2
            | C::PushReplyMessageToClient
            | C::GetAllProducerInfo
            | C::DeleteExpiredCommitlog
            | C::QueryTopicsByConsumer
            | C::QuerySubscriptionByConsumer
            | C::GetTopicConfig
            | C::GetSubscriptiongroupConfig
            | C::UpdateAndGetGroupForbidden
            | C::CheckRocksdbCqWriteProgress
            | C::ExportRocksdbConfigToJson
            | C::LitePullMessage
            | C::RecallMessage
            | C::QueryAssignment
            | C::SetMessageRequestMode
            | C::GetAllMessageRequestMode
            | C::UpdateAndCreateStaticTopic
            | C::AddBroker
            | C::RemoveBroker
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
            | C::Unknown(_) => Ok(not_supported(request)),
        }
    }

    /// Runs a blocking KV-store operation off the async workers.
    async fn with_kv<T: Send + 'static>(
        &self,
        op: impl FnOnce(&KvStore) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, RequestError> {
        let kv = Arc::clone(&self.kv);
        tokio::task::spawn_blocking(move || op(&kv))
            .await
            .map_err(|e| RequestError::Internal(format!("KV store task failed: {e}")))?
            .map_err(RequestError::Store)
    }
}

impl Handler for Namesrv {
    async fn handle(&self, conn: Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        self.metrics.count_request(request.code);
        let response = match self.dispatch(&conn, &request).await {
            Ok(response) => response,
            Err(e) => {
                debug!(code = request.code, peer = %conn.peer_addr(), error = %e, "request failed");
                RemotingCommand::error(&request, e.code(), e.to_string())
            }
        };
        Some(response)
    }

    fn on_close(&self, conn: &Connection) {
        let gone = self.routes.connection_closed(conn.id());
        if !gone.is_empty() {
            info!(peer = %conn.peer_addr(), brokers = gone.len(), "connection closed; its brokers were unregistered");
        }
    }
}

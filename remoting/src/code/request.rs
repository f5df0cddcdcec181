//! `RequestCode`: every classic remoting request code (Apache RocketMQ 5.3.3), generated from one
//! table of `(variant, number, family)`. The family groups codes by the component that owns them.

/// Which part of the system a request code belongs to; used for documentation and to let servers
/// answer a whole family the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestFamily {
    /// Producer sends and transactions (client → broker).
    Send,
    /// Pull, offsets, heartbeats and consumer management (client → broker).
    Consume,
    /// Message queries (client → broker).
    Query,
    /// Administrative requests to a broker (mqadmin → broker).
    BrokerAdmin,
    /// Requests served by the NameServer.
    NameServer,
    /// Requests a broker sends to a client.
    ToClient,
    /// Broker-to-broker requests (replication, slave sync).
    Replication,
    /// ACL administration.
    Acl,
    /// POP consumption (5.x; JSON headers only).
    Pop,
    /// Controller mode (5.x).
    Controller,
    /// Anything else: defined by Apache but legacy or rarely used.
    Other,
}

macro_rules! request_codes {
    ($( $variant:ident = $num:literal, $family:ident; )*) => {
        /// A remoting request code. Unknown numbers are kept in [`RequestCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum RequestCode {
            $( $variant, )*
            /// A code this table does not know.
            Unknown(i32),
        }

        impl RequestCode {
            /// Every known code, in table order.
            pub const ALL: &'static [RequestCode] = &[ $( RequestCode::$variant, )* ];

            /// The numeric value sent on the wire.
            pub const fn value(self) -> i32 {
                match self {
                    $( RequestCode::$variant => $num, )*
                    RequestCode::Unknown(n) => n,
                }
            }

            /// Maps a wire number to a code.
            pub const fn from_value(n: i32) -> RequestCode {
                match n {
                    $( $num => RequestCode::$variant, )*
                    other => RequestCode::Unknown(other),
                }
            }

            /// The family this code belongs to.
            pub const fn family(self) -> RequestFamily {
                match self {
                    $( RequestCode::$variant => RequestFamily::$family, )*
                    RequestCode::Unknown(_) => RequestFamily::Other,
                }
            }
        }
    };
}

request_codes! {
    SendMessage = 10, Send;
    PullMessage = 11, Consume;
    QueryMessage = 12, Query;
    QueryBrokerOffset = 13, Other;
    QueryConsumerOffset = 14, Consume;
    UpdateConsumerOffset = 15, Consume;
    UpdateAndCreateTopic = 17, BrokerAdmin;
    UpdateAndCreateTopicList = 18, BrokerAdmin;
    GetAllTopicConfig = 21, BrokerAdmin;
    GetTopicConfigList = 22, Other;
    GetTopicNameList = 23, Other;
    UpdateBrokerConfig = 25, BrokerAdmin;
    GetBrokerConfig = 26, BrokerAdmin;
    TriggerDeleteFiles = 27, Other;
    GetBrokerRuntimeInfo = 28, BrokerAdmin;
    SearchOffsetByTimestamp = 29, Consume;
    GetMaxOffset = 30, Consume;
    GetMinOffset = 31, Consume;
    GetEarliestMsgStoretime = 32, Consume;
    ViewMessageById = 33, Query;
    HeartBeat = 34, Consume;
    UnregisterClient = 35, Consume;
    ConsumerSendMsgBack = 36, Consume;
    EndTransaction = 37, Send;
    GetConsumerListByGroup = 38, Consume;
    CheckTransactionState = 39, ToClient;
    NotifyConsumerIdsChanged = 40, ToClient;
    LockBatchMq = 41, Consume;
    UnlockBatchMq = 42, Consume;
    GetAllConsumerOffset = 43, Replication;
    GetAllDelayOffset = 45, Replication;
    CheckClientConfig = 46, Consume;
    GetClientConfig = 47, Other;
    UpdateAndCreateAclConfig = 50, Acl;
    DeleteAclConfig = 51, Acl;
    GetBrokerClusterAclInfo = 52, Acl;
    UpdateGlobalWhiteAddrsConfig = 53, Acl;
    GetBrokerClusterAclConfig = 54, Acl;
    GetTimerCheckPoint = 60, Replication;
    GetTimerMetrics = 61, Replication;
    PutKvConfig = 100, NameServer;
    GetKvConfig = 101, NameServer;
    DeleteKvConfig = 102, NameServer;
    RegisterBroker = 103, NameServer;
    UnregisterBroker = 104, NameServer;
    GetRouteinfoByTopic = 105, NameServer;
    GetBrokerClusterInfo = 106, NameServer;
    UpdateAndCreateSubscriptiongroup = 200, BrokerAdmin;
    GetAllSubscriptiongroupConfig = 201, BrokerAdmin;
    GetTopicStatsInfo = 202, BrokerAdmin;
    GetConsumerConnectionList = 203, BrokerAdmin;
    GetProducerConnectionList = 204, BrokerAdmin;
    WipeWritePermOfBroker = 205, NameServer;
    GetAllTopicListFromNameserver = 206, NameServer;
    DeleteSubscriptiongroup = 207, BrokerAdmin;
    GetConsumeStats = 208, BrokerAdmin;
    SuspendConsumer = 209, Other;
    ResumeConsumer = 210, Other;
    ResetConsumerOffsetInConsumer = 211, Other;
    ResetConsumerOffsetInBroker = 212, Other;
    AdjustConsumerThreadPool = 213, Other;
    WhoConsumeTheMessage = 214, Other;
    DeleteTopicInBroker = 215, BrokerAdmin;
    DeleteTopicInNamesrv = 216, NameServer;
    RegisterTopicInNamesrv = 217, NameServer;
    GetKvlistByNamespace = 219, NameServer;
    ResetConsumerClientOffset = 220, ToClient;
    GetConsumerStatusFromClient = 221, ToClient;
    InvokeBrokerToResetOffset = 222, BrokerAdmin;
    InvokeBrokerToGetConsumerStatus = 223, BrokerAdmin;
    GetTopicsByCluster = 224, NameServer;
    UpdateAndCreateSubscriptiongroupList = 225, BrokerAdmin;
    QueryTopicConsumeByWho = 300, BrokerAdmin;
    RegisterFilterServer = 301, Other;
    RegisterMessageFilterClass = 302, Other;
    QueryConsumeTimeSpan = 303, BrokerAdmin;
    GetSystemTopicListFromNs = 304, NameServer;
    GetSystemTopicListFromBroker = 305, BrokerAdmin;
    CleanExpiredConsumequeue = 306, BrokerAdmin;
    GetConsumerRunningInfo = 307, BrokerAdmin;
    QueryCorrectionOffset = 308, BrokerAdmin;
    ConsumeMessageDirectly = 309, BrokerAdmin;
    SendMessageV2 = 310, Send;
    GetUnitTopicList = 311, NameServer;
    GetHasUnitSubTopicList = 312, NameServer;
    GetHasUnitSubUnunitTopicList = 313, NameServer;
    CloneGroupOffset = 314, BrokerAdmin;
    ViewBrokerStatsData = 315, BrokerAdmin;
    CleanUnusedTopic = 316, BrokerAdmin;
    GetBrokerConsumeStats = 317, BrokerAdmin;
    UpdateNamesrvConfig = 318, NameServer;
    GetNamesrvConfig = 319, NameServer;
    SendBatchMessage = 320, Send;
    QueryConsumeQueue = 321, BrokerAdmin;
    QueryDataVersion = 322, NameServer;
    ResumeCheckHalfMessage = 323, BrokerAdmin;
    SendReplyMessage = 324, Send;
    SendReplyMessageV2 = 325, Send;
    PushReplyMessageToClient = 326, ToClient;
    AddWritePermOfBroker = 327, NameServer;
    GetAllProducerInfo = 328, BrokerAdmin;
    DeleteExpiredCommitlog = 329, BrokerAdmin;
    QueryTopicsByConsumer = 343, BrokerAdmin;
    QuerySubscriptionByConsumer = 345, BrokerAdmin;
    GetTopicConfig = 351, BrokerAdmin;
    GetSubscriptiongroupConfig = 352, BrokerAdmin;
    UpdateAndGetGroupForbidden = 353, BrokerAdmin;
    CheckRocksdbCqWriteProgress = 354, Other;
    ExportRocksdbConfigToJson = 355, Other;
    LitePullMessage = 361, Consume;
    RecallMessage = 370, Send;
    QueryAssignment = 400, Consume;
    SetMessageRequestMode = 401, Consume;
    GetAllMessageRequestMode = 402, Consume;
    UpdateAndCreateStaticTopic = 513, BrokerAdmin;
    GetBrokerMemberGroup = 901, Replication;
    AddBroker = 902, Replication;
    RemoveBroker = 903, Replication;
    BrokerHeartbeat = 904, NameServer;
    NotifyMinBrokerIdChange = 905, Replication;
    ExchangeBrokerHaInfo = 906, Replication;
    GetBrokerHaStatus = 907, Replication;
    ResetMasterFlushOffset = 908, Replication;
    ControllerAlterSyncStateSet = 1001, Controller;
    ControllerElectMaster = 1002, Controller;
    ControllerRegisterBroker = 1003, Controller;
    ControllerGetReplicaInfo = 1004, Controller;
    ControllerGetMetadataInfo = 1005, Controller;
    ControllerGetSyncStateData = 1006, Controller;
    GetBrokerEpochCache = 1007, Controller;
    NotifyBrokerRoleChanged = 1008, Controller;
    UpdateControllerConfig = 1009, Controller;
    GetControllerConfig = 1010, Controller;
    CleanBrokerData = 1011, Controller;
    ControllerGetNextBrokerId = 1012, Controller;
    ControllerApplyBrokerId = 1013, Controller;
    AuthCreateUser = 3001, Acl;
    AuthUpdateUser = 3002, Acl;
    AuthDeleteUser = 3003, Acl;
    AuthGetUser = 3004, Acl;
    AuthListUser = 3005, Acl;
    AuthCreateAcl = 3006, Acl;
    AuthUpdateAcl = 3007, Acl;
    AuthDeleteAcl = 3008, Acl;
    AuthGetAcl = 3009, Acl;
    AuthListAcl = 3010, Acl;
    PopMessage = 200050, Pop;
    AckMessage = 200051, Pop;
    PeekMessage = 200052, Pop;
    ChangeMessageInvisibletime = 200053, Pop;
    Notification = 200054, Pop;
    PollingInfo = 200055, Pop;
    PopRollback = 200056, Pop;
    BatchAckMessage = 200151, Pop;
}

impl From<i32> for RequestCode {
    fn from(n: i32) -> Self {
        RequestCode::from_value(n)
    }
}

impl From<RequestCode> for i32 {
    fn from(c: RequestCode) -> Self {
        c.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_and_roundtrips() {
        let mut seen = HashSet::new();
        for code in RequestCode::ALL {
            assert!(seen.insert(code.value()), "duplicate code {}", code.value());
            assert_eq!(RequestCode::from_value(code.value()), *code);
        }
    }

    #[test]
    fn unknown_numbers_are_preserved() {
        assert_eq!(RequestCode::from_value(9999), RequestCode::Unknown(9999));
        assert_eq!(RequestCode::Unknown(9999).value(), 9999);
    }
}

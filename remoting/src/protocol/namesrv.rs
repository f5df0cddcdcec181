//! Headers of the NameServer requests: broker registration, routes, permissions, KV config.

use crate::command_header;

command_header! {
    /// REGISTER_BROKER (103) request header.
    pub struct RegisterBrokerRequest {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        ha_server_addr: Option<String> => "haServerAddr",
        broker_id: i64 => "brokerId",
        heartbeat_timeout_millis: Option<i64> => "heartbeatTimeoutMillis",
        enable_acting_master: Option<bool> => "enableActingMaster",
        compressed: Option<bool> => "compressed",
        body_crc32: Option<i32> => "bodyCrc32",
    }
}

command_header! {
    /// REGISTER_BROKER (103) response header.
    pub struct RegisterBrokerResponse {
        ha_server_addr: Option<String> => "haServerAddr",
        master_addr: Option<String> => "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104) and QUERY_DATA_VERSION (322) request header.
    pub struct BrokerIdentityRequest {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        broker_id: i64 => "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322) response header.
    pub struct QueryDataVersionResponse { changed: bool => "changed" }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) request header.
    pub struct GetRouteInfoRequest {
        topic: String => "topic",
        accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216) request header.
    pub struct DeleteTopicFromNamesrvRequest {
        topic: String => "topic",
        cluster_name: Option<String> => "clusterName",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) / ADD_WRITE_PERM_OF_BROKER (327) request header.
    pub struct BrokerNameRequest { broker_name: String => "brokerName" }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response header.
    pub struct WipeWritePermResponse { wipe_topic_count: i32 => "wipeTopicCount" }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response header.
    pub struct AddWritePermResponse { add_topic_count: i32 => "addTopicCount" }
}

command_header! {
    /// PUT_KV_CONFIG (100) request header.
    pub struct PutKvConfigRequest { namespace: String => "namespace", key: String => "key", value: String => "value" }
}

command_header! {
    /// GET_KV_CONFIG (101) / DELETE_KV_CONFIG (102) request header.
    pub struct KvKeyRequest { namespace: String => "namespace", key: String => "key" }
}

command_header! {
    /// GET_KV_CONFIG (101) response header.
    pub struct GetKvConfigResponse { value: Option<String> => "value" }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) request header.
    pub struct KvNamespaceRequest { namespace: String => "namespace" }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) request header.
    pub struct ClusterRequest { cluster: String => "cluster" }
}

//! Object names and stable DNS addresses. Every server is found through its StatefulSet's
//! headless Service (`<pod>.<service>.<namespace>.svc`), never through a pod IP.

use kube::ResourceExt;

use super::{BROKER_ADMIN_PORT, NAMESRV_PORT};
use crate::crd::cluster::RocketMQCluster;

/// The NameServer StatefulSet and its headless Service.
pub fn namesrv(cluster: &RocketMQCluster) -> String {
    format!("{}-namesrv", cluster.name_any())
}

/// Broker group `group`'s `brokerName`, StatefulSet, headless Service, ConfigMap and PDB.
pub fn broker_group(cluster: &RocketMQCluster, group: i32) -> String {
    format!("{}-broker-{group}", cluster.name_any())
}

/// The Service that always reaches group `group`'s current master.
pub fn master_service(cluster: &RocketMQCluster, group: i32) -> String {
    format!("{}-master", broker_group(cluster, group))
}

/// The ConfigMap of every node's advertised address (`externalAccess.nodeAddressType`).
pub fn node_addresses(cluster: &RocketMQCluster) -> String {
    format!("{}-node-addresses", cluster.name_any())
}

/// The namespace the cluster lives in (`default` for a spec that was never stored).
pub fn namespace(cluster: &RocketMQCluster) -> String {
    cluster.namespace().unwrap_or_else(|| "default".to_owned())
}

/// The stable DNS name of pod `ordinal` of StatefulSet `set` (governed by a headless Service of
/// the same name).
pub fn pod_host(cluster: &RocketMQCluster, set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}.{set}.{}.svc", namespace(cluster))
}

/// Every NameServer's `host:port`, the `namesrvAddr` of brokers and clients.
pub fn namesrv_addrs(cluster: &RocketMQCluster) -> Vec<String> {
    let set = namesrv(cluster);
    (0..cluster.spec.name_server.replicas).map(|i| format!("{}:{NAMESRV_PORT}", pod_host(cluster, &set, i))).collect()
}

/// The gRPC admin addresses of the members of group `group` (by BrokerId order).
pub fn admin_addrs(cluster: &RocketMQCluster, group: i32) -> Vec<String> {
    let set = broker_group(cluster, group);
    (0..cluster.spec.broker.replicas_per_group)
        .map(|i| format!("{}:{BROKER_ADMIN_PORT}", pod_host(cluster, &set, i)))
        .collect()
}

//! `spec.externalAccess` (NodePort): one Service per broker pod, selecting that pod alone, and
//! one for the NameServers, each with a node port the apiserver allocates. A broker registers
//! its node's IP (`brokerIP1`, from the downward API) and its Service's node port
//! (`brokerAdvertisedPort`, written into its `pod-<i>.conf` once the port is known), so clients
//! inside and outside the cluster reach it at `<node IP>:<node port>`. Replication stays on pod
//! IPs (`brokerIP2`).

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};

use super::{broker, child_meta, labels, names, BROKER_PORT, NAMESRV_PORT};
use crate::crd::cluster::RocketMQCluster;

/// The label Kubernetes puts on a StatefulSet pod with its name.
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// Whether the cluster asks for external access.
pub fn enabled(cluster: &RocketMQCluster) -> bool {
    cluster.spec.external_access.is_some()
}

/// The external Service of pod `ordinal` of group `group`.
pub fn broker_service(cluster: &RocketMQCluster, group: i32, ordinal: i32) -> Service {
    let pod = format!("{}-{ordinal}", names::broker_group(cluster, group));
    let mut selector = broker::group_labels(cluster, group);
    selector.insert(POD_NAME_LABEL.to_owned(), pod.clone());
    node_port_service(
        child_meta(cluster, format!("{pod}-external"), broker::group_labels(cluster, group)),
        selector,
        "remoting",
        BROKER_PORT,
    )
}

/// The NameServers' external Service (any NameServer answers for the whole cluster).
pub fn namesrv_service(cluster: &RocketMQCluster) -> Service {
    let labels = labels(cluster, "namesrv");
    node_port_service(
        child_meta(cluster, format!("{}-external", names::namesrv(cluster)), labels.clone()),
        labels,
        "remoting",
        NAMESRV_PORT,
    )
}

fn node_port_service(
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    selector: std::collections::BTreeMap<String, String>,
    name: &str,
    port: i32,
) -> Service {
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("NodePort".to_owned()),
            selector: Some(selector),
            ports: Some(vec![ServicePort { name: Some(name.to_owned()), port, ..ServicePort::default() }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The node port the apiserver gave `service`, once it has one.
pub fn node_port(service: &Service) -> Option<i32> {
    service.spec.as_ref()?.ports.as_ref()?.first()?.node_port
}

//! `spec.externalAccess`: one Service per broker pod, selecting that pod alone, and one for the
//! NameServers, of type `NodePort` or `LoadBalancer`. Each broker registers the address its
//! Service gives it, written into its `pod-<i>-external.conf` once the apiserver (a node port) or
//! the cloud's load balancer controller (an ingress IP or name) has given it:
//! - `NodePort`: its node's IP (`brokerIP1`, from the downward API) and the node port
//!   (`brokerAdvertisedPort`), so clients reach it at `<node IP>:<node port>`. With
//!   `nodeAddressType`, the node's address of that type instead: the operator lists every
//!   node's in a ConfigMap (`<node>.conf`: `brokerAdvertisedHost=…`) and a broker reads its own
//!   node's file, named from the downward API, so the address follows the pod to any node;
//! - `LoadBalancer`: the load balancer's IP or DNS name (`brokerAdvertisedHost`) and the broker
//!   port, which the load balancer forwards.
//!
//! Replication stays on pod IPs (`brokerIP2`). Clients inside the cluster use the same addresses.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Node, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use kube::ResourceExt;

use super::{broker, child_meta, labels, names, BROKER_PORT, NAMESRV_PORT};
use crate::crd::cluster::{ExternalServiceType, NodeAddressType, RocketMQCluster};

/// Where brokers find the node addresses' ConfigMap.
pub const NODE_ADDRESSES_DIR: &str = "/etc/rmq-nodes";

/// The label Kubernetes puts on a StatefulSet pod with its name.
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label marking the external Services (so unwanted ones can be found and deleted).
pub const EXTERNAL_LABEL: &str = "rmq.io/external";
/// The Service port name.
const PORT_NAME: &str = "remoting";

/// Each broker pod's `pod-<i>-external.conf`, by ordinal: the address its external Service gave it.
pub type Overlays = BTreeMap<i32, String>;

/// Whether the cluster asks for external access.
pub fn enabled(cluster: &RocketMQCluster) -> bool {
    cluster.spec.external_access.is_some()
}

/// The type of the external Services (`None` without external access).
pub fn service_type(cluster: &RocketMQCluster) -> Option<ExternalServiceType> {
    cluster.spec.external_access.as_ref().map(|e| e.service_type)
}

/// The name of pod `ordinal`'s overlay (`$(POD_INDEX)` in a template), one per Service type:
/// a pod of the previous template restarting mid-roll finds no file of its type and does not
/// start, rather than pair its pod IP with a node port or its node's IP with a load balancer.
pub fn overlay_file(cluster: &RocketMQCluster, ordinal: impl std::fmt::Display) -> Option<String> {
    Some(match service_type(cluster)? {
        ExternalServiceType::NodePort => format!("pod-{ordinal}-external.conf"),
        ExternalServiceType::LoadBalancer => format!("pod-{ordinal}-lb.conf"),
    })
}

/// The node address type brokers advertise (NodePort access with `nodeAddressType` set).
pub fn node_address_type(cluster: &RocketMQCluster) -> Option<NodeAddressType> {
    let access = cluster.spec.external_access.as_ref()?;
    (access.service_type == ExternalServiceType::NodePort).then_some(access.node_address_type?)
}

/// The ConfigMap listing each of `nodes`' address of the cluster's `nodeAddressType` as a
/// broker overlay, `<node>.conf`; nodes without such an address are left out (a broker there
/// cannot start: it would advertise an address clients cannot reach).
pub fn node_addresses<'a>(cluster: &RocketMQCluster, nodes: impl IntoIterator<Item = &'a Node>) -> Option<ConfigMap> {
    let wanted = node_address_type(cluster)?.as_str();
    let files = nodes
        .into_iter()
        .filter_map(|node| {
            let addresses = node.status.as_ref()?.addresses.as_ref()?;
            let address = addresses.iter().find(|a| a.type_ == wanted && !a.address.is_empty())?;
            Some((format!("{}.conf", node.name_any()), format!("brokerAdvertisedHost={}\n", address.address)))
        })
        .collect();
    Some(ConfigMap {
        metadata: child_meta(cluster, names::node_addresses(cluster), labels(cluster, "broker")),
        data: Some(files),
        ..ConfigMap::default()
    })
}

/// The volume holding [`node_addresses`] and its mount, when the cluster has it.
pub fn node_addresses_volume(cluster: &RocketMQCluster) -> Option<(Volume, VolumeMount)> {
    node_address_type(cluster)?;
    let volume = Volume {
        name: "node-addresses".to_owned(),
        // Optional: until the operator lists the nodes, a broker starts and stops at once,
        // its log naming the missing file, rather than its pod waiting without a word.
        config_map: Some(ConfigMapVolumeSource {
            name: names::node_addresses(cluster),
            optional: Some(true),
            ..Default::default()
        }),
        ..Volume::default()
    };
    let mount = VolumeMount {
        name: "node-addresses".to_owned(),
        mount_path: NODE_ADDRESSES_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    };
    Some((volume, mount))
}

/// The external Service of pod `ordinal` of group `group`.
pub fn broker_service(cluster: &RocketMQCluster, group: i32, ordinal: i32) -> Service {
    let pod = format!("{}-{ordinal}", names::broker_group(cluster, group));
    let mut selector = broker::group_labels(cluster, group);
    selector.insert(POD_NAME_LABEL.to_owned(), pod.clone());
    let mut service = external_service(
        cluster,
        format!("{pod}-external"),
        broker::group_labels(cluster, group),
        selector,
        BROKER_PORT,
    );
    // The broker registers its own node's IP: keep traffic on that node and the client's address
    // unchanged (the ACL's whitelists see real peers, not node IPs after source NAT).
    if let Some(spec) = service.spec.as_mut() {
        spec.external_traffic_policy = Some("Local".to_owned());
    }
    service
}

/// The NameServers' external Service (any NameServer answers for the whole cluster).
pub fn namesrv_service(cluster: &RocketMQCluster) -> Service {
    let labels = labels(cluster, "namesrv");
    external_service(cluster, format!("{}-external", names::namesrv(cluster)), labels.clone(), labels, NAMESRV_PORT)
}

fn external_service(
    cluster: &RocketMQCluster,
    name: String,
    mut own_labels: BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
    port: i32,
) -> Service {
    own_labels.insert(EXTERNAL_LABEL.to_owned(), "true".to_owned());
    let mut metadata = child_meta(cluster, name, own_labels);
    let annotations = cluster.spec.external_access.as_ref().map(|e| e.annotations.clone()).unwrap_or_default();
    if !annotations.is_empty() {
        metadata.annotations = Some(annotations);
    }
    let type_ = match service_type(cluster) {
        Some(ExternalServiceType::LoadBalancer) => "LoadBalancer",
        _ => "NodePort",
    };
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(type_.to_owned()),
            selector: Some(selector),
            ports: Some(vec![ServicePort { name: Some(PORT_NAME.to_owned()), port, ..ServicePort::default() }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The `pod-<i>-external.conf` of the broker behind `service`, an external Service of
/// `cluster` as the apiserver returned it, once the address it advertises is known.
pub fn overlay(cluster: &RocketMQCluster, service: &Service) -> Option<String> {
    match service_type(cluster)? {
        ExternalServiceType::NodePort => Some(format!("brokerAdvertisedPort={}\n", node_port(service)?)),
        ExternalServiceType::LoadBalancer => {
            let ingress = service.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?;
            let host = ingress.iter().find_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))?;
            Some(format!("brokerAdvertisedHost={host}\n"))
        }
    }
}

/// The node port the apiserver gave `service`, once it has one.
pub fn node_port(service: &Service) -> Option<i32> {
    let ports = service.spec.as_ref()?.ports.as_ref()?;
    ports.iter().find(|p| p.name.as_deref() == Some(PORT_NAME))?.node_port
}

/// The label selector of this cluster's objects.
pub fn cluster_selector(cluster: &RocketMQCluster) -> String {
    format!("app.kubernetes.io/instance={}", cluster.name_any())
}

/// The most members a group may have (the CRD's `replicasPerGroup` maximum).
pub const MAX_MEMBERS: i32 = 5;

/// Whether the external Service `name` is no longer wanted: all of them once `externalAccess`
/// is off, a member's once its ordinal is beyond `replicasPerGroup`. Those of groups being
/// scaled in stay until the group goes (its consumers may still drain through them).
pub fn unwanted(cluster: &RocketMQCluster, name: &str) -> bool {
    if !enabled(cluster) {
        return true;
    }
    (0..cluster.spec.broker.groups).any(|g| {
        (cluster.spec.broker.replicas_per_group..MAX_MEMBERS)
            .any(|o| broker_service(cluster, g, o).metadata.name.as_deref() == Some(name))
    })
}

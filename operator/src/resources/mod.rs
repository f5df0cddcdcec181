//! The objects a `RocketMQCluster` stands for, computed from its spec alone (pure functions,
//! unit-tested): the NameServer StatefulSet and headless Service, and per broker group a
//! ConfigMap (`broker.conf` plus one overlay per pod), a headless Service, a StatefulSet, a
//! PodDisruptionBudget and the group's master Service. The reconciler applies them as they are.

pub mod broker;
pub mod broker_conf;
pub mod external;
pub mod names;
pub mod namesrv;
pub mod security;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector, PodSpec, Probe, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};

use crate::crd::cluster::{PullPolicy, RocketMQCluster};

/// The NameServer's remoting port.
pub const NAMESRV_PORT: i32 = 9876;
/// The NameServer's `/metrics`, `/healthz`, `/readyz` port.
pub const NAMESRV_METRICS_PORT: i32 = 5558;
/// The NameServers' HTTP address endpoint (the Java client's default address-server port).
pub const NAMESRV_ADDRESS_PORT: i32 = 8080;
/// The broker's remoting port (`listenPort`).
pub const BROKER_PORT: i32 = 10911;
/// The broker's VIP channel (`listenPort - 2`), which old clients may use.
pub const BROKER_VIP_PORT: i32 = 10909;
/// The broker's HA port (`haListenPort`).
pub const BROKER_HA_PORT: i32 = 10912;
/// The broker's gRPC admin API (`grpcAdminPort`): status, promote, follow, fence.
pub const BROKER_ADMIN_PORT: i32 = 10920;
/// The broker's `/metrics`, `/healthz`, `/readyz` port (`metricsPromExporterPort`).
pub const BROKER_METRICS_PORT: i32 = 5557;
/// Where a broker's volume is mounted.
pub const DATA_DIR: &str = "/var/lib/rmq";
/// Where a broker's ConfigMap is mounted.
pub const CONF_DIR: &str = "/etc/rmq";
/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "rmq-operator";

/// The cluster annotation that requests a rolling restart: any new value (a timestamp, say)
/// restarts every pod, health-gated like a spec change.
pub const RESTART_ANNOTATION: &str = "rmq.io/restart";

/// The pod template annotations: the user's `podAnnotations`, plus the restart request if any
/// (a new value changes the template, hence the StatefulSets' revision, hence a roll).
pub fn pod_annotations(cluster: &RocketMQCluster) -> BTreeMap<String, String> {
    let mut annotations = cluster.spec.pod_annotations.clone();
    if let Some(token) = cluster.annotations().get(RESTART_ANNOTATION) {
        annotations.insert(RESTART_ANNOTATION.to_owned(), token.clone());
    }
    annotations
}

/// The labels every object of `cluster` carries, plus `component`'s.
pub fn labels(cluster: &RocketMQCluster, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "rocketmq".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), cluster.name_any()),
        ("app.kubernetes.io/component".to_owned(), component.to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), FIELD_MANAGER.to_owned()),
    ])
}

/// Metadata of a child object `name` of `cluster`: its namespace, labels and the controller owner
/// reference that makes the garbage collector delete it with the cluster.
pub fn child_meta(cluster: &RocketMQCluster, name: String, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: cluster.namespace(),
        labels: Some(labels),
        owner_references: owner_reference(cluster).map(|o| vec![o]),
        ..ObjectMeta::default()
    }
}

fn owner_reference(cluster: &RocketMQCluster) -> Option<OwnerReference> {
    let mut owner = cluster.controller_owner_ref(&())?;
    owner.block_owner_deletion = Some(true);
    Some(owner)
}

/// An env var from a pod field (`metadata.name`, `status.podIP`, a label).
pub fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: field_path.to_owned(), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A named TCP container port.
pub fn port(name: &str, port: i32) -> ContainerPort {
    ContainerPort { name: Some(name.to_owned()), container_port: port, ..ContainerPort::default() }
}

/// The probe of a server: `/healthz` or `/readyz` over HTTP when metrics are served, else a TCP
/// connect to the remoting port (the only signal left).
pub fn probe(path: &str, http_port: Option<i32>, tcp_port: i32, period: i32, failures: i32) -> Probe {
    let (http_get, tcp_socket) = match http_port {
        Some(p) => {
            (Some(HTTPGetAction { path: Some(path.to_owned()), port: IntOrString::Int(p), ..Default::default() }), None)
        }
        None => (None, Some(TCPSocketAction { port: IntOrString::Int(tcp_port), ..Default::default() })),
    };
    Probe { http_get, tcp_socket, period_seconds: Some(period), failure_threshold: Some(failures), ..Probe::default() }
}

/// The container image settings every server shares.
pub fn container(cluster: &RocketMQCluster, name: &str) -> Container {
    Container {
        name: name.to_owned(),
        image: Some(cluster.spec.image.clone()),
        image_pull_policy: cluster.spec.image_pull_policy.map(|p| {
            match p {
                PullPolicy::Always => "Always",
                PullPolicy::IfNotPresent => "IfNotPresent",
                PullPolicy::Never => "Never",
            }
            .to_owned()
        }),
        ..Container::default()
    }
}

/// The pod-level scheduling, service account and security settings every server shares.
pub fn pod_spec(cluster: &RocketMQCluster, containers: Vec<Container>) -> PodSpec {
    let scheduling = &cluster.spec.scheduling;
    PodSpec {
        containers,
        service_account_name: cluster.spec.service_account_name.clone(),
        affinity: scheduling.affinity.clone(),
        tolerations: (!scheduling.tolerations.is_empty()).then(|| scheduling.tolerations.clone()),
        topology_spread_constraints: (!scheduling.topology_spread_constraints.is_empty())
            .then(|| scheduling.topology_spread_constraints.clone()),
        node_selector: (!scheduling.node_selector.is_empty()).then(|| scheduling.node_selector.clone()),
        security_context: Some(k8s_openapi::api::core::v1::PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(65532),
            fs_group: Some(65532),
            ..Default::default()
        }),
        ..PodSpec::default()
    }
}

#[cfg(test)]
mod tests;

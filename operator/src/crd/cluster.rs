//! `RocketMQCluster` (`rmq.io/v1alpha1`): NameServers and master/slave broker groups.
//!
//! The spec is what a user edits; the status is what the operator observed, written on change.
//! Validation that the schema alone cannot express is CEL (`x-kubernetes-validations`), so the
//! apiserver rejects a bad spec with a clear message before the operator sees it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Broker keys the operator sets itself; `broker.config` may not override them.
pub const OPERATOR_OWNED_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "namesrvAddr",
    "listenPort",
    "haListenPort",
    "haMasterAddress",
    "storePathRootDir",
    "storePathCommitLog",
    "brokerIP1",
    "brokerIP2",
    "flushDiskType",
    "inSyncReplicas",
    "grpcAdminPort",
    "groupPeers",
    "fencingLease",
    "metricsExporterType",
    "metricsPromExporterPort",
    "aclEnable",
    "aclFile",
    "grpcAdminTlsCertPath",
    "grpcAdminTlsKeyPath",
    "grpcAdminTlsTrustCertPath",
    "innerClientAuthenticationCredentials",
    "innerClientCredentialsDir",
    "masterServiceAddress",
    "brokerAdvertisedPort",
    "brokerAdvertisedHost",
];

/// A RocketMQ cluster: NameServers, and `broker.groups` groups of one master and
/// `broker.replicasPerGroup - 1` slaves each.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "rmq.io",
    version = "v1alpha1",
    kind = "RocketMQCluster",
    plural = "rocketmqclusters",
    shortname = "rmqc",
    namespaced,
    status = "RocketMQClusterStatus",
    printcolumn = r#"{"name":"Groups","type":"integer","jsonPath":".spec.broker.groups"}"#,
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.broker.replicasPerGroup"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.security) || !has(self.security.acl) || self.broker.replicasPerGroup < 2 || has(self.security.adminTls)"
).message(
    "security.acl with slaves needs security.adminTls: with ACL on, brokers serve the gRPC admin API (failover) over mutual TLS only"
))]
#[x_kube(validation = Rule::new(
    "!has(self.security) || !has(self.security.tls) || !has(self.broker.config) || self.broker.config.all(k, !k.startsWith('tls.'))"
).message("with security.tls set, the operator owns the tls.* keys: broker.config may not set them"))]
#[x_kube(validation = Rule::new(
    "!has(self.externalAccess) || !has(self.broker.advertiseMasterService) || !self.broker.advertiseMasterService"
).message("externalAccess and broker.advertiseMasterService exclude each other: a master advertises one address"))]
pub struct RocketMQClusterSpec {
    /// The image holding `rmq-namesrv`, `rmq-broker` and `rmq-controller`.
    #[x_kube(validation = Rule::new("self != ''").message("image must not be empty"))]
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never` (Kubernetes' default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "pull_policy_schema")]
    pub image_pull_policy: Option<PullPolicy>,
    /// The NameServers.
    #[serde(default)]
    pub name_server: NameServerSpec,
    /// The broker groups.
    pub broker: BrokerSpec,
    /// The Prometheus endpoints of NameServers and brokers.
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// Clients outside the Kubernetes cluster: a NodePort or LoadBalancer Service per broker pod
    /// and one for the NameServers. Every broker then registers the address its Service gives it
    /// (`<its node's IP>:<its node port>`, or `<the load balancer's IP or name>:10911`), the
    /// address clients inside the cluster use too. A broker starts once its address is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_access: Option<ExternalAccessSpec>,
    /// Where pods may run.
    #[serde(default)]
    pub scheduling: SchedulingSpec,
    /// Annotations added to every pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
    /// The service account of every pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// ACL and admin TLS, from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<super::security::SecuritySpec>,
}

/// An optional enum as a structural schema (schemars' `anyOf` with a null branch is not one).
fn pull_policy_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["Always", "IfNotPresent", "Never"],
        "description": "`Always`, `IfNotPresent` or `Never` (Kubernetes' default when unset)."
    })
}

fn node_address_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": ["ExternalIP", "ExternalDNS", "InternalIP", "InternalDNS", "Hostname"],
        "description": "NodePort: which of its node's addresses a broker advertises, as the Node's status lists them. Unset: the node's primary IP (the pod's status.hostIP), usually its internal one."
    })
}

/// An image pull policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum PullPolicy {
    /// Always pull.
    Always,
    /// Pull when the node lacks the image.
    IfNotPresent,
    /// Never pull.
    Never,
}

/// The NameServers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameServerSpec {
    /// How many NameServers (default 2).
    #[serde(default = "two")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 9").message("nameServer.replicas must be 1 to 9"))]
    pub replicas: i32,
    /// Container resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for NameServerSpec {
    fn default() -> Self {
        NameServerSpec { replicas: 2, resources: None }
    }
}

fn five_minutes() -> i32 {
    300
}

fn two() -> i32 {
    2
}

fn one() -> i32 {
    1
}

/// The broker groups.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.replication.inSyncReplicas <= self.replicasPerGroup").message(
    "broker.replication.inSyncReplicas cannot exceed broker.replicasPerGroup"
))]
pub struct BrokerSpec {
    /// How many groups (each its own `brokerName`).
    #[x_kube(validation = Rule::new("self >= 1 && self <= 64").message("broker.groups must be 1 to 64"))]
    pub groups: i32,
    /// Members per group: the master and its slaves (1 = no slave).
    #[serde(default = "one")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 5").message("broker.replicasPerGroup must be 1 to 5"))]
    pub replicas_per_group: i32,
    /// Each broker's volume.
    pub storage: StorageSpec,
    /// Container resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// `flushDiskType`.
    #[serde(default)]
    pub flush_disk_type: FlushDiskType,
    /// How masters replicate to their slaves.
    #[serde(default)]
    pub replication: ReplicationSpec,
    /// Scale-in: how long a group being removed (write permission taken away first) may take
    /// for its consumers to drain it before the operator refuses with the `Degraded` condition
    /// and keeps it; 0 removes it without waiting.
    #[serde(default = "five_minutes")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 86400").message(
        "broker.scaleInDrainSeconds must be 0 to 86400"
    ))]
    pub scale_in_drain_seconds: i32,
    /// Each group's master registers its group's master Service (`<cluster>-broker-<g>-master`)
    /// as its address (`masterServiceAddress`) instead of its pod's, so clients keep one address
    /// across a failover and reconnect to the new master through the Service. Needs Service
    /// routing (kube-proxy or equivalent) wherever clients run. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advertise_master_service: bool,
    /// Extra `broker.conf` keys (Apache names). The keys the operator sets are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new(
        "self.all(k, !(k in ['brokerClusterName', 'brokerName', 'brokerId', 'brokerRole', 'namesrvAddr', \
         'listenPort', 'haListenPort', 'haMasterAddress', 'storePathRootDir', 'storePathCommitLog', 'brokerIP1', \
         'brokerIP2', 'flushDiskType', 'inSyncReplicas', 'grpcAdminPort', 'groupPeers', 'fencingLease', \
         'metricsExporterType', 'metricsPromExporterPort', 'aclEnable', 'aclFile', 'grpcAdminTlsCertPath', \
         'grpcAdminTlsKeyPath', 'grpcAdminTlsTrustCertPath', 'innerClientAuthenticationCredentials', \
         'innerClientCredentialsDir', 'masterServiceAddress', 'brokerAdvertisedPort', \
         'brokerAdvertisedHost']))"
    ).message("broker.config may not set a key the operator owns (see OPERATOR_OWNED_KEYS in the docs)"))]
    #[schemars(extend("maxProperties" = 128))]
    pub config: BTreeMap<String, String>,
}

/// `flushDiskType`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[allow(non_camel_case_types)]
pub enum FlushDiskType {
    /// Flush on an interval (Apache's default).
    #[default]
    ASYNC_FLUSH,
    /// Acknowledge a send once it is on disk.
    SYNC_FLUSH,
}

/// How a master replicates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSpec {
    /// `ASYNC` (`ASYNC_MASTER`) or `SYNC` (`SYNC_MASTER`).
    #[serde(default)]
    pub mode: ReplicationMode,
    /// Copies a `SYNC` send waits for, the master's included (`inSyncReplicas`).
    #[serde(default = "one")]
    #[x_kube(validation = Rule::new("self >= 1").message("broker.replication.inSyncReplicas must be at least 1"))]
    pub in_sync_replicas: i32,
    /// Whether the operator fails a dead master over to a slave (epoch-fenced). Takes effect
    /// with three or more replicas per group: a promotion needs a majority of the group's
    /// members, so a group of two keeps its master (and switches over by restarting it).
    #[serde(default = "yes")]
    pub automatic_failover: bool,
    /// How long a group's master may be unreachable before a slave is promoted (seconds). A
    /// master stops accepting writes after 40% of it without its group's confirmation.
    #[serde(default = "ten")]
    #[x_kube(validation = Rule::new("self >= 3 && self <= 300").message(
        "broker.replication.failoverTimeoutSeconds must be 3 to 300"
    ))]
    pub failover_timeout_seconds: i32,
}

fn ten() -> i32 {
    10
}

impl Default for ReplicationSpec {
    fn default() -> Self {
        ReplicationSpec {
            mode: ReplicationMode::default(),
            in_sync_replicas: 1,
            automatic_failover: true,
            failover_timeout_seconds: ten(),
        }
    }
}

fn yes() -> bool {
    true
}

/// Replication mode.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReplicationMode {
    /// `ASYNC_MASTER`.
    #[default]
    Async,
    /// `SYNC_MASTER`.
    Sync,
}

/// A broker's persistent volume.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Its size, as a Kubernetes quantity (`50Gi`).
    #[x_kube(validation = Rule::new("self.matches('^[1-9][0-9]*(\\\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$')").message(
        "broker.storage.size must be a positive quantity such as 50Gi"
    ))]
    pub size: String,
    /// The storage class (the cluster's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// What happens to the volume of a removed group (scale-in).
    #[serde(default)]
    pub when_scaled: RetentionPolicy,
    /// What happens to the volumes when the cluster is deleted.
    #[serde(default)]
    pub when_deleted: RetentionPolicy,
}

/// A PVC retention policy (as the StatefulSet field).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub enum RetentionPolicy {
    /// Keep the volume.
    #[default]
    Retain,
    /// Delete the volume.
    Delete,
}

/// The Prometheus endpoints.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// Serve `/metrics` (5557 on brokers, 5558 on NameServers); probes need it on.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec { enabled: true }
    }
}

/// Per-broker Services for clients outside the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.nodeAddressType) || self.type == 'NodePort'")
    .message("externalAccess.nodeAddressType applies to type NodePort only"))]
pub struct ExternalAccessSpec {
    /// `NodePort` or `LoadBalancer`.
    #[serde(rename = "type")]
    pub service_type: ExternalServiceType,
    /// `NodePort`: which of its node's addresses a broker advertises (`ExternalIP`,
    /// `ExternalDNS`, `InternalIP`, `InternalDNS`, `Hostname`, as the Node's status lists them).
    /// Unset: the node's primary IP (the pod's `status.hostIP`), usually its internal one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "node_address_type_schema")]
    pub node_address_type: Option<NodeAddressType>,
    /// Annotations of the external Services, e.g. a cloud's load balancer settings
    /// (`service.beta.kubernetes.io/aws-load-balancer-type: nlb`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A type of a Node's address (`status.addresses[].type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum NodeAddressType {
    /// Reachable from outside the cluster's network.
    ExternalIP,
    /// A DNS name resolving to an external IP.
    ExternalDNS,
    /// Reachable within the cluster's network.
    InternalIP,
    /// A DNS name resolving to an internal IP.
    InternalDNS,
    /// The node's host name.
    Hostname,
}

impl NodeAddressType {
    /// The name Kubernetes gives the type.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAddressType::ExternalIP => "ExternalIP",
            NodeAddressType::ExternalDNS => "ExternalDNS",
            NodeAddressType::InternalIP => "InternalIP",
            NodeAddressType::InternalDNS => "InternalDNS",
            NodeAddressType::Hostname => "Hostname",
        }
    }
}

/// The Service type of external access.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ExternalServiceType {
    /// A node port per broker.
    NodePort,
    /// A load balancer per broker.
    LoadBalancer,
}

/// Scheduling of every pod.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingSpec {
    /// Affinity (added to the operator's anti-affinity between members of a group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Topology spread constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Keep the members of a group on different nodes (required anti-affinity; default true).
    #[serde(default = "yes")]
    pub spread_group_members: bool,
}

impl Default for SchedulingSpec {
    fn default() -> Self {
        SchedulingSpec {
            affinity: None,
            tolerations: Vec::new(),
            topology_spread_constraints: Vec::new(),
            node_selector: BTreeMap::new(),
            spread_group_members: true,
        }
    }
}

/// What the operator observed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RocketMQClusterStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Progressing`, `Degraded`, `FailoverInProgress`, `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The NameServers' stable addresses (`host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_server_addresses: Vec<String>,
    /// Each group's current master.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupStatus>,
    /// Groups a scale-in is removing, while their consumers drain them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draining: Vec<DrainStatus>,
}

/// A broker group on its way out: read-only, waiting for its consumers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainStatus {
    /// The group's `brokerName`.
    pub name: String,
    /// When the scale-in took its write permission away.
    pub since: Time,
    /// Messages its consumer groups have not consumed yet, when the operator could read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<i64>,
}

/// One group's current master.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    /// The group's `brokerName`.
    pub name: String,
    /// The pod that is master now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_pod: Option<String>,
    /// The group's epoch (raised by every failover and switchover).
    #[serde(default)]
    pub epoch: i64,
    /// Its master holds the cluster's topics and subscription groups: there from the start, or
    /// copied from the other groups after a scale-out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seeded: bool,
}

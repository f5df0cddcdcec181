//! One broker group: its ConfigMap, headless Service, StatefulSet (ordinal = initial BrokerId),
//! PodDisruptionBudget and the Service that always reaches its current master (pods carry
//! `rmq.io/role`, kept by the operator from what the brokers report).
//!
//! The StatefulSet rolls `OnDelete`: the operator deletes pods itself, slaves first and the master
//! after a switchover ([`crate::rollout`]). A config change changes the template's
//! `rmq.io/config-hash` annotation, hence the StatefulSet's revision.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapVolumeSource, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm,
    PodAntiAffinity, PodTemplateSpec, Service, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::external::Overlays;
use super::namesrv::service_port;
use super::{broker_conf, child_meta, container, field_env, labels, names, pod_spec, port, probe};
use super::{BROKER_ADMIN_PORT, BROKER_HA_PORT, BROKER_METRICS_PORT, BROKER_PORT, BROKER_VIP_PORT, CONF_DIR, DATA_DIR};
use crate::crd::cluster::{ExternalServiceType, RetentionPolicy, RocketMQCluster};

const COMPONENT: &str = "broker";
/// The label naming a pod's broker group.
pub const GROUP_LABEL: &str = "rmq.io/broker-group";
/// The label the operator keeps on each broker pod: `master` or `slave`.
pub const ROLE_LABEL: &str = "rmq.io/role";
/// The template annotation that changes with the group's configuration.
pub const CONFIG_HASH: &str = "rmq.io/config-hash";

/// The labels of group `group`'s objects and pods.
pub fn group_labels(cluster: &RocketMQCluster, group: i32) -> BTreeMap<String, String> {
    let mut l = labels(cluster, COMPONENT);
    l.insert(GROUP_LABEL.to_owned(), names::broker_group(cluster, group));
    l
}

/// `broker.conf` and the per-pod overlays.
pub fn config_map(cluster: &RocketMQCluster, group: i32) -> ConfigMap {
    config_map_with_external(cluster, group, &Overlays::new())
}

/// [`config_map`] with each pod's external address, by ordinal (`spec.externalAccess`).
pub fn config_map_with_external(cluster: &RocketMQCluster, group: i32, external: &Overlays) -> ConfigMap {
    ConfigMap {
        metadata: child_meta(cluster, names::broker_group(cluster, group), group_labels(cluster, group)),
        data: Some(broker_conf::config_files_with_external(cluster, group, external)),
        ..ConfigMap::default()
    }
}

/// The headless Service giving each member its stable DNS name.
pub fn headless_service(cluster: &RocketMQCluster, group: i32) -> Service {
    let labels = group_labels(cluster, group);
    Service {
        metadata: child_meta(cluster, names::broker_group(cluster, group), labels.clone()),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels),
            ports: Some(service_ports()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The Service selecting whichever member is master now.
pub fn master_service(cluster: &RocketMQCluster, group: i32) -> Service {
    let mut selector = group_labels(cluster, group);
    selector.insert(ROLE_LABEL.to_owned(), "master".to_owned());
    Service {
        metadata: child_meta(cluster, names::master_service(cluster, group), group_labels(cluster, group)),
        spec: Some(ServiceSpec { selector: Some(selector), ports: Some(service_ports()), ..ServiceSpec::default() }),
        ..Service::default()
    }
}

fn service_ports() -> Vec<k8s_openapi::api::core::v1::ServicePort> {
    vec![
        service_port("remoting", BROKER_PORT),
        service_port("vip", BROKER_VIP_PORT),
        service_port("ha", BROKER_HA_PORT),
        service_port("admin", BROKER_ADMIN_PORT),
        service_port("metrics", BROKER_METRICS_PORT),
    ]
}

/// At most one member of a group down by choice (drains, node upgrades).
pub fn disruption_budget(cluster: &RocketMQCluster, group: i32) -> PodDisruptionBudget {
    let labels = group_labels(cluster, group);
    PodDisruptionBudget {
        metadata: child_meta(cluster, names::broker_group(cluster, group), labels.clone()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector { match_labels: Some(labels), ..LabelSelector::default() }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

/// The group's StatefulSet.
pub fn stateful_set(cluster: &RocketMQCluster, group: i32) -> StatefulSet {
    stateful_set_with_external(cluster, group, &Overlays::new())
}

/// [`stateful_set`] whose configuration hash covers each pod's external address, so a changed
/// one (a recreated Service) restarts the pod that advertises it.
pub fn stateful_set_with_external(cluster: &RocketMQCluster, group: i32, external: &Overlays) -> StatefulSet {
    let spec = &cluster.spec.broker;
    let labels = group_labels(cluster, group);
    let metrics = cluster.spec.metrics.enabled.then_some(BROKER_METRICS_PORT);
    let mut server = container(cluster, "broker");
    server.command = Some(vec!["rmq-broker".to_owned()]);
    let mut args: Vec<String> =
        ["-c", &format!("{CONF_DIR}/broker.conf"), "-c", &format!("{CONF_DIR}/pod-$(POD_INDEX).conf")]
            .map(str::to_owned)
            .to_vec();
    let mut env = vec![
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_IP", "status.podIP"),
        field_env("POD_INDEX", "metadata.labels['apps.kubernetes.io/pod-index']"),
    ];
    let external_file =
        super::external::overlay_file(cluster, "$(POD_INDEX)").map(|f| format!("{CONF_DIR}/{f}")).unwrap_or_default();
    match super::external::service_type(cluster) {
        // Clients reach the broker at its node's address and its Service's node port; its
        // slaves still replicate from its pod IP.
        Some(ExternalServiceType::NodePort) => {
            env.push(field_env("HOST_IP", "status.hostIP"));
            args.extend(["-c", &external_file].map(str::to_owned));
            // Its node's address of the chosen type, from the file named after its node.
            if super::external::node_address_type(cluster).is_some() {
                env.push(field_env("NODE_NAME", "spec.nodeName"));
                args.extend(["-c".to_owned(), format!("{}/$(NODE_NAME).conf", super::external::NODE_ADDRESSES_DIR)]);
            }
            args.extend(["--set", "brokerIP1=$(HOST_IP)", "--set", "brokerIP2=$(POD_IP)"].map(str::to_owned));
        }
        // Clients reach it at its load balancer's address (the file's brokerAdvertisedHost).
        Some(ExternalServiceType::LoadBalancer) => {
            args.extend(["-c", &external_file, "--set", "brokerIP1=$(POD_IP)"].map(str::to_owned));
        }
        None => args.extend(["--set", "brokerIP1=$(POD_IP)"].map(str::to_owned)),
    }
    server.args = Some(args);
    server.env = Some(env);
    server.ports = Some(vec![
        port("remoting", BROKER_PORT),
        port("vip", BROKER_VIP_PORT),
        port("ha", BROKER_HA_PORT),
        port("admin", BROKER_ADMIN_PORT),
        port("metrics", BROKER_METRICS_PORT),
    ]);
    server.resources = spec.resources.clone();
    server.readiness_probe = Some(probe("/readyz", metrics, BROKER_PORT, 5, 3));
    server.liveness_probe = Some(probe("/healthz", metrics, BROKER_PORT, 10, 6));
    let (secret_volumes, secret_mounts) = super::security::broker_volumes(cluster);
    let mut mounts = vec![
        VolumeMount { name: "data".to_owned(), mount_path: DATA_DIR.to_owned(), ..VolumeMount::default() },
        VolumeMount {
            name: "config".to_owned(),
            mount_path: CONF_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
    ];
    mounts.extend(secret_mounts);
    let node_addresses = super::external::node_addresses_volume(cluster);
    mounts.extend(node_addresses.iter().map(|(_, mount)| mount.clone()));
    server.volume_mounts = Some(mounts);
    let mut pod = pod_spec(cluster, vec![server]);
    let mut volumes = vec![Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource { name: names::broker_group(cluster, group), ..Default::default() }),
        ..Volume::default()
    }];
    volumes.extend(secret_volumes);
    volumes.extend(node_addresses.map(|(volume, _)| volume));
    pod.volumes = Some(volumes);
    // A broker flushes and deregisters on SIGTERM; give a large CommitLog time to sync.
    pod.termination_grace_period_seconds = Some(60);
    if cluster.spec.scheduling.spread_group_members {
        spread_members(&mut pod.affinity, &labels);
    }
    let mut annotations = super::pod_annotations(cluster);
    annotations.insert(CONFIG_HASH.to_owned(), config_hash(cluster, group, external));
    StatefulSet {
        metadata: child_meta(cluster, names::broker_group(cluster, group), labels.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(spec.replicas_per_group),
            service_name: Some(names::broker_group(cluster, group)),
            pod_management_policy: Some("Parallel".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".to_owned()),
                rolling_update: None,
            }),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![volume_claim(cluster)]),
            persistent_volume_claim_retention_policy: Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some(retention(spec.storage.when_scaled)),
                when_deleted: Some(retention(spec.storage.when_deleted)),
            }),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

fn retention(policy: RetentionPolicy) -> String {
    match policy {
        RetentionPolicy::Retain => "Retain",
        RetentionPolicy::Delete => "Delete",
    }
    .to_owned()
}

fn volume_claim(cluster: &RocketMQCluster) -> PersistentVolumeClaim {
    let storage = &cluster.spec.broker.storage;
    PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("data".to_owned()), ..ObjectMeta::default() },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(storage.size.clone()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// Adds a required anti-affinity keeping members of one group on different nodes to `affinity`.
fn spread_members(affinity: &mut Option<Affinity>, group: &BTreeMap<String, String>) {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector { match_labels: Some(group.clone()), ..LabelSelector::default() }),
        topology_key: "kubernetes.io/hostname".to_owned(),
        ..PodAffinityTerm::default()
    };
    let anti =
        affinity.get_or_insert_with(Affinity::default).pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
    anti.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(term);
}

/// A CRC32 of the group's configuration files, hex.
pub fn config_hash(cluster: &RocketMQCluster, group: i32, external: &Overlays) -> String {
    let mut crc = crc32fast::Hasher::new();
    for (name, text) in broker_conf::config_files_with_external(cluster, group, external) {
        crc.update(name.as_bytes());
        crc.update(&[0]);
        crc.update(text.as_bytes());
        crc.update(&[0]);
    }
    format!("{:08x}", crc.finalize())
}

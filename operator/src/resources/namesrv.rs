//! The NameServers: a StatefulSet, the headless Service that gives each pod its stable DNS name
//! (published before the pod is ready, so brokers can resolve every NameServer at once), and a
//! ConfigMap holding the current NameServer list, which every pod serves on Apache's HTTP
//! address endpoint (`http://<cluster>-namesrv.<ns>.svc:8080/rocketmq/nsaddr`), so clients
//! configured with only `rocketmq.namesrv.domain` follow NameServers as they come and go. The
//! list reaches running pods through the mounted ConfigMap, without a restart.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, PodTemplateSpec, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::{child_meta, container, field_env, labels, names, pod_spec, port, probe};
use super::{CONF_DIR, NAMESRV_ADDRESS_PORT, NAMESRV_METRICS_PORT, NAMESRV_PORT};
use crate::crd::cluster::RocketMQCluster;

const COMPONENT: &str = "namesrv";

/// The ConfigMap key (and file name) of the NameServer list.
pub const ADDRESS_LIST_KEY: &str = "nsaddr";

/// The ConfigMap with the NameServer list (`host:port;host:port`, stable DNS names).
pub fn config_map(cluster: &RocketMQCluster) -> ConfigMap {
    ConfigMap {
        metadata: child_meta(cluster, names::namesrv(cluster), labels(cluster, COMPONENT)),
        data: Some(BTreeMap::from([(ADDRESS_LIST_KEY.to_owned(), names::namesrv_addrs(cluster).join(";"))])),
        ..ConfigMap::default()
    }
}

/// The NameServers' headless Service.
pub fn service(cluster: &RocketMQCluster) -> Service {
    Service {
        metadata: child_meta(cluster, names::namesrv(cluster), labels(cluster, COMPONENT)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels(cluster, COMPONENT)),
            ports: Some(vec![
                service_port("remoting", NAMESRV_PORT),
                service_port("metrics", NAMESRV_METRICS_PORT),
                service_port("nsaddr", NAMESRV_ADDRESS_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A named TCP Service port.
pub fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort { name: Some(name.to_owned()), port, ..ServicePort::default() }
}

/// The NameServers' StatefulSet.
pub fn stateful_set(cluster: &RocketMQCluster) -> StatefulSet {
    let metrics = cluster.spec.metrics.enabled.then_some(NAMESRV_METRICS_PORT);
    let mut server = container(cluster, "namesrv");
    server.command = Some(vec!["rmq-namesrv".to_owned()]);
    let list = format!("{CONF_DIR}/{ADDRESS_LIST_KEY}");
    let mut args: Vec<String> =
        [format!("addressServerPort={NAMESRV_ADDRESS_PORT}"), format!("addressListFile={list}")]
            .into_iter()
            .flat_map(|kv| ["--set".to_owned(), kv])
            .collect();
    args.extend(super::security::namesrv_args(cluster));
    server.args = Some(args);
    let (tls_volumes, tls_mounts) = super::security::namesrv_volumes(cluster);
    server.env = Some(vec![field_env("POD_NAME", "metadata.name")]);
    server.ports = Some(vec![
        port("remoting", NAMESRV_PORT),
        port("metrics", NAMESRV_METRICS_PORT),
        port("nsaddr", NAMESRV_ADDRESS_PORT),
    ]);
    let mut mounts = vec![VolumeMount {
        name: "config".to_owned(),
        mount_path: CONF_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }];
    mounts.extend(tls_mounts);
    server.volume_mounts = Some(mounts);
    server.resources = cluster.spec.name_server.resources.clone();
    server.readiness_probe = Some(probe("/readyz", metrics, NAMESRV_PORT, 5, 3));
    server.liveness_probe = Some(probe("/healthz", metrics, NAMESRV_PORT, 10, 6));
    let labels = labels(cluster, COMPONENT);
    StatefulSet {
        metadata: child_meta(cluster, names::namesrv(cluster), labels.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(cluster.spec.name_server.replicas),
            service_name: Some(names::namesrv(cluster)),
            pod_management_policy: Some("Parallel".to_owned()),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(super::pod_annotations(cluster)).filter(|a| !a.is_empty()),
                    ..ObjectMeta::default()
                }),
                spec: Some({
                    let mut pod = pod_spec(cluster, vec![server]);
                    let config = Volume {
                        name: "config".to_owned(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: names::namesrv(cluster),
                            ..ConfigMapVolumeSource::default()
                        }),
                        ..Volume::default()
                    };
                    pod.volumes = Some(std::iter::once(config).chain(tls_volumes).collect());
                    pod
                }),
            },
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

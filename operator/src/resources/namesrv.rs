//! The NameServers: a StatefulSet and the headless Service that gives each pod its stable DNS
//! name (published before the pod is ready, so brokers can resolve every NameServer at once).

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{PodTemplateSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::{child_meta, container, field_env, labels, names, pod_spec, port, probe};
use super::{NAMESRV_METRICS_PORT, NAMESRV_PORT};
use crate::crd::cluster::RocketMQCluster;

const COMPONENT: &str = "namesrv";

/// The NameServers' headless Service.
pub fn service(cluster: &RocketMQCluster) -> Service {
    Service {
        metadata: child_meta(cluster, names::namesrv(cluster), labels(cluster, COMPONENT)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels(cluster, COMPONENT)),
            ports: Some(vec![service_port("remoting", NAMESRV_PORT), service_port("metrics", NAMESRV_METRICS_PORT)]),
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
    server.env = Some(vec![field_env("POD_NAME", "metadata.name")]);
    server.ports = Some(vec![port("remoting", NAMESRV_PORT), port("metrics", NAMESRV_METRICS_PORT)]);
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
                    annotations: (!cluster.spec.pod_annotations.is_empty())
                        .then(|| cluster.spec.pod_annotations.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(cluster, vec![server])),
            },
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

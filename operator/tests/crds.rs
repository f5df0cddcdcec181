//! The checked-in CRDs (`crds/*.yaml`) are exactly what the Rust types generate (run
//! `cargo run -p rmq-operator --bin crdgen` after changing a type), and they carry what the
//! apiserver needs: group and version, namespaced kinds with a status subresource, printer
//! columns, and the CEL rules that refuse bad specs.

use std::path::PathBuf;

use kube::CustomResourceExt;
use rmq_operator::crd::cluster::{RocketMQCluster, OPERATOR_OWNED_KEYS};
use rmq_operator::crd::topic::Topic;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("crds")
}

#[test]
fn checked_in_crds_match_the_rust_types() {
    for (name, generated) in rmq_operator::crd::all_yaml().expect("serializes") {
        let path = crds_dir().join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == generated,
            "{} differs from the Rust types: run `cargo run -p rmq-operator --bin crdgen`",
            path.display()
        );
    }
}

#[test]
fn both_kinds_are_namespaced_with_a_status_subresource() {
    for crd in [RocketMQCluster::crd(), Topic::crd()] {
        assert_eq!(crd.spec.group, "rmq.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(version.served && version.storage);
        assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(), "{}", crd.spec.names.kind);
        assert!(version.additional_printer_columns.as_ref().is_some_and(|c| !c.is_empty()));
    }
    assert_eq!(RocketMQCluster::crd().spec.names.short_names, Some(vec!["rmqc".to_owned()]));
}

#[test]
fn the_cel_rule_refuses_every_operator_owned_broker_key() {
    let yaml = serde_yaml::to_string(&RocketMQCluster::crd()).expect("yaml");
    let rule = yaml.lines().find(|l| l.contains("self.all(k, !(k in")).expect("the broker.config rule");
    for key in OPERATOR_OWNED_KEYS {
        assert!(rule.contains(&format!("'{key}'")), "{key} is owned but not refused by the CEL rule");
    }
    let listed = rule.matches("', '").count() + 1;
    assert_eq!(listed, OPERATOR_OWNED_KEYS.len(), "the rule lists a key OPERATOR_OWNED_KEYS does not");
}

#[test]
fn a_minimal_cluster_gets_the_documented_defaults() {
    let cluster: RocketMQCluster = serde_yaml::from_str(
        "apiVersion: rmq.io/v1alpha1\nkind: RocketMQCluster\nmetadata: {name: demo}\n\
         spec: {image: 'rmq:dev', broker: {groups: 2, storage: {size: 10Gi}}}\n",
    )
    .expect("parses");
    let spec = &cluster.spec;
    assert_eq!(spec.name_server.replicas, 2);
    assert_eq!(spec.broker.replicas_per_group, 1);
    assert_eq!(spec.broker.replication.in_sync_replicas, 1);
    assert!(spec.broker.replication.automatic_failover && spec.metrics.enabled);
    assert!(spec.scheduling.spread_group_members);
}

//! `broker.conf` of a broker group (shared by its pods) and one overlay per pod (`pod-<i>.conf`,
//! layered with a second `-c`): Apache's keys, the operator's owned ones first, then the user's
//! `broker.config`. A pod's address (`brokerIP1`) is its pod IP, passed with `--set` at start
//! (with external access, its node's IP, and its node port in `pod-<i>-external.conf`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::external::Overlays;
use super::{names, BROKER_ADMIN_PORT, BROKER_HA_PORT, BROKER_METRICS_PORT, BROKER_PORT, DATA_DIR};
use crate::crd::cluster::{FlushDiskType, ReplicationMode, RocketMQCluster};

/// `fencingLease` (ms) when the group fails over automatically: 40% of the failover timeout, so a
/// cut-off master stops writing well before a slave is promoted.
pub fn fencing_lease_ms(cluster: &RocketMQCluster) -> u64 {
    u64::try_from(cluster.spec.broker.replication.failover_timeout_seconds).unwrap_or(10) * 400
}

/// The ConfigMap's data: `broker.conf` and `pod-<i>.conf` for each member.
pub fn config_files(cluster: &RocketMQCluster, group: i32) -> BTreeMap<String, String> {
    config_files_with_external(cluster, group, &Overlays::new())
}

/// [`config_files`] with each pod's external address (`spec.externalAccess`), by ordinal.
pub fn config_files_with_external(
    cluster: &RocketMQCluster,
    group: i32,
    external: &Overlays,
) -> BTreeMap<String, String> {
    let mut files = BTreeMap::from([("broker.conf".to_owned(), shared(cluster, group))]);
    for ordinal in 0..cluster.spec.broker.replicas_per_group {
        files.insert(format!("pod-{ordinal}.conf"), per_pod(cluster, group, ordinal));
        // Its own file, read only by the external pod template of its type.
        if let Some(name) = super::external::overlay_file(cluster, ordinal) {
            files.insert(name, external.get(&ordinal).cloned().unwrap_or_default());
        }
    }
    files
}

fn shared(cluster: &RocketMQCluster, group: i32) -> String {
    let broker = &cluster.spec.broker;
    let mut keys: Vec<(&str, String)> = vec![
        ("brokerClusterName", kube::ResourceExt::name_any(cluster)),
        ("brokerName", names::broker_group(cluster, group)),
        ("namesrvAddr", names::namesrv_addrs(cluster).join(";")),
        ("listenPort", BROKER_PORT.to_string()),
        ("haListenPort", BROKER_HA_PORT.to_string()),
        ("grpcAdminPort", BROKER_ADMIN_PORT.to_string()),
        ("storePathRootDir", format!("{DATA_DIR}/store")),
        ("storePathCommitLog", format!("{DATA_DIR}/store/commitlog")),
        (
            "flushDiskType",
            match broker.flush_disk_type {
                FlushDiskType::ASYNC_FLUSH => "ASYNC_FLUSH",
                FlushDiskType::SYNC_FLUSH => "SYNC_FLUSH",
            }
            .to_owned(),
        ),
        ("inSyncReplicas", broker.replication.in_sync_replicas.to_string()),
        ("metricsExporterType", if cluster.spec.metrics.enabled { "PROM" } else { "DISABLE" }.to_owned()),
        ("metricsPromExporterPort", BROKER_METRICS_PORT.to_string()),
    ];
    if fenced(cluster) {
        keys.push(("fencingLease", fencing_lease_ms(cluster).to_string()));
    }
    if broker.advertise_master_service {
        let service = names::master_service(cluster, group);
        let host = format!("{service}.{}.svc", names::namespace(cluster));
        keys.push(("masterServiceAddress", format!("{host}:{BROKER_PORT}")));
    }
    keys.extend(super::security::broker_keys(cluster));
    let mut out = String::from("# Written by rmq-operator; edit spec.broker.config of the RocketMQCluster instead.\n");
    for (k, v) in keys {
        let _ = writeln!(out, "{k}={v}");
    }
    for (k, v) in &broker.config {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

/// Whether the groups fail over automatically, their masters holding a fencing lease. A
/// promotion needs a majority of the group's members, so it takes three: a group of two could
/// never fail over (the survivor alone is no majority), and its master would stop writing
/// whenever its only slave is gone.
pub fn fenced(cluster: &RocketMQCluster) -> bool {
    let broker = &cluster.spec.broker;
    broker.replication.automatic_failover && broker.replicas_per_group >= 3
}

fn per_pod(cluster: &RocketMQCluster, group: i32, ordinal: i32) -> String {
    let broker = &cluster.spec.broker;
    // The ordinal is the initial BrokerId; after a failover the broker's own replicaState.json
    // (on its volume) wins, so a restarted pod resumes its latest role.
    let role = match (ordinal, broker.replication.mode) {
        (0, ReplicationMode::Sync) => "SYNC_MASTER",
        (0, ReplicationMode::Async) => "ASYNC_MASTER",
        _ => "SLAVE",
    };
    let mut out = format!("brokerId={ordinal}\nbrokerRole={role}\n");
    if fenced(cluster) {
        let peers: Vec<String> = names::admin_addrs(cluster, group)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i as i32 != ordinal)
            .map(|(_, a)| a)
            .collect();
        let _ = writeln!(out, "groupPeers={}", peers.join(","));
    }
    out
}

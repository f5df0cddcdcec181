//! Scrape-time gauges of durability and replication: CommitLog bytes not yet flushed (Apache's
//! `rocketmq_storage_flush_behind_bytes`), and rmq's replication view — per-slave lag as the
//! master sees it, the in-sync copy count, whether a slave is receiving from its master, the
//! epoch (raised by each failover), and whether the broker accepts writes.
//! Computed from broker state when `/metrics` is scraped; nothing runs on the send path.

use std::sync::{Mutex, Weak};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts};

use super::names::*;
use crate::runtime::Broker;

struct Gauges {
    flush_behind: IntGaugeVec,
    lag: IntGaugeVec,
    in_sync: IntGaugeVec,
    receiving: IntGaugeVec,
    epoch: IntGaugeVec,
    writable: IntGaugeVec,
}

fn int(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"))
}

impl Gauges {
    fn new() -> Self {
        Gauges {
            flush_behind: int(
                STORAGE_FLUSH_BEHIND,
                "Broker flush behind bytes",
                &[LABEL_STORAGE_TYPE, LABEL_STORAGE_MEDIUM],
            ),
            lag: int(REPLICATION_LAG, "rmq: CommitLog bytes a slave has not acknowledged", &[LABEL_SLAVE]),
            in_sync: int(IN_SYNC_REPLICAS, "rmq: copies in sync with the master, the master's included", &[]),
            receiving: int(REPLICATION_RECEIVING, "rmq: 1 while a slave receives from its master", &[]),
            epoch: int(REPLICATION_EPOCH, "rmq: the group's replication epoch this broker knows", &[]),
            writable: int(BROKER_WRITABLE, "rmq: 1 while this broker accepts writes", &[]),
        }
    }

    fn all(&self) -> [&IntGaugeVec; 6] {
        [&self.flush_behind, &self.lag, &self.in_sync, &self.receiving, &self.epoch, &self.writable]
    }
}

/// The collector; holds the broker weakly (the broker owns the registry).
pub struct ReplicationCollector {
    broker: Weak<Broker>,
    gauges: Mutex<Gauges>,
    descs: Vec<Desc>,
}

impl ReplicationCollector {
    /// A collector reading `broker`.
    pub fn new(broker: Weak<Broker>) -> Self {
        let gauges = Gauges::new();
        let descs = gauges.all().iter().flat_map(|c| c.desc()).cloned().collect();
        ReplicationCollector { broker, gauges: Mutex::new(gauges), descs }
    }
}

impl Collector for ReplicationCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(broker) = self.broker.upgrade() else { return Vec::new() };
        let g = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        for v in g.all() {
            v.reset();
        }
        let behind = i64::try_from(broker.store.commit_log_flush_behind()).unwrap_or(i64::MAX);
        g.flush_behind.with_label_values(&["local", "disk"]).set(behind);
        let replication = &broker.replication;
        g.epoch.with_label_values::<&str>(&[]).set(i64::try_from(replication.epoch()).unwrap_or(i64::MAX));
        g.writable.with_label_values::<&str>(&[]).set(i64::from(replication.writable().is_ok()));
        if replication.is_slave() {
            g.receiving.with_label_values::<&str>(&[]).set(i64::from(replication.is_receiving()));
        } else {
            let end = broker.store.commit_log_max_offset();
            for slave in replication.slaves() {
                g.lag.with_label_values(&[&slave.addr.to_string()]).set((end - slave.acked).max(0));
            }
            g.in_sync.with_label_values::<&str>(&[]).set(replication.in_sync_replicas(end) as i64);
        }
        g.all().iter().flat_map(|c| c.collect()).collect()
    }
}

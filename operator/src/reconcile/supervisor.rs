//! One failover supervisor per broker group of every cluster: the failover controller's
//! [`Group`] (`rmq-controller`) polling the members' gRPC admin APIs, promoting the most
//! caught-up slave under a new epoch when the master stays unreachable, and re-pointing a
//! returning old master. The reconciler starts, reshapes and stops them and reads their views.

use rmq_admin_api::connect::ClientTls;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmq_controller::config::{ControllerConfig, GroupConfig};
use rmq_controller::group::{ControlError, Group, GroupView};
use tokio::task::JoinHandle;

use crate::crd::cluster::RocketMQCluster;

/// The failover controller settings of `cluster`'s supervisors: its failover timeout, and the
/// lease its brokers hold ([`crate::resources::broker_conf::fencing_lease_ms`]).
pub fn controller_config(cluster: &RocketMQCluster, admin_tls: Option<ClientTls>) -> ControllerConfig {
    let timeout = u64::try_from(cluster.spec.broker.replication.failover_timeout_seconds).unwrap_or(10);
    ControllerConfig {
        failover_after: Duration::from_secs(timeout),
        fencing_lease: Duration::from_millis(crate::resources::broker_conf::fencing_lease_ms(cluster)),
        tick: Duration::from_secs(1),
        call_timeout: Duration::from_secs(2),
        catch_up_timeout: Duration::from_secs(30),
        admin_tls,
        ..ControllerConfig::default()
    }
}

struct Supervised {
    members: Vec<String>,
    config: ControllerConfig,
    group: Arc<Group>,
    task: JoinHandle<()>,
    /// The failover count last reported (Events and metrics fire on a change).
    reported_failovers: u64,
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The supervisors, by cluster (`namespace/name`) and group name.
#[derive(Default)]
pub struct Supervisors {
    clusters: Mutex<HashMap<String, HashMap<String, Supervised>>>,
}

/// What a reconcile learns of one group.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The supervisor's last view.
    pub view: GroupView,
    /// Failovers since the previous reconcile looked.
    pub new_failovers: u64,
}

impl Supervisors {
    /// Makes `cluster`'s supervised groups exactly `groups` (a group whose members or failover
    /// timeout changed is restarted; new admin-TLS certificates are swapped in) and returns what each saw, by group name.
    pub fn ensure(&self, cluster: &str, config: &ControllerConfig, groups: &[GroupConfig]) -> HashMap<String, Seen> {
        let mut clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        let supervised = clusters.entry(cluster.to_owned()).or_default();
        supervised.retain(|name, s| {
            groups.iter().any(|g| &g.name == name && g.members == s.members)
                && s.config.failover_after == config.failover_after
        });
        for s in supervised.values_mut().filter(|s| s.config.admin_tls != config.admin_tls) {
            // A rotated certificate: swapped in place, so a failover in progress is not cut.
            s.group.set_tls(config.admin_tls.as_ref());
            s.config.admin_tls = config.admin_tls.clone();
        }
        for g in groups {
            if supervised.contains_key(&g.name) {
                continue;
            }
            let Ok(group) = Group::new(g, config.admin_tls.as_ref(), config.call_timeout) else { continue };
            let group = Arc::new(group);
            let task = tokio::spawn(supervise(Arc::clone(&group), config.clone()));
            supervised.insert(
                g.name.clone(),
                Supervised { members: g.members.clone(), config: config.clone(), group, task, reported_failovers: 0 },
            );
        }
        supervised
            .iter_mut()
            .map(|(name, s)| {
                let view = s.group.view();
                let new_failovers = view.failovers.saturating_sub(s.reported_failovers);
                s.reported_failovers = view.failovers;
                (name.clone(), Seen { view, new_failovers })
            })
            .collect()
    }

    /// Hands group `group` of `cluster` over to slave `target` (BrokerId) with nothing lost.
    pub async fn switchover(&self, cluster: &str, group: &str, target: Option<i64>) -> Result<u64, ControlError> {
        let handle = {
            let clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
            clusters.get(cluster).and_then(|c| c.get(group)).map(|s| (Arc::clone(&s.group), s.config.clone()))
        };
        let Some((group, config)) = handle else { return Err(ControlError::NoMaster) };
        group.switchover(&config, target).await.map(|(epoch, _)| epoch)
    }

    /// Stops `cluster`'s supervisors (the cluster is gone).
    pub fn remove(&self, cluster: &str) {
        self.clusters.lock().unwrap_or_else(PoisonError::into_inner).remove(cluster);
    }

    /// Stops every supervisor.
    pub fn stop_all(&self) {
        self.clusters.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

async fn supervise(group: Arc<Group>, config: ControllerConfig) {
    let mut tick = tokio::time::interval(config.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        group.tick(&config, true).await;
    }
}

//! rmq's failover controller: watches broker groups over their gRPC admin API, fails a dead
//! master over to its most caught-up slave under a new epoch, keeps every member pointed at the
//! current master, and hands mastership over on request (switchover). A library (the operator
//! embeds it) and a binary, `rmq-controller`, run as one to three replicas for clusters outside
//! Kubernetes.
//!
//! - [`config`]: replica id and peers, the groups watched, timings.
//! - [`member`]: one broker and the calls made on it.
//! - [`decide`]: the decisions as pure functions (who is master, whom to re-point, whom to promote).
//! - [`group`]: one group's polling, failover and switchover.
//! - [`election`]: which replica acts.
//! - [`service`]: the controller's own gRPC API.
//!
//! Safety does not rest on the election: brokers persist the highest epoch they accepted, a
//! promotion needs a majority of the group to accept its epoch first, and a master writes only
//! while a majority confirms its epoch within its lease (`broker/src/ha/fence.rs`).

pub mod config;
pub mod decide;
pub mod election;
pub mod group;
pub mod member;
pub mod service;

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::ControllerConfig;
use crate::election::Election;
use crate::group::Group;

/// A controller replica: its groups and its election state.
#[derive(Debug)]
pub struct Controller {
    config: ControllerConfig,
    groups: Vec<Arc<Group>>,
    election: Election,
}

impl Controller {
    /// A controller for `config` (validated).
    pub fn new(config: ControllerConfig) -> Result<Controller, String> {
        config.validate()?;
        let groups = config
            .groups
            .iter()
            .map(|g| Group::new(g, config.admin_tls.as_ref(), config.call_timeout).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let election = Election::new(config.id, &config.peers)?;
        Ok(Controller { config, groups, election })
    }

    /// Its settings.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The groups watched.
    pub fn groups(&self) -> &[Arc<Group>] {
        &self.groups
    }

    /// The election state.
    pub fn election(&self) -> &Election {
        &self.election
    }

    /// Whether this replica acts.
    pub fn is_leader(&self) -> bool {
        self.election.is_leader()
    }

    /// Runs the election and one loop per group until `stop`.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let mut tasks = Vec::new();
        for group in &self.groups {
            let (controller, group, mut stop) = (Arc::clone(&self), Arc::clone(group), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(controller.config.tick);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => group.tick(&controller.config, controller.is_leader()).await,
                        _ = stop.changed() => return,
                    }
                }
            }));
        }
        self.election.run(stop).await;
        for task in tasks {
            let _ = task.await;
        }
    }
}

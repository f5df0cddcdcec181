//! Role changes at run time, and the replica state that survives restarts
//! (`<root>/config/replicaState.json`):
//! - a slave promoted to master (BrokerId 0, a higher epoch);
//! - a broker told to follow a new master: a slave re-points at once; a former master, or a
//!   slave holding records the new master lacks, records the cut and restarts in place, so the
//!   store drops that tail at open ([`rmq_store::StoreConfig::truncate_commit_log_to`]) and it
//!   comes back as a slave, whatever `broker.conf` says; a promoted slave likewise comes back as
//!   the master.
//!
//! The epoch is registered with the NameServers as the topic table's `stateVersion`, so a
//! NameServer prefers the newest master of a group over a former one with an older epoch.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{role_code, Replication};
use crate::config::BrokerRole;
use crate::meta::{load_json, save_json};

/// What a broker must remember of its replica role across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaState {
    /// The group's epoch this broker knows.
    pub epoch: u64,
    /// Set by a follow: this broker is a slave of that master, whatever `broker.conf` says.
    pub follow: Option<Following>,
    /// Set by a follow that needs a cut: the CommitLog is cut back here at the next open.
    pub truncate_to: Option<i64>,
    /// Set by a fence: `epoch` was accepted and no master is known at it yet.
    pub fenced: bool,
    /// On a master: where its epoch starts in the CommitLog (its end when it was promoted).
    pub epoch_start: i64,
    /// Set by a promotion: this broker is its group's master (BrokerId 0), whatever
    /// `broker.conf` says, until a follow makes it a slave again.
    pub promoted: bool,
}

/// The master a broker was told to follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Following {
    /// This broker's BrokerId as a slave (> 0).
    pub broker_id: i64,
    /// The master's HA address.
    pub ha_addr: String,
    /// The master's remoting address.
    pub addr: String,
}

/// `<root>/config/replicaState.json`.
pub fn state_file(store_root: &Path) -> PathBuf {
    store_root.join("config").join("replicaState.json")
}

/// The persisted state (default when none was recorded).
pub fn load_state(store_root: &Path) -> ReplicaState {
    load_json(&state_file(store_root)).unwrap_or_default()
}

/// Why a role change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleChangeError {
    /// The requested epoch is below (promote: not above) the one this broker knows.
    #[error("epoch {requested} is stale: this broker knows epoch {current}")]
    StaleEpoch {
        /// The epoch asked for.
        requested: u64,
        /// The epoch this broker knows.
        current: u64,
    },
    /// Only a slave can be promoted.
    #[error("this broker is already a master")]
    AlreadyMaster,
    /// The slave lacks data the caller says the group has; `force` promotes anyway.
    #[error("this slave's CommitLog ends at {have}, behind {needed}; promote with force to lose the difference")]
    Lagging {
        /// Where this slave's CommitLog ends.
        have: i64,
        /// The offset the caller requires.
        needed: i64,
    },
    /// A slave's BrokerId must be above 0.
    #[error("a slave needs a brokerId > 0, not {0}")]
    BadBrokerId(i64),
    /// The state could not be persisted.
    #[error("cannot persist the replica state: {0}")]
    Persist(String),
}

/// What a follow request leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowOutcome {
    /// The slave follows the new master now.
    Following,
    /// The broker restarts to cut its CommitLog back, then follows.
    Restarting,
}

impl Replication {
    pub(super) fn save(&self, state: &ReplicaState) -> Result<(), RoleChangeError> {
        save_json(&self.state_file, state).map_err(|e| RoleChangeError::Persist(e.to_string()))
    }

    /// Makes this slave the group's master with `epoch`: BrokerId 0, `SYNC_MASTER` when sends
    /// need replicas (`inSyncReplicas` ≥ 2) else `ASYNC_MASTER`; it stops following and serves
    /// writes, and the master-only services (delays, timers, transaction checks) start working.
    /// `have` is this broker's CommitLog end; unless `force`, it must reach `needed` (the
    /// highest offset acknowledged in the group). The caller re-registers with the NameServers.
    pub fn promote(&self, epoch: u64, have: i64, needed: i64, force: bool) -> Result<(), RoleChangeError> {
        let current = self.epoch();
        // A fence accepted `epoch` for exactly this promotion; otherwise it must be new. A
        // fenced master promoted again gets its writes back (a switchover that did not happen).
        let fenced_for_it = epoch == current && self.is_fenced();
        if !self.is_slave() && !fenced_for_it {
            return Err(RoleChangeError::AlreadyMaster);
        }
        if epoch <= current && !fenced_for_it {
            return Err(RoleChangeError::StaleEpoch { requested: epoch, current });
        }
        if have < needed && !force {
            return Err(RoleChangeError::Lagging { have, needed });
        }
        self.save(&ReplicaState { epoch, epoch_start: have, promoted: true, ..ReplicaState::default() })?;
        self.epoch.store(epoch, Ordering::Release);
        self.epoch_start.store(have, Ordering::Release);
        self.fenced.store(false, Ordering::Release);
        self.broker_id.store(0, Ordering::Release);
        let role = match self.role() {
            BrokerRole::Slave if self.config.in_sync_replicas > 1 => BrokerRole::SyncMaster,
            BrokerRole::Slave => BrokerRole::AsyncMaster,
            master => master,
        };
        self.role.store(role_code(role), Ordering::Release);
        self.pinned.store(false, Ordering::Release);
        self.set_master(None, None);
        tracing::warn!(epoch, offset = have, lost = (needed - have).max(0), "promoted to master");
        Ok(())
    }

    /// Makes this broker slave `follow.broker_id` of `follow`'s master under `epoch`. The new
    /// master's log starts its epoch at `master_start`: a slave whose CommitLog (ending at
    /// `have`) does not go beyond it re-points at once; a master, or a slave holding more, must
    /// drop what lies beyond, so the state records the cut and the caller restarts the broker.
    pub fn follow(
        &self,
        epoch: u64,
        follow: Following,
        master_start: i64,
        have: i64,
    ) -> Result<FollowOutcome, RoleChangeError> {
        if follow.broker_id <= 0 {
            return Err(RoleChangeError::BadBrokerId(follow.broker_id));
        }
        let current = self.epoch();
        if epoch < current {
            return Err(RoleChangeError::StaleEpoch { requested: epoch, current });
        }
        let cut = !self.is_slave() || have > master_start;
        let state = ReplicaState {
            epoch,
            follow: Some(follow.clone()),
            truncate_to: cut.then_some(master_start),
            ..ReplicaState::default()
        };
        self.save(&state)?;
        self.epoch.store(epoch, Ordering::Release);
        if cut {
            // No write from here to the restart: it would be acknowledged, then cut.
            self.role.store(role_code(BrokerRole::Slave), Ordering::SeqCst);
            tracing::warn!(epoch, master = %follow.addr, cut_to = master_start, have, "restarting to follow the new master");
            return Ok(FollowOutcome::Restarting);
        }
        self.fenced.store(false, Ordering::Release);
        self.broker_id.store(follow.broker_id, Ordering::Release);
        self.pinned.store(true, Ordering::Release);
        self.set_master(Some(follow.ha_addr), Some(follow.addr));
        tracing::info!(epoch, "following a new master");
        Ok(FollowOutcome::Following)
    }

    /// Clears the pending cut once the store has applied it.
    pub fn cut_applied(&self) -> Result<(), RoleChangeError> {
        let state = load_json::<ReplicaState>(&self.state_file).unwrap_or_default();
        if state.truncate_to.is_some() {
            self.save(&ReplicaState { truncate_to: None, ..state })?;
        }
        Ok(())
    }
}

//! Role changes at run time: a slave promoted to master (BrokerId 0, a higher epoch). The epoch
//! is persisted and registered with the NameServers as the topic table's `stateVersion`, so a
//! NameServer prefers the promoted master over a former one that comes back with an older epoch.

use std::path::Path;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{role_code, Replication};
use crate::config::BrokerRole;
use crate::meta::{load_json, save_json};

#[derive(Debug, Default, Serialize, Deserialize)]
struct EpochFile {
    epoch: u64,
}

/// The persisted epoch, 0 when none was recorded.
pub(super) fn load_epoch(path: &Path) -> u64 {
    load_json::<EpochFile>(path).map_or(0, |f| f.epoch)
}

/// Why a role change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleChangeError {
    /// The requested epoch is not above the one this broker knows.
    #[error("epoch {requested} is not above the current epoch {current}")]
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
    /// The epoch could not be persisted.
    #[error("cannot persist the epoch: {0}")]
    Persist(String),
}

impl Replication {
    /// Makes this slave the group's master with `epoch`: BrokerId 0, `SYNC_MASTER` when sends
    /// need replicas (`inSyncReplicas` ≥ 2) else `ASYNC_MASTER`; it stops following and serves
    /// writes, and the master-only services (delays, timers, transaction checks) start working.
    /// `have` is this broker's CommitLog end; unless `force`, it must reach `needed` (the
    /// highest offset acknowledged in the group). The caller re-registers with the NameServers.
    pub fn promote(&self, epoch: u64, have: i64, needed: i64, force: bool) -> Result<(), RoleChangeError> {
        if !self.is_slave() {
            return Err(RoleChangeError::AlreadyMaster);
        }
        let current = self.epoch();
        if epoch <= current {
            return Err(RoleChangeError::StaleEpoch { requested: epoch, current });
        }
        if have < needed && !force {
            return Err(RoleChangeError::Lagging { have, needed });
        }
        save_json(&self.epoch_file, &EpochFile { epoch }).map_err(|e| RoleChangeError::Persist(e.to_string()))?;
        self.epoch.store(epoch, Ordering::Release);
        self.broker_id.store(0, Ordering::Release);
        let role = if self.config.in_sync_replicas > 1 { BrokerRole::SyncMaster } else { BrokerRole::AsyncMaster };
        self.role.store(role_code(role), Ordering::Release);
        self.learn_master(None, None);
        tracing::warn!(epoch, offset = have, lost = (needed - have).max(0), "promoted to master");
        Ok(())
    }
}

//! Subscription groups (`config/subscriptionGroup.json`): created by admins or automatically on
//! first use when `autoCreateSubscriptionGroup` is on.

use std::path::PathBuf;
use std::sync::RwLock;

use tracing::warn;

use super::{load_json, now_ms, save_json};

pub use rmq_remoting::protocol::body::GroupConfig;
/// The persisted file shape.
pub use rmq_remoting::protocol::body::GroupTableBody as GroupFile;

/// Thread-safe group table.
pub struct GroupTable {
    path: PathBuf,
    inner: RwLock<GroupFile>,
}

impl GroupTable {
    /// Loads the table from `<root>/config/subscriptionGroup.json`.
    pub fn load(root: &std::path::Path) -> Self {
        let path = root.join("config").join("subscriptionGroup.json");
        let file = load_json(&path).unwrap_or_default();
        GroupTable { path, inner: RwLock::new(file) }
    }

    fn persist(&self) {
        let snapshot = self.inner.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Err(e) = save_json(&self.path, &snapshot) {
            warn!(path = %self.path.display(), error = %e, "cannot persist subscription groups");
        }
    }

    /// Replaces the table with the master's (a slave's sync) when its version differs; returns
    /// whether anything changed.
    pub fn replace_from_master(&self, master: GroupFile) -> bool {
        {
            let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
            if w.data_version == master.data_version {
                return false;
            }
            *w = master;
        }
        self.persist();
        true
    }

    /// The config of `group`.
    pub fn get(&self, group: &str) -> Option<GroupConfig> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).subscription_group_table.get(group).cloned()
    }

    /// Creates or replaces a group.
    pub fn upsert(&self, config: GroupConfig) {
        {
            let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
            w.subscription_group_table.insert(config.group_name.clone(), config);
            w.data_version.bump(now_ms());
        }
        self.persist();
    }

    /// Returns the group, creating it with defaults when `auto_create` is set.
    pub fn find_or_create(&self, group: &str, auto_create: bool) -> Option<GroupConfig> {
        if let Some(g) = self.get(group) {
            return Some(g);
        }
        if !auto_create || rmq_remoting::message::validate_group(group).is_err() {
            return None;
        }
        let created = GroupConfig { group_name: group.to_owned(), ..Default::default() };
        self.upsert(created.clone());
        Some(created)
    }

    /// Deletes a group; returns whether it existed.
    pub fn remove(&self, group: &str) -> bool {
        let existed = {
            let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
            let existed = w.subscription_group_table.remove(group).is_some();
            if existed {
                w.data_version.bump(now_ms());
            }
            existed
        };
        if existed {
            self.persist();
        }
        existed
    }

    /// The whole table.
    pub fn snapshot(&self) -> GroupFile {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

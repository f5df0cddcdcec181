//! Subscription groups (`config/subscriptionGroup.json`): created by admins or automatically on
//! first use when `autoCreateSubscriptionGroup` is on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;

use rmq_remoting::protocol::body::DataVersion;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{load_json, now_ms, save_json};

/// A consumer group's settings (`SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupConfig {
    /// Group name.
    pub group_name: String,
    /// Whether pulls are allowed.
    pub consume_enable: bool,
    /// Unused by the broker; kept for tools.
    pub consume_from_min_enable: bool,
    /// Whether broadcasting consumers are allowed.
    pub consume_broadcast_enable: bool,
    /// Orderly consumption hint.
    pub consume_message_orderly: bool,
    /// Queues of the retry topic.
    pub retry_queue_nums: i32,
    /// Default max reconsume times.
    pub retry_max_times: i32,
    /// Broker id to read from.
    pub broker_id: i64,
    /// Broker id to read from when slow.
    pub which_broker_when_consume_slowly: i64,
    /// Whether membership changes are notified.
    pub notify_consumer_ids_changed_enable: bool,
    /// Group system flags.
    pub group_sys_flag: i32,
    /// Consume timeout.
    pub consume_timeout_minute: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
        }
    }
}

/// The persisted file shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupFile {
    /// Group name → config.
    pub subscription_group_table: BTreeMap<String, GroupConfig>,
    /// Version.
    pub data_version: DataVersion,
}

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

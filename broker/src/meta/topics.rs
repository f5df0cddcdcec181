//! The topic table (`config/topics.json`): system topics created at start, user topics created by
//! admins or auto-created on send, each change bumping the DataVersion sent to the NameServer.

use std::path::PathBuf;
use std::sync::RwLock;

use rmq_remoting::protocol::body::{perm, DataVersion, TopicConfig, TopicConfigWrapper};
use tracing::warn;

use super::{load_json, now_ms, save_json};
use crate::config::BrokerConfig;

/// The auto-create template topic.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Prefix of retry topics.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of dead-letter topics.
pub const DLQ_PREFIX: &str = "%DLQ%";

/// System topics clients may not send to.
const NOT_ALLOWED_SEND: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "rmq_sys_wheel_timer",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Whether producers may send to `topic`.
pub fn send_allowed(topic: &str) -> bool {
    !NOT_ALLOWED_SEND.contains(&topic)
}

/// The retry topic of a consumer group.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// Thread-safe topic table backed by `topics.json`.
pub struct TopicTable {
    path: PathBuf,
    inner: RwLock<TopicConfigWrapper>,
}

impl TopicTable {
    /// Loads `topics.json` (if any) and adds the built-in topics.
    pub fn load(config: &BrokerConfig) -> Self {
        let path = config.store_root.join("config").join("topics.json");
        let mut wrapper: TopicConfigWrapper = load_json(&path).unwrap_or_default();
        let p = &config.policy;
        let mut builtin = vec![
            TopicConfig::new("SELF_TEST_TOPIC", 1, perm::READ_WRITE),
            TopicConfig::new("BenchmarkTest", 1024, perm::READ_WRITE),
            TopicConfig::new("OFFSET_MOVED_EVENT", 1, perm::READ_WRITE),
            TopicConfig::new("SCHEDULE_TOPIC_XXXX", 18, perm::READ_WRITE),
            TopicConfig::new("RMQ_SYS_TRANS_HALF_TOPIC", 1, perm::READ_WRITE),
            TopicConfig::new("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, perm::READ_WRITE),
            TopicConfig::new(crate::schedule::timer::TIMER_TOPIC, 1, perm::READ_WRITE),
            TopicConfig::new(format!("{}_REPLY_TOPIC", config.cluster_name), 1, perm::READ_WRITE),
            TopicConfig::new(
                config.cluster_name.clone(),
                16,
                perm::INHERIT | if p.cluster_topic_enable { perm::READ_WRITE } else { 0 },
            ),
            TopicConfig::new(
                config.broker_name.clone(),
                1,
                perm::INHERIT | if p.broker_topic_enable { perm::READ_WRITE } else { 0 },
            ),
        ];
        if let Some(trace_topic) = &p.trace_topic {
            builtin.push(TopicConfig::new(trace_topic.clone(), 1, perm::READ_WRITE));
        }
        if p.auto_create_topic {
            builtin.push(TopicConfig::new(
                AUTO_CREATE_TOPIC,
                p.default_topic_queue_nums,
                perm::INHERIT | perm::READ_WRITE,
            ));
        } else if let Some(tbw) = wrapper.topic_config_table.get_mut(AUTO_CREATE_TOPIC) {
            tbw.perm &= !perm::INHERIT;
        }
        for tc in builtin {
            wrapper.topic_config_table.entry(tc.topic_name.clone()).or_insert(tc);
        }
        wrapper.data_version.bump(now_ms());
        let table = TopicTable { path, inner: RwLock::new(wrapper) };
        table.persist();
        table
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TopicConfigWrapper> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TopicConfigWrapper> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self) {
        let snapshot = self.read().clone();
        if let Err(e) = save_json(&self.path, &snapshot) {
            warn!(path = %self.path.display(), error = %e, "cannot persist topics");
        }
    }

    /// The config of `topic`.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.read().topic_config_table.get(topic).cloned()
    }

    /// Creates or replaces a topic; persists and bumps the version.
    pub fn upsert(&self, config: TopicConfig) {
        {
            let mut w = self.write();
            w.topic_config_table.insert(config.topic_name.clone(), config);
            w.data_version.bump(now_ms());
        }
        self.persist();
    }

    /// Bumps the version without a change to the table: the broker's permission changed, and
    /// NameServers re-read a registration's topics only when its version moved (as Apache's
    /// `updateBrokerConfig` does).
    pub fn bump_version(&self) {
        self.write().data_version.bump(now_ms());
        self.persist();
    }

    /// Removes a topic; returns whether it existed.
    pub fn remove(&self, topic: &str) -> bool {
        let existed = {
            let mut w = self.write();
            let existed = w.topic_config_table.remove(topic).is_some();
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

    /// Replaces the table with the master's (a slave's sync) when its version differs; returns
    /// whether anything changed.
    pub fn replace_from_master(&self, master: TopicConfigWrapper) -> bool {
        {
            let mut w = self.write();
            if w.data_version == master.data_version {
                return false;
            }
            *w = master;
        }
        self.persist();
        true
    }

    /// A copy of the whole table.
    pub fn snapshot(&self) -> TopicConfigWrapper {
        self.read().clone()
    }

    /// The table's version.
    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// Auto-creates `topic` on send from the template `default_topic` (Apache's
    /// `createTopicInSendMessageMethod`): only when the template exists with PERM_INHERIT.
    pub fn create_on_send(&self, topic: &str, default_topic: &str, client_queue_nums: i32) -> Option<TopicConfig> {
        if let Some(existing) = self.get(topic) {
            return Some(existing);
        }
        let template = self.get(default_topic)?;
        if template.perm & perm::INHERIT == 0 {
            return None;
        }
        let queues = client_queue_nums.clamp(1, template.write_queue_nums.max(1));
        let mut created = TopicConfig::new(topic, queues, template.perm & !perm::INHERIT);
        created.topic_filter_type = template.topic_filter_type;
        self.upsert(created.clone());
        Some(created)
    }

    /// Creates a topic with fixed queues and perm if it does not exist; returns it and whether it
    /// was created.
    pub fn ensure(&self, topic: &str, queues: i32, perm: i32) -> (TopicConfig, bool) {
        if let Some(existing) = self.get(topic) {
            return (existing, false);
        }
        let created = TopicConfig::new(topic, queues, perm);
        self.upsert(created.clone());
        (created, true)
    }
}

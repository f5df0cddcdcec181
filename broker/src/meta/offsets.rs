//! Consumer offsets (`config/consumerOffset.json`): `topic@group → queueId → next offset`,
//! updated by commits and persisted periodically and at shutdown.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{load_json, save_json};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct OffsetFile {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// Thread-safe offset table.
pub struct OffsetTable {
    path: PathBuf,
    inner: RwLock<OffsetFile>,
    /// Offsets reset on the broker (`topic@group → queue → offset`) that the group's next pull of
    /// the queue has not picked up yet; in memory only, as Apache's `resetOffsetTable`.
    resets: Mutex<HashMap<String, BTreeMap<i32, i64>>>,
    /// Entries in `resets`, so that pulls skip the lock when none is pending.
    pending_resets: AtomicUsize,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl OffsetTable {
    /// Loads `<root>/config/consumerOffset.json`.
    pub fn load(root: &std::path::Path) -> Self {
        let path = root.join("config").join("consumerOffset.json");
        OffsetTable {
            inner: RwLock::new(load_json(&path).unwrap_or_default()),
            path,
            resets: Mutex::new(HashMap::new()),
            pending_resets: AtomicUsize::new(0),
        }
    }

    /// The whole table as Apache's `ConsumerOffsetSerializeWrapper` JSON (GET_ALL_CONSUMER_OFFSET).
    pub fn to_json(&self) -> Vec<u8> {
        rmq_remoting::protocol::body::to_json(&*self.inner.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes the master's offsets over (a slave's sync): each `topic@group` of `json` replaces
    /// this table's, as Apache's `putAll`. Returns how many `topic@group` entries came.
    pub fn merge_from_master(&self, json: &[u8]) -> Result<usize, serde_json::Error> {
        let master: OffsetFile = rmq_remoting::protocol::body::from_fastjson(json)?;
        let count = master.offset_table.len();
        self.inner.write().unwrap_or_else(|e| e.into_inner()).offset_table.extend(master.offset_table);
        self.persist();
        Ok(count)
    }

    /// Resets a queue's offset: committed now, and handed to the group's next pull of the queue.
    pub fn assign_reset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut resets = self.resets.lock().unwrap_or_else(|e| e.into_inner());
        if resets.entry(key(topic, group)).or_default().insert(queue_id, offset).is_none() {
            self.pending_resets.fetch_add(1, Ordering::AcqRel);
        }
        drop(resets);
        self.commit(group, topic, queue_id, offset);
    }

    /// Whether a reset of the queue is pending (commits from the group are then ignored).
    pub fn has_reset(&self, group: &str, topic: &str, queue_id: i32) -> bool {
        self.pending_reset(group, topic, queue_id, false).is_some()
    }

    /// Takes the pending reset of a queue, if any.
    pub fn take_reset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.pending_reset(group, topic, queue_id, true)
    }

    fn pending_reset(&self, group: &str, topic: &str, queue_id: i32, take: bool) -> Option<i64> {
        if self.pending_resets.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut resets = self.resets.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(topic, group);
        let queues = resets.get_mut(&k)?;
        let offset = if take { queues.remove(&queue_id) } else { queues.get(&queue_id).copied() };
        if take && offset.is_some() {
            self.pending_resets.fetch_sub(1, Ordering::AcqRel);
            if queues.is_empty() {
                resets.remove(&k);
            }
        }
        offset
    }

    /// Records the committed offset of a queue.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
        w.offset_table.entry(key(topic, group)).or_default().insert(queue_id, offset);
    }

    /// The committed offset of a queue (a pending reset first, as Apache's `queryOffset`).
    pub fn get(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        if let Some(reset) = self.pending_reset(group, topic, queue_id, false) {
            return Some(reset);
        }
        let r = self.inner.read().unwrap_or_else(|e| e.into_inner());
        r.offset_table.get(&key(topic, group)).and_then(|q| q.get(&queue_id)).copied()
    }

    /// Topics a group has offsets for.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let suffix = format!("@{group}");
        let r = self.inner.read().unwrap_or_else(|e| e.into_inner());
        r.offset_table.keys().filter_map(|k| k.strip_suffix(&suffix).map(str::to_owned)).collect()
    }

    /// Groups that have offsets for a topic.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let prefix = format!("{topic}@");
        let r = self.inner.read().unwrap_or_else(|e| e.into_inner());
        r.offset_table.keys().filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)).collect()
    }

    /// Drops every offset of a group (optionally only for one topic).
    pub fn remove_group(&self, group: &str) {
        let suffix = format!("@{group}");
        let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
        w.offset_table.retain(|k, _| !k.ends_with(&suffix));
    }

    /// Drops every offset of a topic.
    pub fn remove_topic(&self, topic: &str) {
        let prefix = format!("{topic}@");
        let mut w = self.inner.write().unwrap_or_else(|e| e.into_inner());
        w.offset_table.retain(|k, _| !k.starts_with(&prefix));
    }

    /// Writes the table to disk.
    pub fn persist(&self) {
        let snapshot = self.inner.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Err(e) = save_json(&self.path, &snapshot) {
            warn!(path = %self.path.display(), error = %e, "cannot persist consumer offsets");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_survive_persist_and_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = OffsetTable::load(dir.path());
        table.commit("g", "t", 3, 42);
        table.persist();
        let again = OffsetTable::load(dir.path());
        assert_eq!(again.get("g", "t", 3), Some(42));
        assert_eq!(again.get("g", "t", 2), None);
        assert_eq!(again.topics_of_group("g"), vec!["t".to_owned()]);
    }

    #[test]
    fn apache_written_offset_file_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).expect("mkdir");
        std::fs::write(
            config.join("consumerOffset.json"),
            r#"{"offsetTable":{"TopicTest@group1":{0:42,1:40}},"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1}}"#,
        )
        .expect("write");
        let table = OffsetTable::load(dir.path());
        assert_eq!(table.get("group1", "TopicTest", 0), Some(42));
        assert_eq!(table.get("group1", "TopicTest", 1), Some(40));
    }
}

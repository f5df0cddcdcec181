//! Consumed offsets: kept in memory as messages complete, committed to the broker every few
//! seconds and on shutdown (clustering), or written to a local file (broadcast, where each
//! consumer has its own progress), as the Java client's `RemoteBrokerOffsetStore` and
//! `LocalFileOffsetStore` do.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use rmq_remoting::protocol::body::{from_fastjson, mq_entries, mq_map};
use tracing::{debug, warn};

use super::broker_api;
use crate::core::ClientCore;
use crate::error::Result;
use crate::message::MessageQueue;

/// Where committed offsets live.
#[derive(Debug)]
pub(crate) enum OffsetBackend {
    /// On the broker, per group.
    Broker,
    /// In `<dir>/<client id>/<group>/offsets.json`.
    LocalFile(PathBuf),
}

/// The in-memory offsets of a consumer and their backend.
#[derive(Debug)]
pub(crate) struct OffsetStore {
    backend: OffsetBackend,
    table: Mutex<HashMap<MessageQueue, i64>>,
}

impl OffsetStore {
    pub fn new(backend: OffsetBackend) -> Self {
        let store = OffsetStore { backend, table: Mutex::new(HashMap::new()) };
        if let OffsetBackend::LocalFile(path) = &store.backend {
            if let Some(loaded) = load_file(path) {
                if let Ok(mut t) = store.table.lock() {
                    t.extend(loaded);
                }
            }
        }
        store
    }

    /// Records progress; with `only_forward`, never moves an offset back.
    pub fn update(&self, queue: &MessageQueue, offset: i64, only_forward: bool) {
        let Ok(mut t) = self.table.lock() else { return };
        let entry = t.entry(queue.clone()).or_insert(offset);
        if !only_forward || offset > *entry {
            *entry = offset;
        }
    }

    /// The in-memory offset.
    pub fn get(&self, queue: &MessageQueue) -> Option<i64> {
        self.table.lock().ok()?.get(queue).copied()
    }

    /// The committed offset: from the broker (clustering) or the file (broadcast).
    pub async fn read_committed(&self, core: &ClientCore, group: &str, queue: &MessageQueue) -> Result<Option<i64>> {
        match &self.backend {
            OffsetBackend::Broker => {
                let offset = broker_api::query_offset(core, group, queue).await?;
                if let Some(o) = offset {
                    self.update(queue, o, false);
                }
                Ok(offset)
            }
            OffsetBackend::LocalFile(_) => Ok(self.get(queue)),
        }
    }

    /// Commits the offsets of `queues` (all of them when `None`).
    pub async fn persist(&self, core: &ClientCore, group: &str, queues: Option<&[MessageQueue]>) {
        let snapshot: Vec<(MessageQueue, i64)> = match self.table.lock() {
            Ok(t) => {
                t.iter().filter(|(q, _)| queues.is_none_or(|qs| qs.contains(q))).map(|(q, o)| (q.clone(), *o)).collect()
            }
            Err(_) => return,
        };
        match &self.backend {
            OffsetBackend::Broker => {
                for (queue, offset) in snapshot {
                    if let Err(e) = broker_api::commit_offset(core, group, &queue, offset).await {
                        warn!(?queue, offset, error = %e, "offset commit failed; retried at the next commit");
                    } else {
                        debug!(?queue, offset, "offset committed");
                    }
                }
            }
            OffsetBackend::LocalFile(path) => {
                let all: Vec<(MessageQueue, i64)> = match self.table.lock() {
                    Ok(t) => t.iter().map(|(q, o)| (q.clone(), *o)).collect(),
                    Err(_) => return,
                };
                if let Err(e) = save_file(path, all) {
                    warn!(path = %path.display(), error = %e, "writing local offsets failed");
                }
            }
        }
    }

    /// Forgets a queue (after it moved to another consumer).
    pub fn remove(&self, queue: &MessageQueue) {
        if let Ok(mut t) = self.table.lock() {
            t.remove(queue);
        }
    }
}

/// The Java `OffsetSerializeWrapper` JSON: `{"offsetTable":{{mq}:offset,…}}`.
fn save_file(path: &PathBuf, mut entries: Vec<(MessageQueue, i64)>) -> std::io::Result<()> {
    entries.sort();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(r#"{{"offsetTable":{}}}"#, mq_map(&entries));
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    if path.exists() {
        let _ = std::fs::copy(path, path.with_extension("json.bak"));
    }
    std::fs::rename(tmp, path)
}

fn load_file(path: &PathBuf) -> Option<Vec<(MessageQueue, i64)>> {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        #[serde(rename = "offsetTable", default)]
        offset_table: BTreeMap<String, i64>,
    }
    let bytes = std::fs::read(path).or_else(|_| std::fs::read(path.with_extension("json.bak"))).ok()?;
    match from_fastjson::<Wrapper>(&bytes) {
        Ok(w) => Some(mq_entries(w.offset_table)),
        Err(e) => {
            warn!(path = %path.display(), error = %e, "local offsets unreadable; starting from the configured position");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(id: i32) -> MessageQueue {
        MessageQueue { topic: "t".into(), broker_name: "b".into(), queue_id: id }
    }

    #[test]
    fn only_forward_updates_never_move_back() {
        let s = OffsetStore::new(OffsetBackend::Broker);
        s.update(&mq(0), 10, true);
        s.update(&mq(0), 5, true);
        assert_eq!(s.get(&mq(0)), Some(10));
        s.update(&mq(0), 5, false);
        assert_eq!(s.get(&mq(0)), Some(5));
    }

    #[test]
    fn local_file_round_trips_in_the_java_format() {
        let dir = std::env::temp_dir().join(format!("rmq-offsets-{}", std::process::id()));
        let path = dir.join("offsets.json");
        save_file(&path, vec![(mq(1), 7), (mq(0), 3)]).expect("saved");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with(r#"{"offsetTable":{{"#), "{text}");
        let store = OffsetStore::new(OffsetBackend::LocalFile(path));
        assert_eq!((store.get(&mq(0)), store.get(&mq(1))), (Some(3), Some(7)));
        let _ = std::fs::remove_dir_all(dir);
    }
}

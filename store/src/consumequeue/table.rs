//! The registry of all ConsumeQueues, topic → queue id → queue, and their directory scan.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use super::ConsumeQueue;
use crate::error::StoreError;
use crate::file_layer::Layer;

type Queues = HashMap<String, BTreeMap<i32, Arc<ConsumeQueue>>>;

/// All ConsumeQueues of the store.
#[derive(Debug)]
pub(crate) struct QueueTable {
    root: PathBuf,
    file_size: usize,
    layer: Layer,
    queues: RwLock<Queues>,
}

/// Loads every `<root>/<topic>/<queueId>` directory as a ConsumeQueue (not yet recovered).
/// Entries that are not a UTF-8 topic directory holding integer queue directories are skipped.
pub(crate) fn load_queues(root: &Path, file_size: usize, layer: &Layer) -> Result<Vec<ConsumeQueue>, StoreError> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let read_dir = |dir: &Path| fs::read_dir(dir).map_err(|e| StoreError::io(dir, e));
    for topic_entry in read_dir(root)? {
        let topic_entry = topic_entry.map_err(|e| StoreError::io(root, e))?;
        let topic_path = topic_entry.path();
        let (true, Some(topic)) = (topic_path.is_dir(), topic_entry.file_name().to_str().map(str::to_owned)) else {
            tracing::warn!(path = %topic_path.display(), "ignoring unexpected entry in the ConsumeQueue directory");
            continue;
        };
        for queue_entry in read_dir(&topic_path)? {
            let queue_entry = queue_entry.map_err(|e| StoreError::io(&topic_path, e))?;
            let queue_id = queue_entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok());
            match queue_id {
                Some(queue_id) if queue_entry.path().is_dir() => {
                    out.push(ConsumeQueue::load(root, &topic, queue_id, file_size, layer)?);
                }
                _ => {
                    tracing::warn!(path = %queue_entry.path().display(), "ignoring unexpected entry in a topic's ConsumeQueue directory")
                }
            }
        }
    }
    Ok(out)
}

impl QueueTable {
    /// A table over `root` holding the given (recovered) queues.
    pub(crate) fn new(root: PathBuf, file_size: usize, loaded: Vec<ConsumeQueue>, layer: &Layer) -> QueueTable {
        let mut queues = Queues::new();
        for queue in loaded {
            queues.entry(queue.topic().to_owned()).or_default().insert(queue.queue_id(), Arc::new(queue));
        }
        QueueTable { root, file_size, layer: layer.clone(), queues: RwLock::new(queues) }
    }

    /// The queue, if it exists.
    pub(crate) fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues.get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created empty if it does not exist yet.
    pub(crate) fn get_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(queue) = self.get(topic, queue_id) {
            return queue;
        }
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        let by_id = queues.entry(topic.to_owned()).or_default();
        Arc::clone(
            by_id.entry(queue_id).or_insert_with(|| {
                Arc::new(ConsumeQueue::new(&self.root, topic, queue_id, self.file_size, &self.layer))
            }),
        )
    }

    /// Durably cuts a queue back to its entries below logical `offset` (recovery, before the
    /// store is shared: nobody else may hold the queue).
    pub(crate) fn cut(&self, topic: &str, queue_id: i32, offset: i64) -> Result<(), StoreError> {
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = queues.get_mut(topic).and_then(|q| q.get_mut(&queue_id)) else { return Ok(()) };
        let dir = ConsumeQueue::dir(&self.root, topic, queue_id);
        Arc::get_mut(queue)
            .ok_or_else(|| StoreError::Corrupt {
                file: dir,
                offset: offset as u64,
                reason: "ConsumeQueue in use while cutting it".into(),
            })?
            .cut(offset)
    }

    /// Queue ids of `topic`, ascending.
    pub(crate) fn queue_ids(&self, topic: &str) -> Vec<i32> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues.get(topic).map(|q| q.keys().copied().collect()).unwrap_or_default()
    }

    /// Every queue.
    pub(crate) fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues.values().flat_map(|q| q.values().cloned()).collect()
    }

    /// Forgets `topic`'s queues and deletes their files.
    pub(crate) fn remove_topic(&self, topic: &str) -> Result<(), StoreError> {
        let removed = self.queues.write().unwrap_or_else(PoisonError::into_inner).remove(topic);
        for queue in removed.into_iter().flat_map(BTreeMap::into_values) {
            queue.destroy()?;
        }
        let dir = self.root.join(topic);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(dir, e)),
            _ => Ok(()),
        }
    }

    /// Flushes every queue.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        for queue in self.all() {
            queue.flush()?;
        }
        Ok(())
    }
}

//! The message index (Apache `IndexService`): IndexFiles under `<root>/index`, oldest first,
//! mapping `topic#key` to CommitLog offsets for every `UNIQ_KEY` and `KEYS` token.
//!
//! Keys are added in CommitLog order under the store's put lock (and by re-dispatch at open);
//! when the newest file is full a new one is created and the full one flushed in the
//! background. At open, files are checked against the recovered CommitLog end: files wholly
//! beyond it are deleted and the newest kept one loses its entries at or beyond it; an unusable
//! file (wrong size, bad header, out of order) makes the whole index be rebuilt from the
//! CommitLog.

mod file;
mod header;
mod name;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rmq_remoting::message::properties::{find_property, keys};
use rmq_remoting::message::{java_string_hash, sys_flag};

use self::file::IndexFile;
use crate::error::StoreError;
use crate::file_layer::Layer;

/// The keys a message is indexed under: its `UNIQ_KEY`, then every non-empty `KEYS` token.
pub(crate) fn index_keys(properties: &str) -> impl Iterator<Item = &str> {
    let uniq = find_property(properties, keys::UNIQ_KEY);
    let tokens = find_property(properties, keys::KEYS).into_iter().flat_map(|k| k.split(keys::KEY_SEPARATOR));
    uniq.into_iter().chain(tokens).filter(|k| !k.is_empty())
}

/// Apache's `indexKeyHashMethod` of `topic#key`: `abs(String.hashCode())`, `MIN_VALUE` ⇒ 0.
fn key_hash(topic: &str, key: &str) -> i32 {
    java_string_hash(&format!("{topic}#{key}")).checked_abs().unwrap_or(0)
}

/// All IndexFiles, oldest first.
#[derive(Debug)]
pub(crate) struct IndexService {
    dir: PathBuf,
    slots: u32,
    entries: u32,
    files: RwLock<Vec<Arc<IndexFile>>>,
    layer: Layer,
    /// Whether files were created since the directory was last synced.
    new_names: AtomicBool,
}

impl IndexService {
    /// Loads the IndexFiles of `dir` and drops what does not point at a message stored in the
    /// recovered CommitLog `[min, end)`, and after an abnormal stop (`suspect`) the newest
    /// message's entries (see [`IndexFile::truncate`]). `store_time` gives the STORETIMESTAMP
    /// of the record at an offset.
    pub(crate) fn load(
        dir: &Path,
        slots: u32,
        entries: u32,
        stored: (i64, i64),
        suspect: bool,
        store_time: &dyn Fn(i64) -> Option<i64>,
        layer: &Layer,
    ) -> Result<IndexService, StoreError> {
        let mut names = Vec::new();
        if dir.exists() {
            for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
                let entry = entry.map_err(|e| StoreError::io(dir, e))?;
                match entry.file_name().to_str().filter(|n| name::parse_name(n).is_some()) {
                    Some(n) => names.push(n.to_owned()),
                    None => {
                        tracing::warn!(path = %entry.path().display(), "ignoring unexpected file in index directory")
                    }
                }
            }
        }
        names.sort();
        let service = IndexService {
            dir: dir.to_path_buf(),
            slots,
            entries,
            files: RwLock::new(Vec::new()),
            layer: layer.clone(),
            new_names: AtomicBool::new(false),
        };
        let files = match service.open_all(&names) {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(error = %e, "index files unusable; rebuilding the index from the CommitLog");
                for n in &names {
                    let path = dir.join(n);
                    fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                }
                Vec::new()
            }
        };
        *service.files.write().unwrap_or_else(PoisonError::into_inner) = files;
        service.truncate(stored, suspect, store_time)?;
        Ok(service)
    }

    /// Opens `names` in order; empty files are deleted. Any unusable file is an error.
    fn open_all(&self, names: &[String]) -> Result<Vec<Arc<IndexFile>>, StoreError> {
        let mut files: Vec<Arc<IndexFile>> = Vec::with_capacity(names.len());
        for n in names {
            let file = IndexFile::open(&self.layer, &self.dir, n, self.slots, self.entries)?;
            let header = file.header();
            if !header.has_entries() {
                let path = file.path();
                drop(file);
                fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                continue;
            }
            let prev_end = files.last().map_or(i64::MIN, |f| f.header().end_phy_offset);
            if header.begin_phy_offset < prev_end || header.end_phy_offset < header.begin_phy_offset {
                return Err(StoreError::Corrupt {
                    file: file.path(),
                    offset: 16,
                    reason: format!(
                        "offsets {}..={} out of order after {prev_end}",
                        header.begin_phy_offset, header.end_phy_offset
                    ),
                });
            }
            files.push(Arc::new(file));
        }
        Ok(files)
    }

    /// Cuts the newest files' entries that do not point at a stored message (see
    /// [`IndexFile::truncate`]) and deletes files left without entries, durably: entries left
    /// on disk would come back after a power cut and could pass for entries of records written
    /// later. Needs exclusive use (the store is opening).
    fn truncate(
        &self,
        stored: (i64, i64),
        suspect: bool,
        store_time: &dyn Fn(i64) -> Option<i64>,
    ) -> Result<(), StoreError> {
        let end = stored.1;
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        let mut deleted = false;
        while let Some(last) = files.last() {
            let removed = last.truncate(stored, suspect, store_time);
            if last.header().has_entries() {
                if removed > 0 {
                    tracing::warn!(file = last.name(), removed, end, "dropped index entries beyond the CommitLog end");
                    last.flush()?;
                }
                break;
            }
            let path = last.path();
            tracing::warn!(path = %path.display(), end, "deleting index file beyond the CommitLog end");
            files.pop();
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            deleted = true;
        }
        if deleted {
            self.layer.sync_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// CommitLog offset of the last indexed message, if any: re-dispatch indexes records after it.
    pub(crate) fn indexed_through(&self) -> Option<i64> {
        let files = self.files.read().unwrap_or_else(PoisonError::into_inner);
        files.iter().rev().map(|f| f.header()).find(|h| h.has_entries()).map(|h| h.end_phy_offset)
    }

    /// Indexes the message at `phy_offset` under each of its keys (ROLLBACK-type transaction
    /// records and messages before the newest entry are skipped, as in Apache). Returns how
    /// many keys were added. Callers serialize calls (the put lock, or exclusive open).
    pub(crate) fn build(
        &self,
        topic: &str,
        properties: &str,
        sys_flag: i32,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<usize, StoreError> {
        if sys_flag::transaction_type(sys_flag) == sys_flag::TRANSACTION_ROLLBACK
            || self.indexed_through().is_some_and(|through| phy_offset < through)
        {
            return Ok(0);
        }
        let mut added = 0;
        for key in index_keys(properties) {
            self.put_key(key_hash(topic, key), phy_offset, store_timestamp)?;
            added += 1;
        }
        Ok(added)
    }

    fn put_key(&self, hash: i32, phy_offset: i64, store_timestamp: i64) -> Result<(), StoreError> {
        let last = self.files.read().unwrap_or_else(PoisonError::into_inner).last().cloned();
        if let Some(file) = &last {
            if file.put(hash, phy_offset, store_timestamp) {
                return Ok(());
            }
        }
        let file = self.roll(last)?;
        if file.put(hash, phy_offset, store_timestamp) {
            Ok(())
        } else {
            Err(StoreError::ServiceUnavailable(format!("new index file {} refused a key", file.name())))
        }
    }

    /// Creates the next file after `full` (flushed in the background) and returns it.
    fn roll(&self, full: Option<Arc<IndexFile>>) -> Result<Arc<IndexFile>, StoreError> {
        let prev_end = full.as_ref().map_or((0, 0), |f| {
            let h = f.header();
            (h.end_phy_offset, h.end_timestamp)
        });
        let name = name::next_name(full.as_ref().map(|f| f.name()), crate::now_ms())
            .ok_or_else(|| StoreError::ServiceUnavailable("no index file name left after year 9999".into()))?;
        fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let file = Arc::new(IndexFile::create(&self.layer, &self.dir, &name, self.slots, self.entries, prev_end)?);
        self.files.write().unwrap_or_else(PoisonError::into_inner).push(Arc::clone(&file));
        self.new_names.store(true, Ordering::Release);
        if let Some(full) = full {
            tracing::info!(full = full.name(), new = %name, "index file full; rolled to a new one");
            let flush = |file: &IndexFile| {
                if let Err(e) = file.flush() {
                    tracing::error!(error = %e, "flushing a full index file failed");
                }
            };
            let background = Arc::clone(&full);
            let spawned = std::thread::Builder::new().name("rmq-index-flush".into()).spawn(move || flush(&background));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no thread for flushing the full index file; flushing inline");
                flush(&full);
            }
        }
        Ok(file)
    }

    /// Walks the files newest first whose time range overlaps `[begin, end]`, calling `visit`
    /// with the CommitLog offset of every entry whose hash matches `topic#key` (hash collisions
    /// and second-rounded times included: the caller checks the records) until it returns
    /// `false`. Returns the newest file's (endTimestamp, endPhyOffset), or zeros.
    pub(crate) fn query(
        &self,
        topic: &str,
        key: &str,
        begin: i64,
        end: i64,
        visit: &mut dyn FnMut(i64) -> bool,
    ) -> (i64, i64) {
        let files = self.files.read().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(newest) = files.last().map(|f| f.header()) else { return (0, 0) };
        let hash = key_hash(topic, key);
        for file in files.iter().rev() {
            let header = file.header();
            let overlaps = header.begin_timestamp <= end && header.end_timestamp >= begin;
            if overlaps && !file.select(hash, begin, end, visit) {
                break;
            }
            if header.begin_timestamp < begin {
                break;
            }
        }
        (newest.end_timestamp, newest.end_phy_offset)
    }

    /// Retention: deletes the files (never the newest) whose last entry's CommitLog offset is
    /// below `commit_log_min`. Returns how many were deleted.
    pub(crate) fn delete_below(&self, commit_log_min: i64) -> Result<usize, StoreError> {
        let mut files = self.files.write().unwrap_or_else(PoisonError::into_inner);
        let mut deleted = 0;
        while files.len() > 1 && files[0].header().end_phy_offset < commit_log_min {
            let path = files[0].path();
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            files.remove(0);
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Forces every file, and the names of new ones, to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        if self.new_names.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.layer.sync_dir(&self.dir) {
                self.new_names.store(true, Ordering::Release);
                return Err(StoreError::io(&self.dir, e));
            }
        }
        let files = self.files.read().unwrap_or_else(PoisonError::into_inner).clone();
        files.iter().try_for_each(|f| f.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_uniq_key_then_non_empty_keys_tokens() {
        let props = "KEYS\u{1}a  b c \u{2}UNIQ_KEY\u{1}U1\u{2}";
        assert_eq!(index_keys(props).collect::<Vec<_>>(), vec!["U1", "a", "b", "c"]);
        assert_eq!(index_keys("TAGS\u{1}t\u{2}").count(), 0);
    }

    #[test]
    fn key_hash_is_abs_of_java_hash_of_topic_hash_key() {
        assert_eq!(key_hash("TopicTest", "k1"), 2_746_024); // Java "TopicTest#k1".hashCode()
        assert_eq!(java_string_hash("T#bhhuH47;2"), i32::MIN);
        assert_eq!(key_hash("T", "bhhuH47;2"), 0);
    }
}

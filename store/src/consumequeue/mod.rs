//! One ConsumeQueue: the index of one (topic, queue) into the CommitLog.
//!
//! ```text
//! entry (20 bytes) = commitLogOffset i64 | size i32 | tagsCode i64
//! file  = <root>/consumequeue/<topic>/<queueId>/<20-digit start byte offset>
//! ```
//! Logical offset n lives at byte n × 20. Gaps (a queue whose first entry is not offset 0) are
//! filled with blank entries `(0, i32::MAX, 0)` like Apache's `fillPreBlank`. The registry of
//! all queues is in [`table`].

pub(crate) mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::config::CQ_ENTRY_LEN;
use crate::error::StoreError;
use crate::file_layer::Layer;
use crate::mapped_queue::MappedQueue;

const ENTRY_LEN: usize = CQ_ENTRY_LEN as usize;
const BLANK_SIZE: i32 = i32::MAX;

/// One ConsumeQueue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CqEntry {
    /// Physical offset of the record in the CommitLog.
    pub(crate) commit_log_offset: i64,
    /// TOTALSIZE of the record.
    pub(crate) size: i32,
    /// Tags hash (or delivery time in the schedule topic).
    pub(crate) tags_code: i64,
}

impl CqEntry {
    const BLANK: CqEntry = CqEntry { commit_log_offset: 0, size: BLANK_SIZE, tags_code: 0 };

    fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> CqEntry {
        let mut offset = [0u8; 8];
        let mut size = [0u8; 4];
        let mut tags = [0u8; 8];
        offset.copy_from_slice(&bytes[..8]);
        size.copy_from_slice(&bytes[8..12]);
        tags.copy_from_slice(&bytes[12..20]);
        CqEntry {
            commit_log_offset: i64::from_be_bytes(offset),
            size: i32::from_be_bytes(size),
            tags_code: i64::from_be_bytes(tags),
        }
    }

    /// A filler entry that points at no message.
    pub(crate) fn is_blank(&self) -> bool {
        self.size == BLANK_SIZE
    }

    /// Recovery's validity test: a written entry pointing below the CommitLog end.
    fn is_valid_below(&self, commit_log_end: i64) -> bool {
        self.is_blank() || (self.commit_log_offset >= 0 && self.size > 0 && self.commit_log_offset < commit_log_end)
    }
}

/// The entries of one (topic, queue).
#[derive(Debug)]
pub(crate) struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedQueue,
    min_offset: AtomicI64,
    /// Byte offset from which a file of the wrong length lost its entries (found at load).
    damaged_from: Option<u64>,
}

impl ConsumeQueue {
    /// The queue directory, `<root>/<topic>/<queueId>`.
    pub(crate) fn dir(root: &Path, topic: &str, queue_id: i32) -> PathBuf {
        root.join(topic).join(queue_id.to_string())
    }

    /// A new, empty queue (its directory is created with the first entry).
    pub(crate) fn new(root: &Path, topic: &str, queue_id: i32, file_size: usize, layer: &Layer) -> ConsumeQueue {
        let files = MappedQueue::empty(Self::dir(root, topic, queue_id), file_size, layer);
        ConsumeQueue { topic: topic.to_owned(), queue_id, files, min_offset: AtomicI64::new(0), damaged_from: None }
    }

    /// Loads a queue's files; [`ConsumeQueue::recover`] must follow. A file of the wrong length
    /// (truncated) is resized, and recovery cuts the queue where its entries stop.
    pub(crate) fn load(
        root: &Path,
        topic: &str,
        queue_id: i32,
        file_size: usize,
        layer: &Layer,
    ) -> Result<ConsumeQueue, StoreError> {
        let (files, damaged_from) =
            MappedQueue::load_repairing(&Self::dir(root, topic, queue_id), file_size, ENTRY_LEN, layer)?;
        Ok(ConsumeQueue { topic: topic.to_owned(), queue_id, files, min_offset: AtomicI64::new(0), damaged_from })
    }

    /// Topic of this queue.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// Queue id of this queue.
    pub(crate) fn queue_id(&self) -> i32 {
        self.queue_id
    }

    fn entry_in(bytes: &[u8], index: usize) -> CqEntry {
        CqEntry::decode(&bytes[index * ENTRY_LEN..(index + 1) * ENTRY_LEN])
    }

    /// Keeps the entries that are written and point below `commit_log_end`, cuts the rest, and
    /// recomputes the min offset (first non-blank entry at or above `commit_log_min`). Like
    /// Apache, scanning starts at the third-last file (earlier files are full), moving further
    /// back only if that file's first entry is already invalid.
    pub(crate) fn recover(&mut self, commit_log_min: i64, commit_log_end: i64) -> Result<(), StoreError> {
        let files = self.files.files();
        let valid_first = |i: usize| {
            let file = &files[i];
            file.slice(0, ENTRY_LEN).is_some_and(|b| Self::entry_in(b, 0).is_valid_below(commit_log_end))
        };
        let mut start = files.len().saturating_sub(3);
        while start > 0 && !valid_first(start) {
            start -= 1;
        }
        let mut cut = files.first().map_or(0, |f| f.start_offset());
        'files: for file in &files[start.min(files.len())..] {
            let bytes = file.slice(0, file.wrote()).unwrap_or_default();
            for i in 0..bytes.len() / ENTRY_LEN {
                if !Self::entry_in(bytes, i).is_valid_below(commit_log_end) {
                    cut = file.start_offset() + (i * ENTRY_LEN) as u64;
                    break 'files;
                }
            }
            cut = file.start_offset() + bytes.len() as u64;
        }
        drop(files);
        cut = cut.min(self.damaged_from.unwrap_or(u64::MAX));
        let cutting = cut < self.files.max_offset();
        if cutting {
            tracing::info!(topic = %self.topic, queue_id = self.queue_id, offset = cut / CQ_ENTRY_LEN,
                "truncating ConsumeQueue entries beyond the recovered CommitLog");
        }
        // Durably: entries left on disk would come back after a power cut and point at the
        // records written after the recovered end.
        self.files.truncate(cut, cutting)?;
        *self.min_offset.get_mut() = 0;
        let min = self.first_live_offset(commit_log_min, true);
        *self.min_offset.get_mut() = min;
        Ok(())
    }

    /// The first logical offset at or above the current min whose entry is a message at or
    /// above `commit_log_min`. With `one_file` only the file holding the current min is
    /// searched (like Apache's `correctMinOffset`; if it has none, the end of its entries);
    /// otherwise the search continues through later files (the max offset if none).
    fn first_live_offset(&self, commit_log_min: i64, one_file: bool) -> i64 {
        let from = u64::try_from(self.min_offset()).unwrap_or(0) * CQ_ENTRY_LEN;
        for file in self.files.files() {
            let end = file.start_offset() + file.wrote() as u64;
            if end <= from {
                continue;
            }
            let skip = from.saturating_sub(file.start_offset()) as usize;
            let bytes = file.slice(skip, file.wrote() - skip).unwrap_or_default();
            let live = (0..bytes.len() / ENTRY_LEN).find(|i| {
                let e = Self::entry_in(bytes, *i);
                !e.is_blank() && e.commit_log_offset >= commit_log_min
            });
            if live.is_some() || one_file {
                let pos = file.start_offset() as usize + skip + live.unwrap_or(bytes.len() / ENTRY_LEN) * ENTRY_LEN;
                return (pos / ENTRY_LEN) as i64;
            }
        }
        self.max_offset()
    }

    /// Whether a file of the queue had the wrong length at load, so its lost entries must be
    /// rebuilt from the CommitLog from [`ConsumeQueue::last_entry_end`] on.
    pub(crate) fn was_damaged(&self) -> bool {
        self.damaged_from.is_some()
    }

    /// CommitLog offset just past the last message this queue points at, if any (where a
    /// clean restart resumes dispatching).
    pub(crate) fn last_entry_end(&self) -> Option<i64> {
        let file = self.files.last()?;
        let bytes = file.slice(0, file.wrote())?;
        (0..bytes.len() / ENTRY_LEN)
            .rev()
            .map(|i| Self::entry_in(bytes, i))
            .find(|e| !e.is_blank())
            .map(|e| e.commit_log_offset + i64::from(e.size))
    }

    /// Retention: deletes the files (never the last) whose entries all point below
    /// `commit_log_min`, then moves the min offset to the first message at or above it, so
    /// reads below it are `OffsetTooSmall`. Returns how many files were deleted.
    pub(crate) fn delete_below(&self, commit_log_min: i64) -> Result<usize, StoreError> {
        // The min moves first, so readers never meet a deleted file above it.
        let min = self.first_live_offset(commit_log_min, false);
        let old = self.min_offset.fetch_max(min, Ordering::AcqRel);
        let deleted = self.files.delete_front(usize::MAX, |file| {
            let last = file.wrote() / ENTRY_LEN;
            last > 0
                && file.slice((last - 1) * ENTRY_LEN, ENTRY_LEN).is_some_and(|b| {
                    let e = CqEntry::decode(b);
                    e.is_blank() || e.commit_log_offset < commit_log_min
                })
        })?;
        if min > old {
            tracing::info!(topic = %self.topic, queue_id = self.queue_id, old, min, deleted,
                "ConsumeQueue min offset moved by retention");
        }
        Ok(deleted)
    }

    /// Durably removes the entries from logical `offset` on (recovery found the one there
    /// does not match its CommitLog record).
    pub(crate) fn cut(&mut self, offset: i64) -> Result<(), StoreError> {
        let offset = offset.max(0);
        self.files.truncate(offset as u64 * CQ_ENTRY_LEN, true)?;
        let min = self.min_offset.get_mut();
        *min = (*min).min(offset);
        Ok(())
    }

    /// Smallest logical offset with a message.
    pub(crate) fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    /// Next logical offset to be written (number of entries, counting from 0).
    pub(crate) fn max_offset(&self) -> i64 {
        (self.files.max_offset() / CQ_ENTRY_LEN) as i64
    }

    fn append(&self, entry: &CqEntry, start_if_empty: u64) -> Result<(), StoreError> {
        let bytes = entry.encode();
        let file = match self.files.last() {
            Some(file) if file.remaining() >= ENTRY_LEN => file,
            _ => self.files.roll(start_if_empty)?,
        };
        file.append(&bytes)
            .map(drop)
            .ok_or_else(|| StoreError::ServiceUnavailable("ConsumeQueue append without room".into()))
    }

    /// Writes `entry` at logical `queue_offset`. An offset below the max is already covered and
    /// is skipped (idempotent re-dispatch; returns false); one above it is preceded by blank
    /// entries (at most one file's worth; larger gaps mean a corrupt record and are refused).
    pub(crate) fn put(&self, queue_offset: i64, entry: CqEntry) -> Result<bool, StoreError> {
        let expected = self.max_offset();
        if queue_offset < expected {
            return Ok(false);
        }
        let file_size = self.files.file_size() as u64;
        let per_file = file_size / CQ_ENTRY_LEN;
        let target = u64::try_from(queue_offset).ok().and_then(|q| q.checked_mul(CQ_ENTRY_LEN));
        let gap_too_large = !self.files.is_empty() && (queue_offset - expected) as u64 > per_file;
        let Some(target) = target.filter(|_| !gap_too_large) else {
            tracing::error!(topic = %self.topic, queue_id = self.queue_id, expected, queue_offset,
                "ConsumeQueue entry far beyond the queue end; not writing it");
            return Ok(false);
        };
        let first_start = target / file_size * file_size;
        if self.files.is_empty() {
            let fill_from = first_start / CQ_ENTRY_LEN;
            for _ in fill_from..queue_offset as u64 {
                self.append(&CqEntry::BLANK, first_start)?;
            }
            self.min_offset.store(queue_offset, Ordering::Release);
        } else if queue_offset > expected {
            tracing::warn!(topic = %self.topic, queue_id = self.queue_id, expected, queue_offset,
                "gap in ConsumeQueue, filling with blank entries");
            for _ in expected..queue_offset {
                self.append(&CqEntry::BLANK, first_start)?;
            }
        }
        self.append(&entry, first_start)?;
        Ok(true)
    }

    /// The entry at logical `offset`, if written.
    pub(crate) fn entry(&self, offset: i64) -> Option<CqEntry> {
        let pos = u64::try_from(offset).ok()? * CQ_ENTRY_LEN;
        let file = self.files.find(pos)?;
        let bytes = file.slice((pos - file.start_offset()) as usize, ENTRY_LEN)?;
        Some(CqEntry::decode(bytes))
    }

    /// Up to `max` written entries from logical `offset`, all from the file holding `offset`;
    /// `None` if that file does not exist.
    pub(crate) fn entries(&self, offset: i64, max: usize) -> Option<Vec<CqEntry>> {
        let pos = u64::try_from(offset).ok()? * CQ_ENTRY_LEN;
        let file = self.files.find(pos)?;
        let in_file = (pos - file.start_offset()) as usize;
        let count = (file.wrote().saturating_sub(in_file) / ENTRY_LEN).min(max);
        let bytes = file.slice(in_file, count * ENTRY_LEN)?;
        Some((0..count).map(|i| Self::entry_in(bytes, i)).collect())
    }

    /// First logical offset of the file after the one holding `offset`.
    pub(crate) fn next_file_offset(&self, offset: i64) -> i64 {
        let per_file = (self.files.file_size() / ENTRY_LEN) as i64;
        (offset / per_file + 1) * per_file
    }

    /// Forces written entries to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.files.flush()
    }

    /// Deletes the queue's files and directory.
    pub(crate) fn destroy(&self) -> Result<(), StoreError> {
        self.files.destroy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::OsFiles;

    fn os() -> Layer {
        std::sync::Arc::new(OsFiles)
    }

    fn entry(offset: i64) -> CqEntry {
        CqEntry { commit_log_offset: offset, size: 100, tags_code: -offset }
    }

    #[test]
    fn entries_roll_across_files_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 60, &os());
        for i in 0..7 {
            assert!(cq.put(i, entry(i * 100)).expect("put"));
        }
        assert!(!cq.put(3, entry(999)).expect("duplicate"));
        assert_eq!(cq.max_offset(), 7);
        assert_eq!(cq.entry(4), Some(entry(400)));
        assert_eq!(cq.entry(7), None);
        assert_eq!(cq.entries(1, 10), Some(vec![entry(100), entry(200)]));
        assert_eq!(cq.entries(6, 10), Some(vec![entry(600)]));
        assert_eq!(cq.next_file_offset(4), 6);
        assert!(dir.path().join("T/0/00000000000000000060").exists());
    }

    #[test]
    fn first_entry_beyond_zero_is_preceded_by_blanks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cq = ConsumeQueue::new(dir.path(), "T", 1, 60, &os());
        cq.put(4, entry(0)).expect("put");
        assert_eq!((cq.min_offset(), cq.max_offset()), (4, 5));
        assert!(cq.entry(3).is_some_and(|e| e.is_blank()));
        assert!(cq.entries(0, 10).is_none(), "file 0 was never created");
    }

    #[test]
    fn absurd_queue_offsets_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 60, &os());
        assert!(!cq.put(i64::MAX, entry(0)).expect("refused"));
        assert!(!cq.put(-1, entry(0)).expect("refused"));
        cq.put(0, entry(0)).expect("put");
        assert!(!cq.put(1_000_000, entry(100)).expect("refused"));
        assert!(cq.put(3, entry(100)).expect("small gap is filled"));
        assert_eq!(cq.max_offset(), 4);
    }

    #[test]
    fn delete_below_drops_whole_old_files_and_moves_the_min_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 60, &os());
        for i in 0..8 {
            cq.put(i, entry(i * 100)).expect("put");
        }
        assert_eq!(cq.last_entry_end(), Some(800));
        assert_eq!(cq.delete_below(450).expect("delete"), 1, "file 0 (entries 0..3) is wholly below");
        assert_eq!(cq.min_offset(), 5);
        assert_eq!(cq.entry(2), None);
        assert_eq!(cq.entry(5), Some(entry(500)));
        assert_eq!(cq.delete_below(10_000).expect("delete"), 1, "the last file stays");
        assert_eq!((cq.min_offset(), cq.max_offset()), (8, 8));
        assert_eq!(cq.delete_below(0).expect("delete"), 0);
        assert_eq!(cq.min_offset(), 8, "the min offset never moves back");
    }

    #[test]
    fn recover_cuts_entries_at_or_beyond_the_commit_log_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let cq = ConsumeQueue::new(dir.path(), "T", 0, 60, &os());
            for i in 0..8 {
                cq.put(i, entry(i * 100)).expect("put");
            }
            cq.flush().expect("flush");
        }
        let mut cq = ConsumeQueue::load(dir.path(), "T", 0, 60, &os()).expect("load");
        cq.recover(0, 10_000).expect("recover");
        assert_eq!(cq.max_offset(), 8);
        cq.recover(0, 250).expect("recover");
        assert_eq!((cq.min_offset(), cq.max_offset()), (0, 3));
        cq.recover(150, 250).expect("recover");
        assert_eq!(cq.min_offset(), 2);
        cq.put(3, entry(250)).expect("put");
        assert_eq!(cq.entry(3), Some(entry(250)));
    }
}

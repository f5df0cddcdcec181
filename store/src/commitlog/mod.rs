//! The CommitLog: every message of every topic, appended in one sequence of mapped files.
//!
//! Records use the stored format of `rmq_remoting::message::record`; a file's unused end is
//! marked with a BLANK record. This module reads records back; appending is in [`append`],
//! the startup scan in [`recovery`], replication chunks in [`replica`].

mod append;
mod recovery;
mod replica;

pub use replica::ReplicaChunk;

use std::path::Path;

use bytes::Bytes;
use rmq_remoting::message::record::{peek_header, read_size_and_magic, MAGIC_V1, MAGIC_V2};

use crate::error::StoreError;
use crate::file_layer::Layer;
use crate::mapped_file::MappedFile;
use crate::mapped_queue::MappedQueue;

/// Enough leading bytes of a record to read its header up to STORETIMESTAMP with IPv6 hosts.
const HEADER_PREFIX_LEN: usize = 76;

/// The CommitLog files and the record-level operations on them.
#[derive(Debug)]
pub(crate) struct CommitLog {
    files: MappedQueue,
}

impl CommitLog {
    /// Loads the CommitLog files of `dir` (recovery must run before use). New files are
    /// preallocated, so a full disk fails the roll instead of a later write to the mapping.
    pub(crate) fn load(dir: &Path, file_size: usize, layer: &Layer) -> Result<CommitLog, StoreError> {
        Ok(CommitLog { files: MappedQueue::load(dir, file_size, layer)?.preallocated() })
    }

    /// Tells the files that appends are flushed a few KiB at a time (SYNC_FLUSH), so their
    /// unwritten parts are mapped without read-around ([`MappedQueue::with_small_flushes`]).
    pub(crate) fn with_small_flushes(self) -> CommitLog {
        CommitLog { files: self.files.with_small_flushes() }
    }

    /// Offset of the oldest byte still stored.
    pub(crate) fn min_offset(&self) -> i64 {
        self.files.min_offset() as i64
    }

    /// Offset where the next record will be appended (or where the next file starts).
    pub(crate) fn max_offset(&self) -> i64 {
        self.files.max_offset() as i64
    }

    /// The size of each CommitLog file.
    pub(crate) fn file_size(&self) -> usize {
        self.files.file_size()
    }

    /// Runs `f` on the written bytes `[offset, offset + len)` if they lie in one file.
    fn with_bytes<R>(&self, offset: i64, len: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let offset = u64::try_from(offset).ok()?;
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        file.slice(pos, len).map(f)
    }

    /// A copy of the `size`-byte record at `offset` (as a ConsumeQueue entry describes it), if
    /// it is still stored and starts with a message magic.
    pub(crate) fn record(&self, offset: i64, size: i32) -> Option<Bytes> {
        let size = usize::try_from(size).ok().filter(|s| *s >= 8)?;
        self.with_bytes(offset, size, |bytes| {
            let (_, magic) = read_size_and_magic(bytes).ok()?;
            (magic == MAGIC_V1 || magic == MAGIC_V2).then(|| Bytes::copy_from_slice(bytes))
        })?
    }

    /// A copy of the record starting at `offset`, with its length read from TOTALSIZE
    /// (VIEW_MESSAGE_BY_ID); `None` unless a message record starts exactly there (its
    /// PHYSICALOFFSET must be `offset`, so an offset into the middle of a record finds nothing).
    pub(crate) fn record_at(&self, offset: i64) -> Option<Bytes> {
        let (size, magic) = self.with_bytes(offset, 8, read_size_and_magic)?.ok()?;
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return None;
        }
        let record = self.record(offset, size)?;
        let header = peek_header(&record).ok()?;
        (header.physical_offset == offset).then_some(record)
    }

    /// STORETIMESTAMP of the `size`-byte record at `offset`.
    pub(crate) fn store_timestamp(&self, offset: i64, size: i32) -> Option<i64> {
        let len = usize::try_from(size).ok()?.min(HEADER_PREFIX_LEN);
        self.with_bytes(offset, len, |bytes| peek_header(bytes).ok().map(|h| h.store_timestamp))?
    }

    /// Start of the file holding `offset`, clamped to the stored files (0 when there are none):
    /// where a scan must begin to reach `offset` from a record boundary.
    pub(crate) fn file_start_of(&self, offset: i64) -> i64 {
        let files = self.files.files();
        let (Some(first), Some(last)) = (files.first(), files.last()) else { return 0 };
        let offset = u64::try_from(offset).unwrap_or(0).clamp(first.start_offset(), last.start_offset());
        let size = self.file_size() as u64;
        (first.start_offset() + (offset - first.start_offset()) / size * size) as i64
    }

    /// Deletes the oldest file if `delete` says so and it is not the active (last) one; returns
    /// whether one was deleted. The min offset moves to the next file.
    pub(crate) fn delete_oldest_if(&self, delete: impl FnMut(&MappedFile) -> bool) -> Result<bool, StoreError> {
        Ok(self.files.delete_front(1, delete)? == 1)
    }

    /// Whether appended records wait for a flush.
    pub(crate) fn is_dirty(&self) -> bool {
        self.files.is_dirty()
    }

    /// Appended bytes not forced to disk yet.
    pub(crate) fn unflushed(&self) -> u64 {
        self.files.unflushed()
    }

    /// Forces appended records to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.files.flush()
    }
}

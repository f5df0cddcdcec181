//! The CommitLog side of master/slave replication: cutting the master's log into chunks of
//! whole records, and appending such a chunk verbatim on a slave, so both logs hold the same
//! bytes at the same offsets (message ids and queue offsets stay valid after a failover).
//!
//! A chunk never spans two files. A file's end is sent as its 8-byte BLANK header only (not the
//! zeros it covers); the slave writes the same BLANK and rolls, so its files end where the
//! master's do. Both must use the same CommitLog file size.

use bytes::Bytes;
use rmq_remoting::message::record::{read_size_and_magic, RecordView, BLANK_LEN, MAGIC_BLANK};

use super::CommitLog;
use crate::error::StoreError;

/// Records of the master's CommitLog from `offset`, and where the next chunk starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaChunk {
    /// CommitLog offset of the first byte.
    pub offset: i64,
    /// Whole records (a file's last chunk ends with its 8-byte BLANK header).
    pub bytes: Bytes,
    /// Offset after the chunk: `offset + bytes.len()`, or the next file's start after a BLANK.
    pub next_offset: i64,
}

/// What one position of a chunk holds.
enum Piece {
    Message(usize),
    Blank,
}

/// Classifies the record at the start of `rest`, or says why it is not one.
fn piece(rest: &[u8]) -> Result<Piece, String> {
    let (size, magic) = read_size_and_magic(rest).map_err(|e| e.to_string())?;
    if magic == MAGIC_BLANK {
        return Ok(Piece::Blank);
    }
    let len = usize::try_from(size).map_err(|_| format!("negative record size {size}"))?;
    if len < BLANK_LEN || len > rest.len() {
        return Err(format!("record of {len} bytes with {} bytes left", rest.len()));
    }
    Ok(Piece::Message(len))
}

impl CommitLog {
    /// Up to about `max_bytes` of whole records from `offset` (at least one record, however
    /// large), or `None` when nothing is written there yet. `offset` must be a record boundary
    /// at or above the min offset.
    pub(crate) fn replica_chunk(&self, offset: i64, max_bytes: usize) -> Result<Option<ReplicaChunk>, StoreError> {
        let bad = |reason: String| StoreError::Corrupt { file: "commitlog".into(), offset: offset as u64, reason };
        let start = u64::try_from(offset).map_err(|_| bad("negative offset".into()))?;
        let Some(file) = self.files.find(start) else {
            return if offset >= self.max_offset() {
                Ok(None)
            } else {
                Err(bad(format!("offset below the min offset {}", self.min_offset())))
            };
        };
        let pos = (start - file.start_offset()) as usize;
        let written = file.slice(pos, file.wrote().saturating_sub(pos)).unwrap_or_default();
        let mut len = 0;
        let mut next = offset;
        while len < written.len() && (len == 0 || len < max_bytes) {
            match piece(&written[len..]).map_err(bad)? {
                Piece::Message(size) => {
                    len += size;
                    next += size as i64;
                }
                Piece::Blank => {
                    len += BLANK_LEN;
                    next = (file.start_offset() + file.size() as u64) as i64;
                    break;
                }
            }
        }
        if len == 0 {
            return Ok(None);
        }
        Ok(Some(ReplicaChunk { offset, bytes: Bytes::copy_from_slice(&written[..len]), next_offset: next }))
    }

    /// Appends a master's chunk at `offset` (the end of this log, or a file start when the log
    /// is empty) record by record, checking each; returns the offset after it. Callers hold the
    /// store's put lock.
    pub(crate) fn append_replica(&self, offset: i64, chunk: &[u8]) -> Result<i64, StoreError> {
        let bad =
            |at: i64, reason: String| StoreError::Corrupt { file: "replica chunk".into(), offset: at as u64, reason };
        let file_size = self.file_size() as i64;
        let mut at = offset;
        let end = self.max_offset();
        if self.files.is_empty() {
            if offset % file_size != 0 {
                return Err(bad(offset, "an empty CommitLog can only start at a file boundary".into()));
            }
        } else if offset != end {
            return Err(bad(offset, format!("the chunk does not continue this CommitLog, which ends at {end}")));
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let file = match self.files.last() {
                Some(file) if file.remaining() > 0 => file,
                _ => self.files.roll(at as u64)?,
            };
            match piece(rest).map_err(|why| bad(at, why))? {
                Piece::Blank => {
                    let (blank, after) = rest.split_at(BLANK_LEN);
                    file.append(blank).ok_or_else(|| bad(at, "no room for the BLANK record".into()))?;
                    file.mark_full();
                    at = (file.start_offset() + file.size() as u64) as i64;
                    rest = after;
                }
                Piece::Message(len) => {
                    let (record, after) = rest.split_at(len);
                    let (view, _) = RecordView::parse(record).map_err(|e| bad(at, e.to_string()))?;
                    if view.header.physical_offset != at {
                        return Err(bad(at, format!("record claims offset {}", view.header.physical_offset)));
                    }
                    view.verify_crc().map_err(|e| bad(at, e.to_string()))?;
                    if file.remaining() < len + BLANK_LEN {
                        return Err(bad(
                            at,
                            "record does not fit: is the master's CommitLog file size the same?".into(),
                        ));
                    }
                    file.append(record).ok_or_else(|| bad(at, "no room for the record".into()))?;
                    at += len as i64;
                    rest = after;
                }
            }
        }
        Ok(at)
    }
}

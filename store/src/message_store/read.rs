//! Reading: pulls by logical offset with Apache's status table, offset-by-time search and
//! store-time lookups.

use bytes::Bytes;

use super::MessageStore;
use crate::consumequeue::ConsumeQueue;

/// Most ConsumeQueue entries one read scans (Apache: max(16000 bytes, maxMsgNums × 20) of queue).
const MAX_SCAN_ENTRIES: usize = 800;

/// Which side of a timestamp [`MessageStore::offset_by_time`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Boundary {
    /// The first offset stored at or after the timestamp.
    #[default]
    Lower,
    /// The last offset stored at or before the timestamp.
    Upper,
}

/// Outcome of a read (Apache `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// At least one message returned.
    Found,
    /// Entries were scanned but none passed the filter.
    NoMatchedMessage,
    /// Matching entries point at CommitLog data that is gone.
    MessageWasRemoving,
    /// The queue exists but has no messages.
    NoMessageInQueue,
    /// No such queue.
    NoMatchedLogicQueue,
    /// The offset is below the queue's min offset.
    OffsetTooSmall,
    /// The offset equals the max offset (nothing new yet).
    OffsetOverflowOne,
    /// The offset is beyond the max offset.
    OffsetOverflowBadly,
    /// The queue file holding the offset is missing.
    OffsetFoundNull,
}

/// What a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Outcome.
    pub status: ReadStatus,
    /// Where the consumer should read next.
    pub next_begin_offset: i64,
    /// Queue min offset at the time of the read (0 for an unknown queue).
    pub min_offset: i64,
    /// Queue max offset at the time of the read (0 for an unknown queue).
    pub max_offset: i64,
    /// Raw stored records, in queue order.
    pub records: Vec<Bytes>,
}

impl MessageStore {
    /// Reads up to `max_count` messages (and about `max_bytes`, but at least one if any matches)
    /// from logical `offset`, skipping entries whose tags code fails `filter`.
    pub fn read(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> ReadResult {
        let result = |status, next_begin_offset, min_offset, max_offset| ReadResult {
            status,
            next_begin_offset,
            min_offset,
            max_offset,
            records: Vec::new(),
        };
        let Some(queue) = self.queues.get(topic, queue_id) else {
            return result(ReadStatus::NoMatchedLogicQueue, 0, 0, 0);
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        if max == 0 {
            return result(ReadStatus::NoMessageInQueue, 0, min, max);
        }
        if offset < min {
            return result(ReadStatus::OffsetTooSmall, min, min, max);
        }
        if offset == max {
            return result(ReadStatus::OffsetOverflowOne, offset, min, max);
        }
        if offset > max {
            return result(ReadStatus::OffsetOverflowBadly, max, min, max);
        }
        let max_count = max_count.max(1);
        let scan_limit = max_count.max(MAX_SCAN_ENTRIES);
        let (mut next, mut scanned, mut bytes, mut removing) = (offset, 0usize, 0usize, false);
        let mut records = Vec::new();
        'scan: while next < max && scanned < scan_limit {
            let Some(entries) = queue.entries(next, scan_limit - scanned) else {
                if scanned == 0 {
                    return result(ReadStatus::OffsetFoundNull, queue.next_file_offset(next), min, max);
                }
                break;
            };
            if entries.is_empty() {
                break;
            }
            for entry in entries {
                if records.len() >= max_count {
                    break 'scan;
                }
                if !entry.is_blank() && filter(entry.tags_code) {
                    let size = usize::try_from(entry.size).unwrap_or(usize::MAX);
                    if !records.is_empty() && bytes.saturating_add(size) > max_bytes {
                        break 'scan;
                    }
                    match self.commit_log.record(entry.commit_log_offset, entry.size) {
                        Some(record) => {
                            bytes += record.len();
                            records.push(record);
                        }
                        None => removing = true,
                    }
                }
                next += 1;
                scanned += 1;
            }
        }
        let status = if !records.is_empty() {
            ReadStatus::Found
        } else if removing {
            ReadStatus::MessageWasRemoving
        } else {
            ReadStatus::NoMatchedMessage
        };
        ReadResult { status, next_begin_offset: next, min_offset: min, max_offset: max, records }
    }

    /// Min logical offset of a queue (0 if unknown).
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues.get(topic, queue_id).map_or(0, |q| q.min_offset())
    }

    /// Next logical offset to be written in a queue (0 if unknown).
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues.get(topic, queue_id).map_or(0, |q| q.max_offset())
    }

    fn queue_store_time(&self, queue: &ConsumeQueue, offset: i64) -> Option<i64> {
        let entry = queue.entry(offset).filter(|e| !e.is_blank())?;
        self.commit_log.store_timestamp(entry.commit_log_offset, entry.size)
    }

    /// Store timestamp of the message at a logical offset.
    pub fn store_time(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let queue = self.queues.get(topic, queue_id)?;
        if offset < queue.min_offset() {
            return None;
        }
        self.queue_store_time(&queue, offset)
    }

    /// Store timestamp of the oldest message of a queue.
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        self.store_time(topic, queue_id, self.min_offset(topic, queue_id))
    }

    /// Binary search by store time (SEARCH_OFFSET_BY_TIMESTAMP). `Lower`: first offset stored at
    /// or after `timestamp_ms` (max offset if all are older). `Upper`: last offset stored at or
    /// before it (min offset if all are newer). 0 for an unknown queue.
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64, boundary: Boundary) -> i64 {
        let Some(queue) = self.queues.get(topic, queue_id) else { return 0 };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        // Store times grow with offsets, so "stored before the boundary" is a prefix.
        let before = |offset: i64| {
            let time = self.queue_store_time(&queue, offset).unwrap_or(i64::MIN);
            match boundary {
                Boundary::Lower => time < timestamp_ms,
                Boundary::Upper => time <= timestamp_ms,
            }
        };
        let (mut low, mut high) = (min, max);
        while low < high {
            let mid = low + (high - low) / 2;
            if before(mid) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        match boundary {
            Boundary::Lower => low,
            Boundary::Upper => (low - 1).max(min),
        }
    }
}

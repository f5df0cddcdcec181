//! Queries by message key (QUERY_MESSAGE, `queryMessageByUniqKey`): index lookups checked
//! against the stored records.

use std::collections::HashSet;

use bytes::Bytes;
use rmq_remoting::message::record::RecordView;

use super::MessageStore;
use crate::index::index_keys;

/// Most messages one query returns (Apache `maxMsgsNumBatch`).
const MAX_QUERY_MESSAGES: usize = 64;

/// What [`MessageStore::query_by_key`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Raw stored records, by ascending CommitLog offset.
    pub records: Vec<Bytes>,
    /// STORETIMESTAMP of the last indexed message (0 if nothing is indexed).
    pub index_last_update_timestamp: i64,
    /// CommitLog offset of the last indexed message (0 if nothing is indexed).
    pub index_last_update_phy_offset: i64,
}

/// Whether the stored record is a message of `topic` with `key` as UNIQ_KEY or a KEYS token,
/// stored within `[begin, end]`.
fn record_matches(record: &[u8], topic: &str, key: &str, begin: i64, end: i64) -> bool {
    let Ok((view, _)) = RecordView::parse(record) else { return false };
    let time = view.header.store_timestamp;
    view.topic_str() == Ok(topic)
        && (begin..=end).contains(&time)
        && index_keys(&view.properties_str()).any(|k| k == key)
}

impl MessageStore {
    /// Messages of `topic` indexed under `key` (a KEYS token or the UNIQ_KEY) and stored within
    /// `[begin_ms, end_ms]`: at most `max_num` (capped at 64), newest index entries first,
    /// returned by ascending CommitLog offset. Hash collisions, other topics and records no
    /// longer stored are dropped here (Apache leaves the first two to the client). Empty when
    /// `message_index_enable` is off.
    pub fn query_by_key(&self, topic: &str, key: &str, max_num: usize, begin_ms: i64, end_ms: i64) -> QueryResult {
        let Some(index) = &self.index else { return QueryResult::default() };
        let max_num = max_num.min(MAX_QUERY_MESSAGES);
        let mut seen = HashSet::new();
        let mut found: Vec<(i64, Bytes)> = Vec::new();
        let (timestamp, phy_offset) = index.query(topic, key, begin_ms, end_ms, &mut |offset| {
            if found.len() >= max_num {
                return false;
            }
            if seen.insert(offset) {
                if let Some(record) = self.commit_log.record_at(offset) {
                    if record_matches(&record, topic, key, begin_ms, end_ms) {
                        found.push((offset, record));
                    }
                }
            }
            found.len() < max_num
        });
        found.sort_by_key(|(offset, _)| *offset);
        QueryResult {
            records: found.into_iter().map(|(_, record)| record).collect(),
            index_last_update_timestamp: timestamp,
            index_last_update_phy_offset: phy_offset,
        }
    }
}

//! Rebuilding ConsumeQueue entries and index keys from CommitLog records: at open (Apache's
//! re-dispatch) and after a replicated chunk is appended on a slave (Apache's reput).
//!
//! Every record is visited; an entry is written when its queue offset is at or beyond the
//! queue's max offset, so lost or deleted queues are rebuilt. An entry already there must match
//! the record (offset, size, tags code): one that does not (a torn write, or stale entries from
//! before a truncation) cuts its queue there, and the rest is rebuilt. Records after the last
//! indexed one are indexed. The tags code is
//! recomputed from the record: the `TAGS` hash, or for `SCHEDULE_TOPIC_XXXX` the delivery time
//! `STORETIMESTAMP + delay(DELAY level)` with Apache's default delay levels (a broker configured
//! with other levels gets those on live puts only).

use std::collections::HashMap;

use rmq_remoting::message::properties::{find_property, keys};
use rmq_remoting::message::record::RecordView;
use rmq_remoting::message::{sys_flag, tags_code};

use crate::commitlog::CommitLog;
use crate::consumequeue::table::QueueTable;
use crate::consumequeue::CqEntry;
use crate::error::StoreError;
use crate::index::IndexService;

/// The topic of delayed messages, whose tags code is the delivery timestamp.
pub(crate) const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Apache's default `messageDelayLevel` in seconds, level 1 first:
/// "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".
const DELAY_LEVELS_SECS: [i64; 18] =
    [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200];

/// Delay of a delay level in ms, like Apache: levels above the table are clamped to the last.
fn delay_level_ms(level: i32) -> i64 {
    let index = usize::try_from(level).unwrap_or(1).clamp(1, DELAY_LEVELS_SECS.len()) - 1;
    DELAY_LEVELS_SECS[index] * 1000
}

/// Whether `topic` can name a ConsumeQueue directory safely.
pub(crate) fn is_path_safe_topic(topic: &str) -> bool {
    !topic.is_empty() && topic != "." && topic != ".." && !topic.contains(['/', '\\', '\0'])
}

/// The tags code a record's ConsumeQueue entry carries.
fn tags_code_of(topic: &str, view: &RecordView<'_>) -> i64 {
    let props = view.properties_str();
    if topic == SCHEDULE_TOPIC {
        let level = find_property(&props, keys::DELAY).and_then(|l| l.parse::<i32>().ok());
        if let Some(level) = level.filter(|l| *l > 0) {
            return view.header.store_timestamp.saturating_add(delay_level_ms(level));
        }
    }
    tags_code(find_property(&props, keys::TAGS))
}

/// Whether a queue's `found` entry is the `rebuilt` one for the record `view`. The tags code
/// found is trusted in the schedule topic (the broker's delay levels may differ from the
/// defaults used here), and when it is 0 for a transaction half message (stored without one).
fn entry_matches(found: &CqEntry, rebuilt: &CqEntry, topic: &str, view: &RecordView<'_>) -> bool {
    let half_message = || find_property(&view.properties_str(), keys::TRAN_MSG).is_some();
    found.commit_log_offset == rebuilt.commit_log_offset
        && found.size == rebuilt.size
        && (found.tags_code == rebuilt.tags_code || topic == SCHEDULE_TOPIC || (found.tags_code == 0 && half_message()))
}

/// What a re-dispatch did.
#[derive(Debug, Default)]
pub(crate) struct Redispatched {
    /// The largest STORETIMESTAMP seen (0 if none).
    pub(crate) last_store_timestamp: i64,
    /// ConsumeQueue entries written.
    pub(crate) entries: usize,
    /// Index keys added.
    pub(crate) keys: usize,
    /// Queues cut because an entry did not match its record.
    pub(crate) cuts: usize,
    /// The new max offset of each queue that got entries, when asked for.
    pub(crate) grown: HashMap<(String, i32), i64>,
}

/// Re-dispatches the CommitLog from `from` (a record boundary) to its end; with `track_growth`
/// it also reports which queues grew (to wake their readers).
pub(crate) fn redispatch(
    commit_log: &CommitLog,
    queues: &QueueTable,
    index: Option<&IndexService>,
    from: i64,
    track_growth: bool,
) -> Result<Redispatched, StoreError> {
    let mut done = Redispatched::default();
    let mut failure = None;
    let indexed_through = index.and_then(IndexService::indexed_through).unwrap_or(i64::MIN);
    commit_log.walk(from, false, |offset, view| {
        let header = &view.header;
        done.last_store_timestamp = done.last_store_timestamp.max(header.store_timestamp);
        let Ok(topic) = view.topic_str() else { return };
        if failure.is_some() {
            return;
        }
        if let Some(index) = index.filter(|_| offset > indexed_through) {
            match index.build(topic, &view.properties_str(), header.sys_flag, offset, header.store_timestamp) {
                Ok(added) => done.keys += added,
                Err(e) => {
                    failure = Some(e);
                    return;
                }
            }
        }
        if !sys_flag::is_dispatchable(header.sys_flag) || header.queue_id < 0 {
            return;
        }
        if !is_path_safe_topic(topic) {
            tracing::warn!(offset, topic, "not dispatching a record with an unsafe topic name");
            return;
        }
        let mut queue = queues.get_or_create(topic, header.queue_id);
        let entry =
            CqEntry { commit_log_offset: offset, size: header.total_size, tags_code: tags_code_of(topic, view) };
        if header.queue_offset < queue.max_offset() {
            let found = queue.entry(header.queue_offset);
            if header.queue_offset < queue.min_offset() || found.is_some_and(|f| entry_matches(&f, &entry, topic, view))
            {
                return;
            }
            tracing::warn!(
                topic,
                queue_id = header.queue_id,
                queue_offset = header.queue_offset,
                ?found,
                ?entry,
                "ConsumeQueue entry does not match its CommitLog record; rebuilding the queue from there"
            );
            drop(queue);
            if let Err(e) = queues.cut(topic, header.queue_id, header.queue_offset) {
                failure = Some(e);
                return;
            }
            done.cuts += 1;
            queue = queues.get_or_create(topic, header.queue_id);
        }
        match queue.put(header.queue_offset, entry) {
            Ok(true) => {
                done.entries += 1;
                if track_growth {
                    done.grown.insert((topic.to_owned(), header.queue_id), header.queue_offset + 1);
                }
            }
            Ok(false) => {}
            Err(e) => failure = Some(e),
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_levels_clamp_like_apache() {
        assert_eq!(delay_level_ms(1), 1000);
        assert_eq!(delay_level_ms(3), 10_000);
        assert_eq!(delay_level_ms(18), 7_200_000);
        assert_eq!(delay_level_ms(99), 7_200_000);
    }

    #[test]
    fn unsafe_topic_names_are_detected() {
        assert!(is_path_safe_topic("TopicTest"));
        assert!(is_path_safe_topic("%RETRY%g+t"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0"] {
            assert!(!is_path_safe_topic(bad), "{bad:?}");
        }
    }
}

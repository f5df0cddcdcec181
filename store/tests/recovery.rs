//! Reopening the store: after a clean shutdown, after a kill (data only in the page cache),
//! with a torn, zero-filled or garbage CommitLog tail, and with lost, deleted, truncated or
//! damaged ConsumeQueues. CommitLog damage is applied after a simulated crash (`abandon`),
//! which is when it happens for real.

mod common;

use std::cell::Cell;
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use bytes::Bytes;
use common::{commit_log_file, msg, open, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_store::{MessageStore, ReadStatus, StoreError};

const TOPICS: [(&str, i32); 3] = [("A", 0), ("A", 1), ("B", 0)];

/// Puts 40 messages of varying sizes over three queues (several file rolls).
fn fill(store: &MessageStore) -> Vec<i64> {
    let mut offsets = Vec::new();
    for i in 0..40usize {
        let (topic, queue) = TOPICS[i % 3];
        let body = vec![(i as u8) | 0x80; 50 + i * 13];
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        offsets.extend(store.put(msg(topic, queue, &body, Some(tag))).expect("put").commit_log_offsets);
    }
    offsets
}

/// Every record of every test queue, raw.
fn snapshot(store: &MessageStore) -> Vec<Vec<Bytes>> {
    TOPICS.iter().map(|(t, q)| store.read(t, *q, 0, 1000, usize::MAX, &|_| true).records).collect()
}

fn write_at(path: &Path, pos: u64, bytes: &[u8]) {
    let mut file = OpenOptions::new().write(true).open(path).expect("open");
    file.seek(SeekFrom::Start(pos)).expect("seek");
    file.write_all(bytes).expect("write");
}

/// Stops the store like a crash: the `abort` file stays, so the next open validates everything
/// (damaged files are what a crash leaves; a clean stop trusts the ConsumeQueues).
fn crash(store: std::sync::Arc<MessageStore>) {
    store.abandon();
    drop(store);
}

fn last_file_and_pos(max_offset: i64) -> (u64, u64) {
    let start = max_offset as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE;
    (start, max_offset as u64 - start)
}

#[test]
fn reopen_after_shutdown_returns_identical_records_and_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let max = store.commit_log_max_offset();
    assert!(max > 3 * COMMIT_LOG_FILE_SIZE as i64, "test should span several files");
    store.shutdown();
    drop(store);
    for _ in 0..3 {
        let store = open(dir.path());
        assert_eq!(snapshot(&store), before);
        assert_eq!(store.commit_log_max_offset(), max);
        assert_eq!(store.queue_ids("A"), vec![0, 1]);
    }
    let store = open(dir.path());
    let ok = store.put(msg("A", 0, b"next", None)).expect("put");
    assert_eq!(ok.first_queue_offset, before[0].len() as i64);
    assert!(ok.commit_log_offsets[0] >= max);
}

#[test]
fn reopen_after_kill_keeps_page_cache_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    // No shutdown, no flush: like kill -9, only the page cache holds the data.
    store.abandon();
    drop(store);
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn garbage_after_the_last_record_is_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let max = store.commit_log_max_offset();
    crash(store);
    let (file, pos) = last_file_and_pos(max);
    // A record header that claims to be a V1 record of 500 bytes, then junk.
    let mut junk = 500i32.to_be_bytes().to_vec();
    junk.extend_from_slice(&rmq_remoting::message::record::MAGIC_V1.to_be_bytes());
    junk.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    write_at(&commit_log_file(dir.path(), file), pos, &junk);
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.commit_log_max_offset(), max);
    let ok = store.put(msg("B", 0, b"after", None)).expect("put");
    assert_eq!(ok.commit_log_offsets, vec![max]);
    let new_len = store.message_at(max).expect("new record").len() as u64;
    drop(store);
    let bytes = std::fs::read(commit_log_file(dir.path(), file)).expect("read");
    let junk_end = (pos + junk.len() as u64) as usize;
    assert!(bytes[(pos + new_len) as usize..junk_end].iter().all(|b| *b == 0), "old junk was zeroed");
    // The junk beyond the new record was zeroed, so the next reopen is clean too.
    let store = open(dir.path());
    assert_eq!(store.read("B", 0, 0, 1000, usize::MAX, &|_| true).records.len(), before[2].len() + 1);
}

#[test]
fn torn_last_record_is_cut_with_its_queue_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    let before = snapshot(&store);
    let last = *offsets.last().expect("offsets");
    let last_len = store.message_at(last).expect("last record").len();
    // message 39 went to TOPICS[0]
    assert_eq!(store.max_offset("A", 0), before[0].len() as i64);
    crash(store);
    let (file, pos) = last_file_and_pos(last);
    // Zero the second half of the record: a write torn by a crash.
    write_at(&commit_log_file(dir.path(), file), pos + last_len as u64 / 2, &vec![0; last_len - last_len / 2]);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), last);
    let after = snapshot(&store);
    assert_eq!(after[0], before[0][..before[0].len() - 1]);
    assert_eq!(after[1..], before[1..]);
    let ok = store.put(msg("A", 0, b"replacement", None)).expect("put");
    assert_eq!((ok.first_queue_offset, ok.commit_log_offsets[0]), (before[0].len() as i64 - 1, last));
}

#[test]
fn zero_filled_tail_is_cut_back_to_the_last_whole_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    let before = snapshot(&store);
    let max = store.commit_log_max_offset() as u64;
    crash(store);
    // Pages never written back: zeros from inside record 30 to the end of every later file.
    let from = offsets[30] as u64 + 40;
    let (first, pos) = last_file_and_pos(from as i64);
    write_at(&commit_log_file(dir.path(), first), pos, &vec![0; (COMMIT_LOG_FILE_SIZE - pos) as usize]);
    let mut file = first + COMMIT_LOG_FILE_SIZE;
    while file < max {
        write_at(&commit_log_file(dir.path(), file), 0, &vec![0; COMMIT_LOG_FILE_SIZE as usize]);
        file += COMMIT_LOG_FILE_SIZE;
    }
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), offsets[30]);
    let after = snapshot(&store);
    for (q, records) in after.iter().enumerate() {
        // message i went to TOPICS[i % 3]; messages 0..30 survive
        assert_eq!(records[..], before[q][..(30 + 2 - q) / 3], "queue {q}");
    }
    assert!(
        !commit_log_file(dir.path(), first + COMMIT_LOG_FILE_SIZE).exists(),
        "zero files after the end are deleted"
    );
    let ok = store.put(msg("A", 0, b"next", None)).expect("put");
    assert_eq!((ok.commit_log_offsets[0], ok.first_queue_offset), (offsets[30], 10));
}

#[test]
fn record_torn_inside_its_properties_is_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    let before = snapshot(&store);
    let last = *offsets.last().expect("offsets");
    let len = store.message_at(last).expect("last record").len() as u64;
    crash(store);
    // Body, CRC and every length field intact; only the properties' tail never reached the disk.
    let (file, pos) = last_file_and_pos(last);
    write_at(&commit_log_file(dir.path(), file), pos + len - 5, &[0; 5]);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), last);
    let after = snapshot(&store);
    assert_eq!(after[0], before[0][..before[0].len() - 1]);
    assert_eq!(after[1..], before[1..]);
}

#[test]
fn truncated_consume_queue_files_are_rebuilt_on_start() {
    // (queue, file index, new length, crash first): the last file cut inside an entry, a middle
    // file cut in half, the first file emptied; after a clean stop and after a crash.
    let cases = [(2, 1, 70, false), (0, 0, 100, true), (1, 0, 0, false), (2, 0, 30, true)];
    for (queue, file, len, crash_first) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        fill(&store);
        let before = snapshot(&store);
        if crash_first {
            store.flush().expect("flush");
            crash(store);
        } else {
            drop(store);
        }
        let (topic, queue_id) = TOPICS[queue];
        let path = dir.path().join(format!("consumequeue/{topic}/{queue_id}/{:020}", file * 200));
        OpenOptions::new().write(true).open(&path).expect("open").set_len(len).expect("truncate");
        let store = open(dir.path());
        assert_eq!(snapshot(&store), before, "queue {queue} file {file} cut to {len}");
        assert_eq!(std::fs::metadata(&path).expect("metadata").len(), 200, "resized");
        drop(store);
        assert_eq!(snapshot(&open(dir.path())), before, "and stays repaired");
    }
}

#[test]
fn consume_queue_entries_that_disagree_with_their_records_are_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let even = rmq_remoting::message::tags_code(Some("even"));
    let evens_before = store.read("B", 0, 0, 1000, usize::MAX, &|c| c == even).records;
    store.flush().expect("flush");
    crash(store);
    // Torn entries: A/1 entry 3 lost the last byte of its size, B/0 entry 12 the end of its
    // tags code. Both still look like valid entries below the CommitLog end.
    write_at(&dir.path().join(format!("consumequeue/A/1/{:020}", 0)), 3 * 20 + 11, &[0]);
    write_at(&dir.path().join(format!("consumequeue/B/0/{:020}", 200)), 2 * 20 + 17, &[0; 3]);
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.read("B", 0, 0, 1000, usize::MAX, &|c| c == even).records, evens_before);
}

#[test]
fn corrupt_body_crc_cuts_the_log_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    let victim = offsets[35];
    crash(store);
    let (file, pos) = last_file_and_pos(victim);
    // Flip a body byte (BODY starts at 88 with IPv4 hosts): only the CRC notices.
    write_at(&commit_log_file(dir.path(), file), pos + 90, &[0x01]);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), victim);
    let total: usize = snapshot(&store).iter().map(Vec::len).sum();
    assert_eq!(total, 35);
}

#[test]
fn deleted_consume_queues_are_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let even = rmq_remoting::message::tags_code(Some("even"));
    let evens_before = store.read("A", 1, 0, 1000, usize::MAX, &|c| c == even).records;
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).expect("remove");
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.read("A", 1, 0, 1000, usize::MAX, &|c| c == even).records, evens_before);
}

#[test]
fn lost_consume_queue_tail_is_redispatched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let entries = before[2].len() as u64; // queue B/0, 10 entries per 200-byte file
    crash(store);
    let cq_file = dir.path().join(format!("consumequeue/B/0/{:020}", (entries - 1) / 10 * 200));
    write_at(&cq_file, (entries - 1) % 10 * 20, &[0; 20]);
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn schedule_topic_entries_are_rebuilt_with_delivery_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut props = Properties::new();
    props.insert(keys::DELAY.into(), "3".into());
    let mut delayed = msg("SCHEDULE_TOPIC_XXXX", 2, b"later", Some("t"));
    delayed.properties = encode_properties(&props);
    let ok = store.put(delayed).expect("put");
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).expect("remove");
    let store = open(dir.path());
    let seen = Cell::new(0);
    let r = store.read("SCHEDULE_TOPIC_XXXX", 2, 0, 1, usize::MAX, &|code| {
        seen.set(code);
        true
    });
    assert_eq!(r.status, ReadStatus::Found);
    assert_eq!(seen.get(), ok.store_timestamp + 10_000, "level 3 is 10 s");
}

#[test]
fn bad_files_fail_the_open_but_an_empty_last_file_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    fill(&store);
    let before = snapshot(&store);
    let max = store.commit_log_max_offset() as u64;
    drop(store);
    let next = (max / COMMIT_LOG_FILE_SIZE + 1) * COMMIT_LOG_FILE_SIZE;
    std::fs::write(commit_log_file(dir.path(), next), b"").expect("empty file");
    let store = open(dir.path());
    assert_eq!(snapshot(&store), before);
    drop(store);
    assert!(!commit_log_file(dir.path(), next).exists());
    std::fs::write(commit_log_file(dir.path(), next), b"short").expect("short file");
    assert!(matches!(MessageStore::open(common::config(dir.path())), Err(StoreError::Corrupt { .. })));
}

#[test]
fn sync_flush_mode_persists_before_returning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.flush = rmq_store::FlushMode::Sync;
    let store = MessageStore::open(config.clone()).expect("open");
    fill(&store);
    let before = snapshot(&store);
    store.abandon();
    drop(store);
    let store = MessageStore::open(config).expect("reopen");
    assert_eq!(snapshot(&store), before);
}

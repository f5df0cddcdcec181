//! Putting and reading messages: roundtrip, offsets, rolling, filters, batches, limits and
//! concurrency.

mod common;

use std::sync::{Arc, Mutex};

use common::{decode, msg, open, read_all, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::record::{read_size_and_magic, MAGIC_BLANK};
use rmq_remoting::message::{sys_flag, tags_code};
use rmq_store::{ReadStatus, StoreError};

#[test]
fn put_then_read_returns_the_same_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ok = store.put(msg("TopicA", 1, b"hello", Some("TagA"))).expect("put");
    assert_eq!(ok.first_queue_offset, 0);
    assert_eq!(ok.commit_log_offsets, vec![0]);
    let result = store.read("TopicA", 1, 0, 32, 1 << 20, &|_| true);
    assert_eq!(result.status, ReadStatus::Found);
    assert_eq!((result.next_begin_offset, result.min_offset, result.max_offset), (1, 0, 1));
    let m = decode(&result.records[0]);
    assert_eq!((m.topic.as_str(), m.queue_id, &m.body[..]), ("TopicA", 1, &b"hello"[..]));
    assert_eq!((m.queue_offset, m.physical_offset), (0, 0));
    assert_eq!(m.store_timestamp, ok.store_timestamp);
    assert_eq!(m.store_host, "10.0.0.9:10911".parse().expect("addr"));
    assert_eq!(m.properties.get("TAGS").map(String::as_str), Some("TagA"));
    assert_eq!(store.message_at(0), Some(result.records[0].clone()));
    assert_eq!(store.message_at(1), None);
    assert_eq!(store.commit_log_max_offset(), result.records[0].len() as i64);
    assert_eq!(store.queue_ids("TopicA"), vec![1]);
    assert_eq!(store.earliest_store_time("TopicA", 1), Some(ok.store_timestamp));
}

#[test]
fn queue_offsets_are_contiguous_per_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..30 {
        let ok = store.put(msg("T", i % 3, format!("m{i}").as_bytes(), None)).expect("put");
        assert_eq!(ok.first_queue_offset, i64::from(i / 3));
    }
    for q in 0..3 {
        let msgs = read_all(&store, "T", q);
        assert_eq!(msgs.len(), 10);
        assert!(msgs.iter().enumerate().all(|(i, m)| m.queue_offset == i as i64 && m.queue_id == q));
        assert_eq!(store.max_offset("T", q), 10);
    }
    assert_eq!(store.queue_ids("T"), vec![0, 1, 2]);
}

#[test]
fn full_commit_log_file_gets_a_blank_record_and_rolls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let body = vec![b'x'; 1000];
    let mut offsets = Vec::new();
    for _ in 0..10 {
        offsets.extend(store.put(msg("Roll", 0, &body, None)).expect("put").commit_log_offsets);
    }
    let file_size = COMMIT_LOG_FILE_SIZE as i64;
    assert!(offsets.iter().any(|o| *o >= 2 * file_size), "rolled at least twice: {offsets:?}");
    for pair in offsets.windows(2) {
        let len = store.message_at(pair[0]).expect("record").len() as i64;
        if pair[1] != pair[0] + len {
            // The gap is a BLANK record running to the end of the file.
            assert_eq!(pair[1] % file_size, 0);
            let blank = std::fs::read(common::commit_log_file(dir.path(), (pair[1] - file_size) as u64)).expect("file");
            let pos = (pair[0] + len - (pair[1] - file_size)) as usize;
            let (size, magic) = read_size_and_magic(&blank[pos..]).expect("blank");
            assert_eq!((magic, size as usize), (MAGIC_BLANK, blank.len() - pos));
        }
    }
    let msgs = read_all(&store, "Roll", 0);
    assert_eq!(msgs.iter().map(|m| m.physical_offset).collect::<Vec<_>>(), offsets);
}

#[test]
fn filter_skips_entries_and_reports_no_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for (i, tag) in ["A", "B", "A", "B", "B"].iter().enumerate() {
        store.put(msg("F", 0, &[i as u8], Some(tag))).expect("put");
    }
    let want = tags_code(Some("A"));
    let only_a = |code: i64| code == want;
    let result = store.read("F", 0, 0, 32, 1 << 20, &only_a);
    assert_eq!(result.status, ReadStatus::Found);
    assert_eq!(result.records.iter().map(|r| decode(r).body[0]).collect::<Vec<_>>(), vec![0, 2]);
    assert_eq!(result.next_begin_offset, 5);
    let result = store.read("F", 0, 3, 32, 1 << 20, &only_a);
    assert_eq!((result.status, result.next_begin_offset), (ReadStatus::NoMatchedMessage, 5));
    assert!(result.records.is_empty());
}

#[test]
fn read_stops_at_max_count_and_max_bytes_but_returns_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..5u8 {
        store.put(msg("L", 0, &[i; 100], None)).expect("put");
    }
    let result = store.read("L", 0, 0, 2, usize::MAX, &|_| true);
    assert_eq!((result.records.len(), result.next_begin_offset), (2, 2));
    let one_record = result.records[0].len();
    let result = store.read("L", 0, 1, 32, one_record * 2 + 1, &|_| true);
    assert_eq!((result.records.len(), result.next_begin_offset), (2, 3));
    let result = store.read("L", 0, 0, 32, 1, &|_| true);
    assert_eq!((result.status, result.records.len(), result.next_begin_offset), (ReadStatus::Found, 1, 1));
}

#[test]
fn batch_gets_consecutive_offsets_and_one_timestamp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    store.put(msg("B", 0, b"single", None)).expect("put");
    let batch = (0..4).map(|i| msg("B", 0, &[i; 300], Some("t"))).collect();
    let ok = store.put_batch(batch).expect("batch");
    assert_eq!(ok.first_queue_offset, 1);
    assert_eq!(ok.commit_log_offsets.len(), 4);
    let msgs = read_all(&store, "B", 0);
    assert_eq!(msgs.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert!(msgs[1..].iter().all(|m| m.store_timestamp == ok.store_timestamp));
    // never split across files
    let file = |o: i64| o / COMMIT_LOG_FILE_SIZE as i64;
    assert!(ok.commit_log_offsets.iter().all(|o| file(*o) == file(ok.commit_log_offsets[0])));
    let mixed = vec![msg("B", 0, b"a", None), msg("B", 1, b"b", None)];
    assert!(matches!(store.put_batch(mixed), Err(StoreError::MessageIllegal(_))));
    assert!(matches!(store.put_batch(vec![]), Err(StoreError::MessageIllegal(_))));
    let mut tx = msg("B", 0, b"a", None);
    tx.sys_flag = sys_flag::TRANSACTION_PREPARED;
    assert!(matches!(store.put_batch(vec![tx]), Err(StoreError::MessageIllegal(_))));
}

#[test]
fn prepared_and_rollback_messages_get_no_queue_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    store.put(msg("Tx", 0, b"normal", None)).expect("put");
    for flag in [sys_flag::TRANSACTION_PREPARED, sys_flag::TRANSACTION_ROLLBACK] {
        let mut m = msg("Tx", 0, b"half", None);
        m.sys_flag = flag;
        let ok = store.put(m).expect("put");
        assert_eq!(ok.first_queue_offset, 0);
        assert_eq!(decode(&store.message_at(ok.commit_log_offsets[0]).expect("stored")).queue_offset, 0);
    }
    let mut commit = msg("Tx", 0, b"commit", None);
    commit.sys_flag = sys_flag::TRANSACTION_COMMIT;
    assert_eq!(store.put(commit).expect("put").first_queue_offset, 1);
    assert_eq!(store.max_offset("Tx", 0), 2);
    let mut only_half = msg("HalfOnly", 0, b"half", None);
    only_half.sys_flag = sys_flag::TRANSACTION_PREPARED;
    store.put(only_half).expect("put");
    assert!(store.queue_ids("HalfOnly").is_empty());
}

#[test]
fn oversized_or_unsafe_messages_are_illegal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.max_message_size = 1000;
    let store = rmq_store::MessageStore::open(config).expect("open");
    let illegal = |r| matches!(r, Err(StoreError::MessageIllegal(_)));
    assert!(illegal(store.put(msg("T", 0, &[0; 1001], None))));
    let mut props = msg("T", 0, b"x", None);
    props.properties = "k\u{1}".to_string() + &"v".repeat(32_767) + "\u{2}";
    assert!(illegal(store.put(props)));
    assert!(illegal(store.put(msg("../etc", 0, b"x", None))));
    assert!(illegal(store.put(msg(&"t".repeat(256), 0, b"x", None))));
    assert!(illegal(store.put(msg("T", -1, b"x", None))));
    // a long retry topic is stored with a V2 record
    let topic = format!("%RETRY%{}", "g".repeat(150));
    let ok = store.put(msg(&topic, 0, b"x", None)).expect("put");
    assert_eq!(decode(&store.message_at(ok.commit_log_offsets[0]).expect("stored")).topic, topic);
    assert!(store.put(msg("T", 0, &[0; 1000], None)).is_ok());
}

#[test]
fn arrival_listener_sees_new_max_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    store.set_arrival_listener(Box::new(move |topic, queue, max| {
        sink.lock().expect("lock").push((topic.to_owned(), queue, max));
    }));
    store.put(msg("N", 2, b"a", None)).expect("put");
    store.put_batch(vec![msg("N", 2, b"b", None), msg("N", 2, b"c", None)]).expect("batch");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen, vec![("N".to_owned(), 2, 1), ("N".to_owned(), 2, 3)]);
}

#[test]
fn concurrent_puts_keep_queue_offsets_contiguous() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..100 {
                    let body = format!("{t}-{i}");
                    store.put(msg("C", i % 2, body.as_bytes(), None)).expect("put");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let mut last_physical = -1;
    for q in 0..2 {
        let msgs = read_all(&store, "C", q);
        assert_eq!(msgs.len(), 200);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(m.queue_offset, i as i64);
        }
        assert!(msgs.windows(2).all(|w| w[0].store_timestamp <= w[1].store_timestamp));
        last_physical = last_physical.max(msgs.last().map_or(0, |m| m.physical_offset));
    }
    assert!(last_physical > 0);
}

#[test]
fn shutdown_refuses_further_puts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    store.put(msg("S", 0, b"a", None)).expect("put");
    store.shutdown();
    store.shutdown();
    assert!(matches!(store.put(msg("S", 0, b"b", None)), Err(StoreError::ServiceUnavailable(_))));
    assert_eq!(store.read("S", 0, 0, 1, 1 << 20, &|_| true).records.len(), 1);
}

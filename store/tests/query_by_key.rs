//! Queries by message key through the IndexFiles: matching by KEYS token and UNIQ_KEY within a
//! topic, time ranges, caps, the on-disk format, rolling, and the index across reopen, deletion
//! and a torn CommitLog tail.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use common::{commit_log_file, config, decode, msg, open, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_remoting::message::{java_string_hash, sys_flag};
use rmq_store::{MessageStore, NewMessage, StoreConfig};

const ALL_TIME: (i64, i64) = (0, i64::MAX);

/// A message of `topic` with UNIQ_KEY `uniq` and, if given, the KEYS property `keys`.
fn keyed(topic: &str, uniq: &str, keys_prop: Option<&str>) -> NewMessage {
    let mut props = Properties::new();
    props.insert(keys::UNIQ_KEY.into(), uniq.into());
    if let Some(k) = keys_prop {
        props.insert(keys::KEYS.into(), k.into());
    }
    let mut m = msg(topic, 0, uniq.as_bytes(), None);
    m.properties = encode_properties(&props);
    m
}

/// UNIQ_KEYs of the messages `query_by_key` finds (all time, up to 64).
fn found(store: &MessageStore, topic: &str, key: &str) -> Vec<String> {
    let result = store.query_by_key(topic, key, 64, ALL_TIME.0, ALL_TIME.1);
    result.records.iter().map(|r| decode(r).properties.get(keys::UNIQ_KEY).cloned().unwrap_or_default()).collect()
}

fn open_with(dir: &Path, tweak: impl FnOnce(&mut StoreConfig)) -> std::sync::Arc<MessageStore> {
    let mut c = config(dir);
    tweak(&mut c);
    MessageStore::open(c).expect("store opens")
}

/// The index files, in name order.
fn index_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("index")).expect("index dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
}

fn be_i32(bytes: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"))
}

fn be_i64(bytes: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"))
}

#[test]
fn message_is_found_by_each_keys_token_and_its_uniq_key_only_in_its_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    store.put(keyed("T", "U1", Some("order-1  customer-7"))).expect("put");
    store.put(keyed("T", "U2", Some("order-2"))).expect("put");
    store.put(keyed("Other", "U3", Some("order-1"))).expect("put");
    assert_eq!(found(&store, "T", "order-1"), ["U1"]);
    assert_eq!(found(&store, "T", "customer-7"), ["U1"]);
    assert_eq!(found(&store, "T", "U1"), ["U1"]);
    assert_eq!(found(&store, "T", "order-2"), ["U2"]);
    assert_eq!(found(&store, "Other", "order-1"), ["U3"]);
    assert!(found(&store, "Other", "U1").is_empty());
    assert!(found(&store, "T", "order-1  customer-7").is_empty(), "the KEYS value itself is not a key");
    assert!(found(&store, "T", "").is_empty());
    assert!(found(&store, "Nope", "order-1").is_empty());
}

#[test]
fn java_hash_collisions_and_rolled_back_messages_are_not_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert_eq!(java_string_hash("T#Aa"), java_string_hash("T#BB"));
    store.put(keyed("T", "U1", Some("Aa"))).expect("put");
    let mut rollback = keyed("T", "U2", Some("BB"));
    rollback.sys_flag = sys_flag::TRANSACTION_ROLLBACK;
    store.put(rollback).expect("put");
    assert_eq!(found(&store, "T", "Aa"), ["U1"]);
    assert!(found(&store, "T", "BB").is_empty());
    assert!(found(&store, "T", "U2").is_empty());
}

#[test]
fn time_range_outside_the_store_time_excludes_the_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let t = store.put(keyed("T", "U1", Some("k"))).expect("put").store_timestamp;
    let query = |begin, end| store.query_by_key("T", "k", 32, begin, end).records.len();
    assert_eq!(query(t, t), 1);
    assert_eq!(query(t - 60_000, t + 60_000), 1);
    assert_eq!(query(t + 1, i64::MAX), 0);
    assert_eq!(query(0, t - 1), 0);
    assert_eq!(query(t - 120_000, t - 60_000), 0);
}

#[test]
fn max_num_caps_the_results_at_most_64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut offsets = Vec::new();
    for i in 0..70 {
        offsets.extend(store.put(keyed("T", &format!("U{i}"), Some("shared"))).expect("put").commit_log_offsets);
    }
    let query = |max_num| store.query_by_key("T", "shared", max_num, ALL_TIME.0, ALL_TIME.1);
    assert_eq!(query(0).records.len(), 0);
    let five = query(5);
    assert_eq!(five.records.len(), 5);
    // The newest entries, returned by ascending offset.
    let got: Vec<i64> = five.records.iter().map(|r| decode(r).physical_offset).collect();
    assert_eq!(got, offsets[65..]);
    assert_eq!(five.index_last_update_phy_offset, offsets[69]);
    assert_eq!(query(1000).records.len(), 64);
}

#[test]
fn index_file_has_apache_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ok = store.put(keyed("T", "U1", None)).expect("put");
    let result = store.query_by_key("T", "U1", 1, ALL_TIME.0, ALL_TIME.1);
    assert_eq!(result.index_last_update_timestamp, ok.store_timestamp);
    store.shutdown();
    let files = index_files(dir.path());
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    assert!(name.len() == 17 && name.bytes().all(|b| b.is_ascii_digit()), "{name}");
    let bytes = std::fs::read(&files[0]).expect("read");
    assert_eq!(bytes.len(), 40 + 4 * 64 + 20 * 1000);
    assert_eq!((be_i64(&bytes, 0), be_i64(&bytes, 8)), (ok.store_timestamp, ok.store_timestamp));
    assert_eq!((be_i64(&bytes, 16), be_i64(&bytes, 24)), (0, 0));
    assert_eq!((be_i32(&bytes, 32), be_i32(&bytes, 36)), (1, 2));
    let hash = java_string_hash("T#U1").abs();
    assert_eq!(be_i32(&bytes, 40 + 4 * (hash % 64) as usize), 1);
    let entry = 40 + 4 * 64 + 20;
    assert_eq!((be_i32(&bytes, entry), be_i64(&bytes, entry + 4)), (hash, 0));
    assert_eq!((be_i32(&bytes, entry + 12), be_i32(&bytes, entry + 16)), (0, 0));
}

#[test]
fn index_survives_reopen_without_reindexing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..30 {
        store.put(keyed("T", &format!("U{i}"), Some(&format!("k{} all", i % 3)))).expect("put");
    }
    store.shutdown();
    drop(store);
    let count = || be_i32(&std::fs::read(&index_files(dir.path())[0]).expect("read"), 36);
    let before = count();
    assert_eq!(before, 1 + 30 * 3);
    for _ in 0..2 {
        let store = open(dir.path());
        assert_eq!(found(&store, "T", "k1").len(), 10);
        assert_eq!(found(&store, "T", "U7"), ["U7"]);
        drop(store);
        assert_eq!(count(), before, "reopen must not index messages twice");
    }
}

#[test]
fn deleted_index_dir_is_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..30 {
        store.put(keyed(if i % 2 == 0 { "A" } else { "B" }, &format!("U{i}"), Some("k"))).expect("put");
    }
    let before = store.query_by_key("A", "k", 64, ALL_TIME.0, ALL_TIME.1);
    assert_eq!(before.records.len(), 15);
    drop(store);
    std::fs::remove_dir_all(dir.path().join("index")).expect("remove");
    let store = open(dir.path());
    assert_eq!(store.query_by_key("A", "k", 64, ALL_TIME.0, ALL_TIME.1), before);
    assert_eq!(found(&store, "B", "U29"), ["U29"]);
}

#[test]
fn full_index_file_rolls_to_a_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 3 entries: 2 keys per file (entry 0 is unused).
    let tiny = |c: &mut StoreConfig| c.max_index_num = 3;
    let store = open_with(dir.path(), tiny);
    for i in 0..5 {
        store.put(keyed("T", &format!("U{i}"), Some("k"))).expect("put");
    }
    assert_eq!(index_files(dir.path()).len(), 5);
    assert_eq!(found(&store, "T", "k"), ["U0", "U1", "U2", "U3", "U4"]);
    drop(store);
    let store = open_with(dir.path(), tiny);
    assert_eq!(found(&store, "T", "k"), ["U0", "U1", "U2", "U3", "U4"]);
    assert_eq!(found(&store, "T", "U3"), ["U3"]);
    store.put(keyed("T", "U5", None)).expect("put");
    assert_eq!(found(&store, "T", "U5"), ["U5"]);
    assert_eq!(index_files(dir.path()).len(), 6);
}

#[test]
fn disabled_index_writes_no_files_and_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_with(dir.path(), |c| c.message_index_enable = false);
    store.put(keyed("T", "U1", Some("k"))).expect("put");
    assert_eq!(store.query_by_key("T", "k", 32, ALL_TIME.0, ALL_TIME.1), Default::default());
    assert!(!dir.path().join("index").exists());
}

#[test]
fn torn_commit_log_tail_leaves_no_index_entries_past_the_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One key per message, 3 per index file: the torn message sits in the second file and the
    // third file holds only the message after it.
    let tiny = |c: &mut StoreConfig| c.max_index_num = 4;
    let store = open_with(dir.path(), tiny);
    let mut offsets = Vec::new();
    for i in 0..7 {
        offsets.extend(store.put(keyed("T", &format!("U{i}"), None)).expect("put").commit_log_offsets);
    }
    let torn = offsets[5];
    let torn_len = store.message_at(torn).expect("record").len() as u64;
    drop(store);
    assert_eq!(index_files(dir.path()).len(), 3);
    let start = torn as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE;
    let mut file = OpenOptions::new().write(true).open(commit_log_file(dir.path(), start)).expect("open");
    file.seek(SeekFrom::Start(torn as u64 - start + torn_len / 2)).expect("seek");
    file.write_all(&vec![0; (torn_len - torn_len / 2) as usize]).expect("write");
    drop(file);

    let store = open_with(dir.path(), tiny);
    assert_eq!(store.commit_log_max_offset(), torn);
    assert_eq!(index_files(dir.path()).len(), 2, "the file wholly beyond the end is deleted");
    let result = store.query_by_key("T", "U4", 32, ALL_TIME.0, ALL_TIME.1);
    assert_eq!(result.records.len(), 1);
    assert_eq!(result.index_last_update_phy_offset, offsets[4]);
    assert!(found(&store, "T", "U5").is_empty() && found(&store, "T", "U6").is_empty());
    // The next message reuses the torn offset and the freed index entry.
    let ok = store.put(keyed("T", "U5b", None)).expect("put");
    assert_eq!(ok.commit_log_offsets, [torn]);
    assert_eq!(found(&store, "T", "U5b"), ["U5b"]);
    assert!(found(&store, "T", "U5").is_empty());
    assert_eq!(index_files(dir.path()).len(), 2);
    drop(store);
    let store = open_with(dir.path(), tiny);
    for i in ["U0", "U3", "U4", "U5b"] {
        assert_eq!(found(&store, "T", i), [i]);
    }
}

#[test]
fn unusable_index_file_makes_the_whole_index_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..10 {
        store.put(keyed("T", &format!("U{i}"), Some("k"))).expect("put");
    }
    drop(store);
    // A file of the wrong size (e.g. written with another max_index_num) after the real one.
    std::fs::write(dir.path().join("index").join("29991231235959999"), [0u8; 100]).expect("write");
    let store = open(dir.path());
    assert_eq!(found(&store, "T", "k").len(), 10);
    assert_eq!(found(&store, "T", "U9"), ["U9"]);
    assert_eq!(index_files(dir.path()).len(), 1);
}

#[test]
fn queries_run_while_messages_are_put() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_with(dir.path(), |c| c.max_index_num = 50);
    let writer = {
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            for i in 0..300 {
                store.put(keyed("T", &format!("U{i}"), Some("k"))).expect("put");
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let n = store.query_by_key("T", "k", 64, ALL_TIME.0, ALL_TIME.1).records.len();
        assert!(n >= last.min(64), "results never shrink");
        last = n;
    }
    writer.join().expect("writer");
    assert_eq!(store.query_by_key("T", "k", 64, ALL_TIME.0, ALL_TIME.1).records.len(), 64);
    assert_eq!(found(&store, "T", "U0"), ["U0"]);
    assert_eq!(found(&store, "T", "U299"), ["U299"]);
}

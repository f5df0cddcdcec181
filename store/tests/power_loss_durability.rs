//! What a power cut must not undo, one case each, on the [`PowerCut`] file layer (only synced
//! bytes and synced file names survive): a message synced into a newly created CommitLog file,
//! the `abort` marker written at open, a flushed index, and the ConsumeQueue and index entries
//! recovery cut off (which would otherwise come back and point at records written later).

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use common::power_cut::PowerCut;
use common::{commit_log_file, msg, read_all, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_store::{FlushMode, MessageStore, NewMessage, StoreConfig};

fn config(dir: &Path, flush: FlushMode) -> StoreConfig {
    let mut config = common::config(dir);
    config.flush = flush;
    config
}

/// A 100-byte message of `topic`/0 with `key` as its UNIQ_KEY.
fn keyed(topic: &str, key: &str) -> NewMessage {
    let mut message = msg(topic, 0, &[7; 100], None);
    let mut props = Properties::new();
    props.insert(keys::UNIQ_KEY.into(), key.into());
    message.properties = encode_properties(&props);
    message
}

/// Zeroes the CommitLog from `offset` to the end of its file and deletes the files after it,
/// as a power cut that lost that tail would leave it.
fn lose_commit_log_tail(dir: &Path, offset: i64) {
    let (file, pos) =
        (offset as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE, offset as u64 % COMMIT_LOG_FILE_SIZE);
    let mut f = OpenOptions::new().write(true).open(commit_log_file(dir, file)).expect("open");
    f.seek(SeekFrom::Start(pos)).expect("seek");
    f.write_all(&vec![0; (COMMIT_LOG_FILE_SIZE - pos) as usize]).expect("zero");
    for later in 1..8 {
        let _ = std::fs::remove_file(commit_log_file(dir, file + later * COMMIT_LOG_FILE_SIZE));
    }
}

/// Cuts the power of a store opened on `sim` and writes what it left on disk.
fn power_cut(store: std::sync::Arc<MessageStore>, sim: &PowerCut) {
    sim.crash();
    store.abandon();
    drop(store);
    sim.restore(None);
}

#[test]
fn message_synced_into_a_new_commit_log_file_survives_power_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), FlushMode::Sync);
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("open");
    let mut acked = 0;
    while store.commit_log_max_offset() < COMMIT_LOG_FILE_SIZE as i64 + 1000 {
        store.put(msg("T", 0, &[acked as u8; 500], None)).expect("put");
        acked += 1;
    }
    power_cut(store, &sim);
    assert!(commit_log_file(dir.path(), COMMIT_LOG_FILE_SIZE).exists(), "the second file's name was synced");
    let store = MessageStore::open(config).expect("reopen");
    let bodies: Vec<u8> = read_all(&store, "T", 0).iter().map(|m| m.body[0]).collect();
    assert_eq!(bodies, (0..acked).map(|i| i as u8).collect::<Vec<_>>());
}

#[test]
fn abort_marker_survives_a_power_cut_right_after_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(common::config(dir.path()), sim.clone()).expect("open");
    power_cut(store, &sim);
    assert!(dir.path().join("abort").exists(), "the next open must know the last run did not stop cleanly");
}

#[test]
fn flushed_index_survives_power_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(common::config(dir.path()), sim.clone()).expect("open");
    store.put(msg("T", 0, b"indexed", None)).expect("put");
    store.flush().expect("flush");
    power_cut(store, &sim);
    let index_files = std::fs::read_dir(dir.path().join("index")).map_or(0, Iterator::count);
    assert_eq!(index_files, 1, "the flushed IndexFile's name was synced");
}

#[test]
fn consume_queue_entries_cut_by_recovery_stay_cut_after_another_power_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), FlushMode::Async { interval: std::time::Duration::from_secs(3600) });
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("open");
    let offsets: Vec<i64> =
        (0..15u8).map(|i| store.put(msg("A", 0, &[i; 100], None)).expect("put").commit_log_offsets[0]).collect();
    store.flush().expect("flush");
    power_cut(store, &sim);
    // The CommitLog lost A's last 5 records (its ConsumeQueue still lists them).
    lose_commit_log_tail(dir.path(), offsets[10]);
    // Recovery cuts A/0 to 10 entries; B's records then take the place of A's lost ones and
    // are flushed, and the power goes again.
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("reopen");
    assert_eq!(store.max_offset("A", 0), 10);
    for i in 0..5u8 {
        store.put(msg("B", 0, &[0xB0 | i; 37], None)).expect("put");
    }
    store.flush().expect("flush");
    power_cut(store, &sim);
    let store = MessageStore::open(config).expect("reopen");
    let a: Vec<u8> = read_all(&store, "A", 0).iter().map(|m| m.body[0]).collect();
    assert_eq!(a, (0..10).collect::<Vec<u8>>(), "A/0 keeps exactly its 10 surviving messages");
    assert_eq!(read_all(&store, "B", 0).len(), 5);
}

#[test]
fn index_entries_cut_by_recovery_stay_cut_after_another_power_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(common::config(dir.path()), sim.clone()).expect("open");
    let offsets: Vec<i64> =
        (0..15).map(|i| store.put(keyed("A", &format!("A-{i:02}"))).expect("put").commit_log_offsets[0]).collect();
    store.flush().expect("flush");
    power_cut(store, &sim);
    lose_commit_log_tail(dir.path(), offsets[10]);
    // Recovery drops A's index entries for the lost records. B's records, of the same size,
    // then land exactly where A's were, synced one by one; the index is not flushed again.
    let config = config(dir.path(), FlushMode::Sync);
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("reopen");
    for i in 0..5 {
        assert_eq!(store.put(keyed("B", &format!("B-{i:02}"))).expect("put").commit_log_offsets[0], offsets[10 + i]);
    }
    power_cut(store, &sim);
    let store = MessageStore::open(config).expect("reopen");
    for (topic, count) in [("A", 10), ("B", 5)] {
        for i in 0..count {
            let found = store.query_by_key(topic, &format!("{topic}-{i:02}"), 4, 0, i64::MAX).records;
            assert_eq!(found.len(), 1, "{topic}-{i:02} is found by its key");
        }
    }
    assert!(store.query_by_key("A", "A-12", 4, 0, i64::MAX).records.is_empty(), "lost messages are not found");
}

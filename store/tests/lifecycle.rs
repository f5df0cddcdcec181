//! The store's instance files: the `lock` (one store per root), the `abort` marker (clean vs
//! abnormal stop) and the `checkpoint`, and how the kind of stop decides how much the next
//! open validates.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};

use common::{commit_log_file, msg, open, read_all, COMMIT_LOG_FILE_SIZE};
use rmq_store::{MessageStore, StoreError};

fn i64_at(bytes: &[u8], pos: usize) -> i64 {
    let mut buf = [0; 8];
    buf.copy_from_slice(&bytes[pos..pos + 8]);
    i64::from_be_bytes(buf)
}

/// Puts 40 messages of about 300 bytes into `T`/0 (several CommitLog files); their offsets.
fn fill(store: &MessageStore) -> Vec<i64> {
    (0..40u8).map(|i| store.put(msg("T", 0, &[i | 0x80; 300], Some("t"))).expect("put").commit_log_offsets[0]).collect()
}

/// Flips one body byte of the record at `offset` (BODY starts at 88 with IPv4 hosts): only the
/// body CRC can notice.
fn corrupt_body(dir: &std::path::Path, offset: i64) {
    let file = offset as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE;
    let mut f = OpenOptions::new().write(true).open(commit_log_file(dir, file)).expect("open");
    f.seek(SeekFrom::Start(offset as u64 - file + 90)).expect("seek");
    f.write_all(&[0x01]).expect("write");
}

#[test]
fn a_second_open_of_the_same_root_fails_until_the_first_store_shuts_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let err = MessageStore::open(common::config(dir.path())).expect_err("second open");
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("store at {} is locked by another process", dir.path().display())), "{text}");
    store.shutdown();
    let again = open(dir.path());
    again.put(msg("T", 0, b"x", None)).expect("put");
    assert!(store.put(msg("T", 0, b"y", None)).is_err(), "the shut-down store refuses puts");
}

#[test]
fn abort_holds_the_pid_while_open_and_only_a_clean_shutdown_removes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let abort = dir.path().join("abort");
    let store = open(dir.path());
    assert_eq!(std::fs::read_to_string(&abort).ok(), Some(std::process::id().to_string()));
    store.shutdown();
    assert!(!abort.exists());
    let store = open(dir.path());
    store.abandon();
    drop(store);
    assert!(abort.exists(), "a crash leaves the marker");
    drop(open(dir.path()));
    assert!(!abort.exists(), "drop shuts down cleanly");
}

#[test]
fn checkpoint_records_flushed_timestamps_and_offset_in_apache_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    store.put(msg("T", 0, b"first", None)).expect("put");
    let last = store.put(msg("T", 1, b"second", None)).expect("put");
    let max = store.commit_log_max_offset();
    store.shutdown();
    let bytes = std::fs::read(dir.path().join("checkpoint")).expect("checkpoint");
    assert_eq!(bytes.len(), 4096);
    assert_eq!(i64_at(&bytes, 0), last.store_timestamp, "physicMsgTimestamp");
    assert_eq!(i64_at(&bytes, 8), last.store_timestamp, "logicsMsgTimestamp");
    assert_eq!(i64_at(&bytes, 16), last.store_timestamp, "indexMsgTimestamp");
    assert_eq!(i64_at(&bytes, 24), 0, "masterFlushedOffset");
    assert_eq!(i64_at(&bytes, 32), max, "confirmPhyOffset");
    assert!(bytes[40..].iter().all(|b| *b == 0));
}

#[test]
fn clean_restart_does_not_revalidate_early_commit_log_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    let max = store.commit_log_max_offset();
    assert!(max > 4 * COMMIT_LOG_FILE_SIZE as i64);
    store.shutdown();
    drop(store);
    // Damage the first file after a clean stop: the fast restart does not look at it...
    corrupt_body(dir.path(), offsets[0]);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), max);
    let served = read_all(&store, "T", 0);
    assert_eq!(served.len(), 40, "every message is still served");
    assert_ne!(served[0].body[2], 0x80, "the damaged record is served as stored");
    // ...while the same damage after a crash is found and the log is cut there.
    store.abandon();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), offsets[0]);
    assert!(read_all(&store, "T", 0).is_empty());
}

#[test]
fn abnormal_restart_cuts_a_torn_tail_and_its_queue_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let offsets = fill(&store);
    store.abandon();
    drop(store);
    let last = offsets[39];
    let file = last as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE;
    let mut f = OpenOptions::new().write(true).open(commit_log_file(dir.path(), file)).expect("open");
    f.seek(SeekFrom::Start(last as u64 - file + 150)).expect("seek");
    f.write_all(&[0; 200]).expect("tear the last record");
    drop(f);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), last);
    assert_eq!(store.max_offset("T", 0), 39);
    assert_eq!(read_all(&store, "T", 0).len(), 39);
    let ok = store.put(msg("T", 0, b"again", None)).expect("put");
    assert_eq!((ok.first_queue_offset, ok.commit_log_offsets[0]), (39, last));
}

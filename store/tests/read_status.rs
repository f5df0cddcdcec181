//! Every read status of the pull table, and offset search by store time.

mod common;

use std::time::Duration;

use common::{msg, open};
use rmq_store::{Boundary, ReadStatus};

fn status(store: &rmq_store::MessageStore, topic: &str, queue: i32, offset: i64) -> (ReadStatus, i64) {
    let r = store.read(topic, queue, offset, 32, 1 << 20, &|_| true);
    (r.status, r.next_begin_offset)
}

#[test]
fn read_statuses_follow_the_pull_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..5u8 {
        store.put(msg("R", 0, &[i], None)).expect("put");
    }
    assert_eq!(status(&store, "Unknown", 0, 0), (ReadStatus::NoMatchedLogicQueue, 0));
    assert_eq!(status(&store, "R", 7, 3), (ReadStatus::NoMatchedLogicQueue, 0));
    assert_eq!(status(&store, "R", 0, 2), (ReadStatus::Found, 5));
    assert_eq!(status(&store, "R", 0, 5), (ReadStatus::OffsetOverflowOne, 5));
    assert_eq!(status(&store, "R", 0, 9), (ReadStatus::OffsetOverflowBadly, 5));
    let r = store.read("R", 0, 9, 32, 1 << 20, &|_| true);
    assert_eq!((r.min_offset, r.max_offset), (0, 5));
}

#[test]
fn empty_queue_and_too_small_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // A queue directory emptied behind the store's back is rebuilt from the CommitLog.
        let store = open(dir.path());
        store.put(msg("Z", 0, b"z", None)).expect("put");
    }
    let cq_dir = dir.path().join("consumequeue/Z/0");
    std::fs::remove_dir_all(&cq_dir).expect("remove");
    std::fs::create_dir_all(&cq_dir).expect("create");
    let store = open(dir.path());
    // The record has queue offset 0, so the rebuilt queue is complete again.
    assert_eq!(status(&store, "Z", 0, 0), (ReadStatus::Found, 1));
    drop(store);

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("consumequeue/E/0")).expect("create");
    let store = open(dir.path());
    assert_eq!(store.queue_ids("E"), vec![0]);
    assert_eq!(status(&store, "E", 0, 0), (ReadStatus::NoMessageInQueue, 0));
    assert_eq!(status(&store, "E", 0, 4), (ReadStatus::NoMessageInQueue, 0));
}

#[test]
fn offset_below_min_is_too_small() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..15u8 {
        store.put(msg("M", 0, &[i], None)).expect("put");
    }
    drop(store);
    // Drop the first queue file (offsets 0..10, 10 entries per file), as retention would.
    std::fs::remove_file(dir.path().join("consumequeue/M/0/00000000000000000000")).expect("remove");
    let store = open(dir.path());
    assert_eq!(store.min_offset("M", 0), 10);
    assert_eq!(status(&store, "M", 0, 3), (ReadStatus::OffsetTooSmall, 10));
    assert_eq!(status(&store, "M", 0, 10), (ReadStatus::Found, 15));
    assert_eq!(store.store_time("M", 0, 3), None);
    assert!(store.earliest_store_time("M", 0).is_some());
}

#[test]
fn offset_by_time_finds_lower_and_upper_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let mut times = Vec::new();
    for i in 0..6u8 {
        times.push(store.put(msg("Time", 0, &[i], None)).expect("put").store_timestamp);
        if i % 2 == 1 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for (offset, t) in times.iter().enumerate() {
        assert_eq!(store.store_time("Time", 0, offset as i64), Some(*t));
    }
    let first_at = |t: i64| times.iter().position(|x| *x >= t).unwrap_or(times.len()) as i64;
    let last_at = |t: i64| times.iter().rposition(|x| *x <= t).map_or(0, |p| p as i64);
    for t in [times[0] - 1, times[0], times[2], times[3] + 1, times[5], times[5] + 1] {
        assert_eq!(store.offset_by_time("Time", 0, t, Boundary::Lower), first_at(t), "lower {t}");
        assert_eq!(store.offset_by_time("Time", 0, t, Boundary::Upper), last_at(t), "upper {t}");
    }
    assert_eq!(store.offset_by_time("Time", 0, times[5] + 1000, Boundary::Lower), 6);
    assert_eq!(store.offset_by_time("Time", 0, 0, Boundary::Upper), 0);
    assert_eq!(store.offset_by_time("None", 0, 0, Boundary::Lower), 0);
}

#[test]
fn entries_pointing_at_deleted_commit_log_are_being_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..15u8 {
        let tag = if i == 10 || i == 11 { "old" } else { "new" };
        store.put(msg("W", 0, &[i; 1000], Some(tag))).expect("put");
    }
    drop(store);
    // Three records per 4 KiB file: delete the files holding records 0..12, as retention would.
    for file in 0..4u64 {
        std::fs::remove_file(common::commit_log_file(dir.path(), file * 4096)).expect("remove");
    }
    let store = open(dir.path());
    assert_eq!(store.commit_log_min_offset(), 4 * 4096);
    assert_eq!(store.min_offset("W", 0), 10, "first queue file points only at deleted records");
    let old = rmq_remoting::message::tags_code(Some("old"));
    let r = store.read("W", 0, 10, 32, 1 << 20, &|code| code == old);
    assert_eq!((r.status, r.next_begin_offset), (ReadStatus::MessageWasRemoving, 15));
    let r = store.read("W", 0, 10, 32, 1 << 20, &|_| true);
    assert_eq!((r.status, r.records.len()), (ReadStatus::Found, 3));
}

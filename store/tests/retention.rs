//! Retention and disk-full protection: expired CommitLog files are deleted oldest first and
//! the queues follow the new min offset; under disk pressure unexpired files go too; over the
//! warning level puts are refused until cleaning frees space; a segment that cannot be
//! allocated refuses the put without writing anything.

mod common;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::msg;
use rmq_store::{MessageStore, ReadStatus, StoreConfig, StoreError};

/// CommitLog segment size of these tests.
const SEGMENT: u64 = 64 * 1024;

/// 64 KiB segments, 100-entry queue files, 49-key index files, no background pass (1 h) and
/// files expired at once unless the test says otherwise.
fn config(dir: &Path) -> StoreConfig {
    let mut config = common::config(dir);
    config.commit_log_file_size = SEGMENT;
    config.consume_queue_file_size = 2000;
    config.max_index_num = 50;
    config.file_reserved_time = Duration::ZERO;
    config.delete_when = String::new();
    config.clean_resource_interval = Duration::from_secs(3600);
    config
}

/// Puts 1 KiB messages into `T`/0 until the CommitLog reaches `bytes`.
fn fill_to(store: &MessageStore, bytes: i64) {
    while store.commit_log_max_offset() < bytes {
        store.put(msg("T", 0, &[7; 1024], None)).expect("put");
    }
}

fn file_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn set_age(path: &Path, age: Duration) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - age).expect("set mtime");
}

#[test]
fn expired_files_are_deleted_and_reads_below_the_new_min_are_offset_too_small() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = MessageStore::open(config(dir.path())).expect("open");
    fill_to(&store, 5 * SEGMENT as i64 + 100);
    let index_files = file_count(&dir.path().join("index"));
    let queue_files = file_count(&dir.path().join("consumequeue/T/0"));
    assert_eq!(store.min_offset("T", 0), 0);

    store.clean_now();
    let active = 5 * SEGMENT as i64;
    assert_eq!(store.commit_log_min_offset(), active, "every file but the active one expired");
    assert_eq!(file_count(&dir.path().join("commitlog")), 1);
    let min = store.min_offset("T", 0);
    assert!(min > 0);
    let first = store.read("T", 0, min, 1, usize::MAX, &|_| true);
    assert_eq!(first.status, ReadStatus::Found);
    assert_eq!(common::decode(&first.records[0]).physical_offset, active, "min is the first live message");
    let old = store.read("T", 0, 0, 32, usize::MAX, &|_| true);
    assert_eq!((old.status, old.next_begin_offset, old.min_offset), (ReadStatus::OffsetTooSmall, min, min));
    assert!(file_count(&dir.path().join("consumequeue/T/0")) < queue_files, "old queue files deleted");
    assert!(file_count(&dir.path().join("index")) < index_files, "old index files deleted");

    store.shutdown();
    drop(store);
    let store = MessageStore::open(config(dir.path())).expect("reopen");
    assert_eq!((store.commit_log_min_offset(), store.min_offset("T", 0)), (active, min));
    let ok = store.put(msg("T", 0, b"after", None)).expect("put after reopen");
    assert_eq!(store.read("T", 0, ok.first_queue_offset, 1, usize::MAX, &|_| true).status, ReadStatus::Found);
}

#[test]
fn deletion_stops_at_the_first_unexpired_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.file_reserved_time = Duration::from_secs(3600);
    let store = MessageStore::open(config).expect("open");
    fill_to(&store, 3 * SEGMENT as i64 + 100);
    store.clean_now();
    assert_eq!(store.commit_log_min_offset(), 0, "nothing expired, no disk pressure");
    let two_hours = Duration::from_secs(7200);
    set_age(&common::commit_log_file(dir.path(), 0), two_hours);
    set_age(&common::commit_log_file(dir.path(), 2 * SEGMENT), two_hours);
    store.clean_now();
    assert_eq!(store.commit_log_min_offset(), SEGMENT as i64, "file 1 is fresh, so file 2 stays too");
    assert!(common::commit_log_file(dir.path(), 2 * SEGMENT).exists());
}

#[test]
fn disk_pressure_deletes_unexpired_files_down_to_the_forcibly_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.file_reserved_time = Duration::from_secs(72 * 3600);
    // 9 segments (576 KiB) + ~27 KB of queue, index and checkpoint files: ~88% of the budget,
    // above the forcibly level (85%) but below the warning level (90%).
    config.disk_budget_bytes = Some(700_000);
    let store = MessageStore::open(config).expect("open");
    fill_to(&store, 8 * SEGMENT as i64 + 100);
    store.clean_now();
    assert!(!store.is_disk_full());
    assert_eq!(store.commit_log_min_offset(), SEGMENT as i64, "one unexpired file deleted: back to ~79%");
    assert_eq!(store.read("T", 0, 0, 1, usize::MAX, &|_| true).status, ReadStatus::OffsetTooSmall);
}

#[test]
fn writes_are_refused_over_the_warning_level_and_accepted_after_cleaning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.file_reserved_time = Duration::from_secs(72 * 3600);
    config.disk_budget_bytes = Some(16 * SEGMENT);
    let store = MessageStore::open(config).expect("open");
    fill_to(&store, 31 * SEGMENT as i64 + 100); // 32 segments: twice the budget

    store.clean_now(); // deletes one batch (10 files): still over the warning level
    assert!(store.is_disk_full());
    let err = store.put(msg("T", 0, b"refused", None)).expect_err("disk full");
    assert!(matches!(&err, StoreError::ServiceUnavailable(m) if m.contains("disk is full")), "{err}");
    let max = store.max_offset("T", 0);
    let min = store.min_offset("T", 0);
    let read = store.read("T", 0, min, 4, usize::MAX, &|_| true);
    assert_eq!((read.status, read.records.len()), (ReadStatus::Found, 4), "reads keep working");

    for _ in 0..3 {
        store.clean_now();
    }
    assert!(!store.is_disk_full());
    let ok = store.put(msg("T", 0, b"accepted", None)).expect("writable again");
    assert_eq!(ok.first_queue_offset, max, "the refused put took no queue offset");
}

#[test]
fn the_cleaning_thread_deletes_expired_files_at_a_delete_when_hour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.delete_when = (0..24).map(|h| format!("{h:02}")).collect::<Vec<_>>().join(";");
    config.clean_resource_interval = Duration::from_millis(20);
    let store: Arc<MessageStore> = MessageStore::open(config).expect("open");
    fill_to(&store, 2 * SEGMENT as i64 + 100);
    let deadline = Instant::now() + Duration::from_secs(10);
    let cleaned = || store.commit_log_min_offset() == 2 * SEGMENT as i64 && store.min_offset("T", 0) > 0;
    while !cleaned() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(store.commit_log_min_offset(), 2 * SEGMENT as i64);
    assert_eq!(store.read("T", 0, 0, 1, usize::MAX, &|_| true).status, ReadStatus::OffsetTooSmall);
}

#[test]
fn a_segment_that_cannot_be_created_refuses_the_put_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = MessageStore::open(config(dir.path())).expect("open");
    let blocker = common::commit_log_file(dir.path(), SEGMENT);
    std::fs::create_dir_all(&blocker).expect("block the next segment's name");
    let mut stored = 0;
    let err = loop {
        match store.put(msg("T", 0, &[1; 1024], None)) {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(&err, StoreError::ServiceUnavailable(m) if m.contains("disk is full")), "{err}");
    let meta = std::fs::metadata(common::commit_log_file(dir.path(), 0)).expect("segment 0");
    assert!(std::os::unix::fs::MetadataExt::blocks(&meta) * 512 >= SEGMENT, "segments are preallocated");
    assert_eq!(store.max_offset("T", 0), stored);
    assert_eq!(common::read_all(&store, "T", 0).len() as i64, stored);
    std::fs::remove_dir(&blocker).expect("unblock");
    let ok = store.put(msg("T", 0, b"next", None)).expect("put once the segment can be created");
    assert_eq!((ok.first_queue_offset, ok.commit_log_offsets[0]), (stored, SEGMENT as i64));
}

//! The `SYNC_FLUSH` group commit seen from outside the store: concurrent appends that wait on
//! their [`rmq_store::Durable`] share flushes, and every append whose wait resolved survives a
//! power cut.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::power_cut::PowerCut;
use common::{msg, read_all};
use rmq_store::{FileLayer, FlushMode, MessageStore, OsFiles, StoreConfig, SyncRange};

const THREADS: usize = 16;
const PER_THREAD: usize = 20;

fn sync_config(dir: &Path) -> StoreConfig {
    let mut config = common::config(dir);
    config.commit_log_file_size = 1 << 20;
    config.flush = FlushMode::Sync;
    config
}

/// The real files, with every CommitLog sync taking 5 ms (a slow disk) and counted.
#[derive(Debug, Default)]
struct SlowDisk {
    commit_log_syncs: AtomicU64,
}

impl FileLayer for SlowDisk {
    fn create(&self, path: &Path, len: u64, allocate: bool) -> std::io::Result<std::fs::File> {
        OsFiles.create(path, len, allocate)
    }

    fn sync_range(&self, range: &SyncRange<'_>) -> std::io::Result<()> {
        if range.path().components().any(|c| c.as_os_str() == "commitlog") {
            self.commit_log_syncs.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
        OsFiles.sync_range(range)
    }

    fn sync_file(&self, path: &Path, file: &std::fs::File) -> std::io::Result<()> {
        OsFiles.sync_file(path, file)
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        OsFiles.sync_dir(dir)
    }
}

/// `THREADS` threads each append `PER_THREAD` messages to their own queue, waiting for each
/// to be durable before the next, as a sender waits for its acknowledgement.
fn send_concurrently(store: &Arc<MessageStore>) {
    std::thread::scope(|scope| {
        for queue in 0..THREADS {
            let store = Arc::clone(store);
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let body = format!("q{queue}-m{i}");
                    let (_, durable) =
                        store.append(msg("GroupCommit", queue as i32, body.as_bytes(), None)).expect("append");
                    futures::executor::block_on(durable).expect("durable");
                }
            });
        }
    });
}

#[test]
fn concurrent_sync_appends_share_commit_log_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = Arc::new(SlowDisk::default());
    let store =
        MessageStore::open_with_files(sync_config(dir.path()), Arc::clone(&disk) as Arc<dyn FileLayer>).expect("open");
    send_concurrently(&store);
    let syncs = disk.commit_log_syncs.load(Ordering::Relaxed);
    let puts = (THREADS * PER_THREAD) as u64;
    // One flush per append would be `puts` syncs; with 16 senders waiting behind each 5 ms
    // flush a batch holds several of them.
    assert!(syncs * 2 <= puts, "{syncs} CommitLog syncs for {puts} appends: the group commit does not batch");
    for queue in 0..THREADS {
        assert_eq!(read_all(&store, "GroupCommit", queue as i32).len(), PER_THREAD);
    }
}

#[test]
fn every_append_whose_durable_resolved_survives_a_power_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = PowerCut::new(dir.path());
    let store = MessageStore::open_with_files(sync_config(dir.path()), sim.clone()).expect("open");
    send_concurrently(&store);
    sim.crash();
    store.abandon();
    drop(store);
    sim.restore(None);
    let store = MessageStore::open(sync_config(dir.path())).expect("reopen");
    for queue in 0..THREADS {
        let bodies: Vec<String> = read_all(&store, "GroupCommit", queue as i32)
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        let expected: Vec<String> = (0..PER_THREAD).map(|i| format!("q{queue}-m{i}")).collect();
        assert_eq!(bodies, expected, "queue {queue} after the power cut");
    }
}

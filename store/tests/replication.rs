//! Replication through the store API: a slave that appends the master's chunks holds the same
//! CommitLog bytes at the same offsets, and its own ConsumeQueues and index answer like the
//! master's; chunks that do not continue the slave's log, or carry a damaged record, are refused.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{msg, read_all, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_store::{MessageStore, NewMessage};

/// Copies everything new from `master` to `slave` in chunks of about `chunk` bytes, as the
/// HA transfer does; returns how many chunks it took.
fn replicate(master: &MessageStore, slave: &MessageStore, chunk: usize) -> usize {
    let mut offset = master.replication_start(slave.commit_log_max_offset());
    let mut chunks = 0;
    while let Some(next) = master.replication_chunk(offset, chunk).expect("chunk") {
        let end = slave.append_replicated(next.offset, &next.bytes).expect("slave appends");
        assert_eq!(end, next.next_offset, "the slave ends where the master said the chunk ends");
        offset = end;
        chunks += 1;
    }
    chunks
}

fn keyed(topic: &str, queue_id: i32, i: usize) -> NewMessage {
    let mut m = msg(topic, queue_id, format!("body-{i}-{}", "x".repeat(100 + i % 300)).as_bytes(), Some("TagA"));
    let mut props = Properties::new();
    props.insert(keys::KEYS.into(), format!("key-{i}"));
    props.insert(keys::TAGS.into(), "TagA".into());
    m.properties = encode_properties(&props);
    m
}

fn open(dir: &Path) -> Arc<MessageStore> {
    common::open(dir)
}

fn commit_log_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> =
        std::fs::read_dir(dir.join("commitlog")).expect("commitlog dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
        .iter()
        .map(|p| (p.file_name().expect("name").to_string_lossy().into_owned(), std::fs::read(p).expect("read")))
        .collect()
}

#[test]
fn a_slave_fed_the_masters_chunks_holds_the_same_log_queues_and_index() {
    let (mdir, sdir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (master, slave) = (open(mdir.path()), open(sdir.path()));
    // The slave joins while the master is in its first file, so it copies the whole history.
    master.put(keyed("Replicated", 0, 0)).expect("put");
    replicate(&master, &slave, 1000);
    for i in 1..60 {
        master.put(keyed("Replicated", (i % 3) as i32, i)).expect("put");
    }
    let end = master.commit_log_max_offset();
    assert!(end > 3 * COMMIT_LOG_FILE_SIZE as i64, "the test spans several files: {end}");
    let chunks = replicate(&master, &slave, 1000);
    assert!(chunks > 5, "small chunks: {chunks}");
    // More messages later: the slave continues from its own end.
    for i in 60..80 {
        master.put(keyed("Replicated", (i % 3) as i32, i)).expect("put");
    }
    replicate(&master, &slave, 1 << 20);
    assert_eq!(slave.commit_log_max_offset(), master.commit_log_max_offset());
    for queue in 0..3 {
        let (m, s) = (read_all(&master, "Replicated", queue), read_all(&slave, "Replicated", queue));
        assert_eq!(m.len(), s.len());
        for (m, s) in m.iter().zip(&s) {
            assert_eq!(
                (m.body.as_ref(), m.queue_offset, m.physical_offset),
                (s.body.as_ref(), s.queue_offset, s.physical_offset)
            );
        }
    }
    let found = slave.query_by_key("Replicated", "key-42", 10, 0, i64::MAX);
    assert_eq!(found.records.len(), 1, "the slave's own index finds a replicated key");
    master.shutdown();
    slave.shutdown();
    let (m, s) = (commit_log_bytes(mdir.path()), commit_log_bytes(sdir.path()));
    assert_eq!(m.len(), s.len(), "same files");
    for ((mname, mbytes), (sname, sbytes)) in m.iter().zip(&s) {
        assert_eq!(mname, sname);
        assert!(mbytes == sbytes, "file {mname} differs between master and slave");
    }
}

#[test]
fn an_empty_slave_starts_at_the_masters_last_file() {
    let (mdir, sdir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (master, slave) = (open(mdir.path()), open(sdir.path()));
    for i in 0..40 {
        master.put(keyed("Late", 0, i)).expect("put");
    }
    let start = master.replication_start(0);
    assert_eq!(start % COMMIT_LOG_FILE_SIZE as i64, 0);
    assert!(start > 0, "not the whole history");
    replicate(&master, &slave, 4096);
    assert_eq!(slave.commit_log_max_offset(), master.commit_log_max_offset());
    // The slave's queue starts where its CommitLog does: the master's messages from `start` on.
    let expected: Vec<i64> =
        read_all(&master, "Late", 0).iter().filter(|m| m.physical_offset >= start).map(|m| m.queue_offset).collect();
    let found: Vec<i64> = (0..40)
        .filter_map(|q| slave.read("Late", 0, q, 1, usize::MAX, &|_| true).records.first().map(common::decode))
        .map(|m| m.queue_offset)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(found, expected);
    // Slave reopens cleanly and keeps what it replicated.
    let end = slave.commit_log_max_offset();
    slave.shutdown();
    drop(slave);
    assert_eq!(open(sdir.path()).commit_log_max_offset(), end);
}

#[test]
fn chunks_that_do_not_continue_the_log_or_are_damaged_are_refused() {
    let (mdir, sdir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (master, slave) = (open(mdir.path()), open(sdir.path()));
    for i in 0..5 {
        master.put(keyed("Refused", 0, i)).expect("put");
    }
    let first = master.replication_chunk(0, 1 << 20).expect("chunk").expect("some");
    assert!(slave.append_replicated(100, &first.bytes).is_err(), "an empty log starts at a file boundary");
    let mut damaged = first.bytes.to_vec();
    let body = damaged.windows(6).rposition(|w| w == b"body-4").expect("the last body");
    damaged[body + 2] ^= 0xFF; // the last record's body no longer matches its CRC
    let _ = slave.append_replicated(0, &damaged);
    let kept = read_all(&slave, "Refused", 0);
    assert_eq!(kept.len(), 4, "the damaged record is not stored");
    assert!(kept.iter().enumerate().all(|(i, m)| m.queue_offset == i as i64), "the records before it are");
    assert!(slave.append_replicated(slave.commit_log_max_offset() + 1, &first.bytes).is_err(), "a gap is refused");
    // The master resends from the slave's end and the slave completes.
    replicate(&master, &slave, 1 << 20);
    assert_eq!(read_all(&slave, "Refused", 0).len(), 5);
}

#[test]
fn a_former_master_cut_back_at_open_follows_the_new_master() {
    let (old_dir, new_dir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (old, new) = (open(old_dir.path()), open(new_dir.path()));
    old.put(keyed("Failover", 0, 0)).expect("put");
    replicate(&old, &new, 1 << 20);
    for i in 1..30 {
        old.put(keyed("Failover", 0, i)).expect("put");
    }
    replicate(&old, &new, 1 << 20);
    // The old master writes a tail the slave never receives, then the slave is promoted.
    let promoted_at = new.commit_log_max_offset();
    for i in 30..40 {
        old.put(keyed("Failover", 0, i)).expect("put");
    }
    for i in 100..110 {
        new.put(keyed("Failover", 0, i)).expect("the new master writes");
    }
    old.shutdown();
    drop(old);
    let mut config = common::config(old_dir.path());
    config.truncate_commit_log_to = Some(promoted_at + 1);
    assert!(MessageStore::open(config.clone()).is_err(), "a cut inside a record is refused");
    config.truncate_commit_log_to = Some(promoted_at);
    let old = MessageStore::open(config).expect("reopen cut back");
    assert_eq!(old.commit_log_max_offset(), promoted_at);
    assert_eq!(read_all(&old, "Failover", 0).len(), 30, "the divergent tail is gone from the queue");
    assert!(old.query_by_key("Failover", "key-35", 10, 0, i64::MAX).records.is_empty(), "and from the index");
    replicate(&new, &old, 1 << 20);
    let bodies: Vec<String> =
        read_all(&old, "Failover", 0).iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect();
    let expected: Vec<String> =
        read_all(&new, "Failover", 0).iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect();
    assert_eq!(bodies, expected, "the former master now holds exactly the new master's log");
}

//! Power loss: the store runs on [`PowerCut`], a file layer under which only synced bytes and
//! synced file names survive a simulated power cut (optionally plus a torn unsynced write); the
//! store is then reopened and recovers. Under SYNC_FLUSH nothing acknowledged is lost; under
//! ASYNC_FLUSH only the unflushed tail is; a torn last write is cut back to the last whole record;
//! and every surviving message is read back whole and found by its key.
//!
//! Each test runs many iterations, each in a fresh directory, seeded and replayable:
//! `RMQ_POWER_LOSS_ITERATIONS` (default 25, two power cuts each in the multi-threaded tests)
//! and `RMQ_POWER_LOSS_SEED` (default: the clock).

mod common;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::power_cut::{PowerCut, Rng};
use common::{commit_log_file, COMMIT_LOG_FILE_SIZE};
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_remoting::message::record::{blank_record, RecordView};
use rmq_store::{FlushMode, MessageStore, NewMessage, StoreConfig};

/// The queues written; writer `w` owns queues `2w` and `2w + 1`, so each queue has one writer
/// and its i-th put gets queue offset i.
const QUEUES: [(&str, i32); 6] = [("A", 0), ("B", 0), ("A", 1), ("B", 1), ("A", 2), ("B", 2)];
const WRITERS: usize = 3;
/// Most puts per queue in one power-on period.
const MAX_PUTS: i64 = 120;
/// Power cuts per test iteration (each followed by a recovery under the simulation).
const CYCLES: usize = 2;

/// The seeds to run, one per iteration, and a line describing them.
fn seeds(test: &str) -> std::ops::Range<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let count = env("RMQ_POWER_LOSS_ITERATIONS").unwrap_or(25);
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let first = env("RMQ_POWER_LOSS_SEED").unwrap_or(clock as u64 % 1_000_000_000);
    println!("{test}: {count} iterations, seeds {first}..{}", first + count);
    first..first + count
}

/// Prints how to replay the seed if the iteration fails.
struct Replay(&'static str, u64);

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} failed with seed {}; replay: RMQ_POWER_LOSS_SEED={} RMQ_POWER_LOSS_ITERATIONS=1 cargo test -p rmq-store --test power_loss {}",
                self.0, self.1, self.1, self.0
            );
        }
    }
}

fn key(q: usize, i: i64) -> String {
    format!("K{q}-{i}")
}

/// The body of the i-th message of queue q: 1 to 400 bytes derived from the seed.
fn body(seed: u64, q: usize, i: i64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ ((q as u64) << 48) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let len = 1 + rng.below(400) as usize;
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn message(seed: u64, q: usize, i: i64) -> NewMessage {
    let (topic, queue_id) = QUEUES[q];
    let mut msg = common::msg(topic, queue_id, &body(seed, q, i), Some("t"));
    let mut props = Properties::new();
    props.insert(keys::UNIQ_KEY.into(), key(q, i));
    props.insert(keys::TAGS.into(), "t".into());
    msg.properties = encode_properties(&props);
    msg
}

fn config(dir: &std::path::Path, flush: FlushMode) -> StoreConfig {
    let mut config = common::config(dir);
    config.flush = flush;
    config
}

/// Checks that every queue holds a gap-free prefix of its message sequence, each record whole
/// (CRC, fields, body); returns how many messages each queue holds.
fn survivors(store: &MessageStore, seed: u64) -> Vec<i64> {
    let end = store.commit_log_max_offset();
    let mut counts = Vec::new();
    for (q, (topic, queue_id)) in QUEUES.iter().enumerate() {
        let count = store.max_offset(topic, *queue_id);
        assert_eq!(store.min_offset(topic, *queue_id), 0, "{topic}/{queue_id} lost its head");
        let records = store.read(topic, *queue_id, 0, 100_000, usize::MAX, &|_| true).records;
        assert_eq!(records.len() as i64, count, "{topic}/{queue_id}: an entry below the max offset reads no record");
        for (i, record) in records.iter().enumerate() {
            let (view, len) = RecordView::parse(record).expect("record parses");
            assert_eq!(len, record.len());
            view.verify_crc().expect("body CRC");
            let at = format!("{topic}/{queue_id} offset {i}");
            assert!(view.header.physical_offset + len as i64 <= end, "{at} past the CommitLog end");
            let msg = common::decode(record);
            assert_eq!((msg.topic.as_str(), msg.queue_id, msg.queue_offset), (*topic, *queue_id, i as i64), "{at}");
            assert_eq!(msg.body, body(seed, q, i as i64), "{at}: body");
            assert_eq!(msg.properties.get(keys::UNIQ_KEY), Some(&key(q, i as i64)), "{at}: properties");
        }
        counts.push(count);
    }
    counts
}

/// Checks key lookups: every stored message is found by its key, lookups return nothing else,
/// and the index does not claim to reach past the CommitLog end.
fn check_index(store: &MessageStore, counts: &[i64]) {
    let end = store.commit_log_max_offset();
    for (q, (topic, _)) in QUEUES.iter().enumerate() {
        for i in 0..counts[q] {
            let found = store.query_by_key(topic, &key(q, i), 4, 0, i64::MAX);
            assert!(found.index_last_update_phy_offset < end.max(1), "index points past the CommitLog end {end}");
            for record in &found.records {
                assert_eq!(common::decode(record).properties.get(keys::UNIQ_KEY), Some(&key(q, i)));
            }
            assert_eq!(found.records.len(), 1, "{topic} key {}", key(q, i));
        }
    }
}

/// What the writers of one power-on period did, per queue.
struct Progress {
    /// Messages each queue held when the period began (they are on disk).
    start: Vec<i64>,
    /// Puts started: queue offsets below this may exist.
    attempted: Vec<AtomicI64>,
    /// Puts that returned before the power cut: queue offsets below this were acknowledged.
    acked: Vec<AtomicI64>,
    /// (queue offset, CommitLog offset) of the puts acknowledged in this period.
    offsets: Mutex<Vec<Vec<(i64, i64)>>>,
}

impl Progress {
    fn load(values: &[AtomicI64]) -> Vec<i64> {
        values.iter().map(|v| v.load(Ordering::SeqCst)).collect()
    }
}

/// Runs the writers from queue offsets `start` until the power is cut (or each queue got
/// [`MAX_PUTS`] more), with `main` running on this thread meanwhile (given the progress and
/// the number of writers still running).
fn power_on(
    store: &MessageStore,
    sim: &PowerCut,
    seed: u64,
    start: &[i64],
    main: impl FnOnce(&Progress, &AtomicUsize),
) -> Progress {
    let progress = Progress {
        start: start.to_vec(),
        attempted: start.iter().map(|s| AtomicI64::new(*s)).collect(),
        acked: start.iter().map(|s| AtomicI64::new(*s)).collect(),
        offsets: Mutex::new(vec![Vec::new(); QUEUES.len()]),
    };
    let running = AtomicUsize::new(WRITERS);
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (progress, running) = (&progress, &running);
            scope.spawn(move || {
                for n in 0..2 * MAX_PUTS as usize {
                    if sim.crashed() {
                        break;
                    }
                    let q = 2 * w + n % 2;
                    let i = progress.attempted[q].fetch_add(1, Ordering::SeqCst);
                    let put = store.put(message(seed, q, i)).expect("put");
                    assert_eq!(put.first_queue_offset, i, "one writer per queue");
                    if !sim.crashed() {
                        progress.acked[q].store(i + 1, Ordering::SeqCst);
                        let mut offsets = progress.offsets.lock().unwrap_or_else(PoisonError::into_inner);
                        offsets[q].push((i, put.commit_log_offsets[0]));
                    }
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        main(&progress, &running);
    });
    progress
}

/// Counters printed at the end of a test.
#[derive(Debug, Default)]
struct Figures {
    crashes: usize,
    /// Cuts that came while the writers were running (the others came after their last put).
    while_writing: usize,
    torn: usize,
    acked: i64,
    survived: i64,
}

/// Crash cycles of one iteration: open under the simulation, write until the power cut,
/// restore what it left (torn in about half the cycles), reopen under a fresh simulation (so
/// recovery's own writes face the next cut) and check with `check(progress, survivors, end)`.
/// Finally a clean restart on the real files must show the same queues plus one put each.
fn crash_cycles(
    seed: u64,
    flush: FlushMode,
    figures: &mut Figures,
    mut main: impl FnMut(&MessageStore, &PowerCut, &Progress, &AtomicUsize, &mut Rng),
    check: impl Fn(&Progress, &[i64], i64, &str),
) {
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), flush);
    let mut counts = vec![0; QUEUES.len()];
    let mut sim = PowerCut::new(dir.path());
    let mut store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("open");
    for _ in 0..CYCLES {
        sim.crash_at_sync(1 + rng.below(400));
        let progress = power_on(&store, &sim, seed, &counts, |p, r| main(&store, &sim, p, r, &mut rng));
        figures.while_writing += usize::from(sim.crashed());
        sim.crash();
        store.abandon();
        drop(store);
        let torn = rng.chance(50);
        let what = sim.restore(torn.then_some(&mut rng));
        sim = PowerCut::new(dir.path());
        store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("reopen after the power cut");
        let now = survivors(&store, seed);
        check_index(&store, &now);
        let attempted = Progress::load(&progress.attempted);
        for q in 0..QUEUES.len() {
            assert!(now[q] <= attempted[q], "queue {q}: {} messages, {} put ({what})", now[q], attempted[q]);
        }
        check(&progress, &now, store.commit_log_max_offset(), &what);
        figures.crashes += 1;
        figures.torn += usize::from(torn);
        figures.acked += Progress::load(&progress.acked).iter().sum::<i64>();
        figures.survived += now.iter().sum::<i64>();
        counts = now;
    }
    for (q, count) in counts.iter_mut().enumerate() {
        assert_eq!(store.put(message(seed, q, *count)).expect("put after recovery").first_queue_offset, *count);
        *count += 1;
    }
    store.shutdown();
    drop(store);
    let store = MessageStore::open(config).expect("clean reopen");
    assert_eq!(survivors(&store, seed), counts);
    check_index(&store, &counts);
}

#[test]
fn sync_flush_loses_nothing_acknowledged_on_power_loss() {
    let (started, mut figures) = (Instant::now(), Figures::default());
    for seed in seeds("sync_flush_loses_nothing_acknowledged_on_power_loss") {
        let _replay = Replay("sync_flush_loses_nothing_acknowledged_on_power_loss", seed);
        crash_cycles(
            seed,
            FlushMode::Sync,
            &mut figures,
            |_, _, _, _, _| {},
            |progress, now, _, what| {
                let acked = Progress::load(&progress.acked);
                for q in 0..QUEUES.len() {
                    assert!(now[q] >= acked[q], "queue {q}: {} acknowledged, {} survived ({what})", acked[q], now[q]);
                }
            },
        );
    }
    println!("{figures:?} in {:?}", started.elapsed());
}

#[test]
fn async_flush_loses_only_the_unflushed_tail() {
    let (started, mut figures) = (Instant::now(), Figures::default());
    for seed in seeds("async_flush_loses_only_the_unflushed_tail") {
        let _replay = Replay("async_flush_loses_only_the_unflushed_tail", seed);
        let floor = Mutex::new(Vec::new());
        let flush = FlushMode::Async { interval: Duration::from_millis(2) };
        // Besides the flush thread, this thread flushes now and then: what was acknowledged
        // before a flush that returned before the power cut must survive.
        let main = |store: &MessageStore, sim: &PowerCut, progress: &Progress, running: &AtomicUsize, rng: &mut Rng| {
            let mut flushed = progress.start.clone();
            while running.load(Ordering::SeqCst) > 0 && !sim.crashed() {
                let before = Progress::load(&progress.acked);
                store.flush().expect("flush");
                if !sim.crashed() {
                    flushed = before;
                }
                std::thread::sleep(Duration::from_micros(rng.below(1500)));
            }
            *floor.lock().unwrap_or_else(PoisonError::into_inner) = flushed;
        };
        crash_cycles(seed, flush, &mut figures, main, |progress, now, end, what| {
            let floor = floor.lock().unwrap_or_else(PoisonError::into_inner);
            let offsets = progress.offsets.lock().unwrap_or_else(PoisonError::into_inner);
            for q in 0..QUEUES.len() {
                let lost: Vec<_> = offsets[q].iter().filter(|(i, _)| (now[q]..floor[q]).contains(i)).collect();
                assert!(now[q] >= floor[q], "queue {q}: {} flushed, lost {lost:?}, end {end} ({what})", floor[q]);
                for (i, offset) in &offsets[q] {
                    assert_eq!(*i < now[q], *offset < end, "queue {q} offset {i} at {offset}: only the tail is lost");
                }
            }
        });
    }
    println!("{figures:?} in {:?}", started.elapsed());
}

/// Where recovery must end the CommitLog after `puts` (queue, offset, record as written) were
/// cut by a power loss: at the first record, or BLANK before a file change, not whole on disk.
fn expected_end(dir: &std::path::Path, puts: &[(usize, i64, Bytes)]) -> i64 {
    let size = COMMIT_LOG_FILE_SIZE;
    let file = |start: u64| std::fs::read(commit_log_file(dir, start)).unwrap_or_default();
    let on_disk = |bytes: &[u8], at: u64, want: &[u8]| bytes.get(at as usize..at as usize + want.len()) == Some(want);
    let mut by_offset: Vec<_> = puts.iter().map(|(_, offset, record)| (*offset as u64, record)).collect();
    by_offset.sort_by_key(|(offset, _)| *offset);
    let mut end = 0u64;
    for (offset, record) in by_offset {
        let start = offset / size * size;
        if start > end {
            let (last, pos) = (end / size * size, end % size);
            if !on_disk(&file(last), pos, &blank_record((size - pos) as i32)) {
                return end as i64;
            }
        }
        if !on_disk(&file(start), offset - start, record) {
            return offset as i64;
        }
        end = offset + record.len() as u64;
    }
    end as i64
}

#[test]
fn torn_last_write_is_truncated_on_recovery() {
    let (started, mut lost, mut partial) = (Instant::now(), 0, 0);
    for seed in seeds("torn_last_write_is_truncated_on_recovery") {
        let _replay = Replay("torn_last_write_is_truncated_on_recovery", seed);
        let mut rng = Rng::new(seed);
        let dir = tempfile::tempdir().expect("tempdir");
        // No flush thread: this thread puts and flushes, so a seed replays exactly.
        let config = config(dir.path(), FlushMode::Async { interval: Duration::from_secs(3600) });
        let sim = PowerCut::new(dir.path());
        let store = MessageStore::open_with_files(config.clone(), sim.clone()).expect("open");
        // The power goes out in the middle of a flush, or between two.
        let cut_at_put = if rng.chance(50) {
            sim.crash_at_sync(1 + rng.below(80));
            usize::MAX
        } else {
            rng.below(400) as usize
        };
        let (mut puts, mut next) = (Vec::new(), [0i64; QUEUES.len()]);
        while !sim.crashed() && puts.len() < 2000 {
            if puts.len() == cut_at_put {
                sim.crash();
                break;
            }
            let q = rng.below(QUEUES.len() as u64) as usize;
            let offset = store.put(message(seed, q, next[q])).expect("put").commit_log_offsets[0];
            puts.push((q, offset, store.message_at(offset).expect("stored record")));
            next[q] += 1;
            if rng.chance(10) {
                store.flush().expect("flush");
            }
        }
        store.abandon();
        drop(store);
        let what = sim.restore(Some(&mut rng));
        let end = expected_end(dir.path(), &puts);
        let (file, pos) = (end as u64 / COMMIT_LOG_FILE_SIZE * COMMIT_LOG_FILE_SIZE, end as u64 % COMMIT_LOG_FILE_SIZE);
        let tail = || std::fs::read(commit_log_file(dir.path(), file)).unwrap_or_default();
        lost += usize::from(puts.iter().any(|p| p.1 >= end));
        partial += usize::from(tail().iter().skip(pos as usize).any(|b| *b != 0));
        let store = MessageStore::open(config.clone()).expect("reopen");
        assert_eq!(store.commit_log_max_offset(), end, "recovered end ({what})");
        assert!(tail().iter().skip(pos as usize).all(|b| *b == 0), "the cut tail is zeroed");
        assert!(!commit_log_file(dir.path(), file + COMMIT_LOG_FILE_SIZE).exists(), "no file after the end");
        let mut counts = vec![0; QUEUES.len()];
        for (q, (topic, queue_id)) in QUEUES.iter().enumerate() {
            let kept: Vec<&Bytes> = puts.iter().filter(|p| p.0 == q && p.1 < end).map(|p| &p.2).collect();
            let read = store.read(topic, *queue_id, 0, 100_000, usize::MAX, &|_| true).records;
            assert_eq!(read.iter().collect::<Vec<_>>(), kept, "{topic}/{queue_id} holds exactly its whole records");
            counts[q] = kept.len() as i64;
        }
        check_index(&store, &counts);
        for (q, count) in counts.iter_mut().enumerate() {
            assert_eq!(store.put(message(seed, q, *count)).expect("put after recovery").first_queue_offset, *count);
            *count += 1;
        }
        store.shutdown();
        drop(store);
        let store = MessageStore::open(config).expect("clean reopen");
        assert_eq!(survivors(&store, seed), counts);
    }
    println!("{lost} iterations lost records, {partial} of them left a partial record, in {:?}", started.elapsed());
}

//! RocketMQ 5 timer messages: a send carrying `TIMER_DELIVER_MS` (absolute), `TIMER_DELAY_SEC`
//! or `TIMER_DELAY_MS` (relative) is parked in `rmq_sys_wheel_timer` with its due time in
//! `TIMER_OUT_MS` and its real topic/queue in `REAL_TOPIC`/`REAL_QID`, then re-put to the real
//! topic when due.
//!
//! The due times of parked messages live in a min-heap (16 bytes per pending message) rebuilt
//! at start by scanning the timer queue from a checkpoint: the lowest queue offset not yet
//! delivered. Offsets above the checkpoint that were already delivered are kept with it in
//! `config/timerCheckpoint.json` (rmq's own file; Apache's timer wheel files are not read), so a
//! restart neither loses nor repeats a delivery, and messages that fell due while the broker
//! was down go out on the first tick after start.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_remoting::message::{keys, Properties, StoredMessage};
use rmq_store::{NewMessage, ReadStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::meta::{load_json, now_ms, save_json};
use crate::runtime::Broker;

/// The topic parking timer messages (Apache's `TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Property holding a parked message's due time (ms).
const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// How often due messages are delivered.
const TICK: Duration = Duration::from_millis(100);

/// `timerWheelEnable`, `timerMaxDelaySec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerConfig {
    /// Whether timer properties are honoured (Apache 5.x default: on).
    pub enabled: bool,
    /// Longest accepted delay (Apache default: 3 days).
    pub max_delay: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig { enabled: true, max_delay: Duration::from_secs(3 * 24 * 3600) }
    }
}

/// The due time asked for by a message's timer properties, if any.
fn due_ms(props: &Properties, now: i64) -> Result<Option<i64>, String> {
    let parse = |key: &str| -> Result<Option<i64>, String> {
        match props.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| format!("timer message illegal: {key}={v}")),
        }
    };
    if let Some(at) = parse(keys::TIMER_DELIVER_MS)? {
        return Ok(Some(at));
    }
    if let Some(sec) = parse(keys::TIMER_DELAY_SEC)? {
        return Ok(Some(now.saturating_add(sec.saturating_mul(1000))));
    }
    Ok(parse(keys::TIMER_DELAY_MS)?.map(|ms| now.saturating_add(ms)))
}

/// Checks a message's timer properties: a malformed value or a delay over `timerMaxDelaySec`
/// is refused (Apache answers MESSAGE_ILLEGAL).
pub fn check(config: &TimerConfig, props: &Properties) -> Result<(), String> {
    if !config.enabled {
        return Ok(());
    }
    let now = now_ms();
    match due_ms(props, now)? {
        Some(due) if due - now > config.max_delay.as_millis() as i64 => Err(format!(
            "timer message illegal: the delay {} ms exceeds timerMaxDelaySec {}",
            due - now,
            config.max_delay.as_secs()
        )),
        _ => Ok(()),
    }
}

/// Parks `msg` in the timer topic when its properties ask for a future delivery; returns
/// whether it did. A due time already past is delivered at once (not parked).
pub fn park_if_timer(config: &TimerConfig, msg: &mut NewMessage, props: &mut Properties) -> bool {
    if !config.enabled {
        return false;
    }
    let Ok(Some(due)) = due_ms(props, now_ms()) else { return false };
    if due <= now_ms() {
        return false;
    }
    props.insert(TIMER_OUT_MS.to_owned(), due.to_string());
    props.insert(keys::REAL_TOPIC.to_owned(), std::mem::replace(&mut msg.topic, TIMER_TOPIC.to_owned()));
    props.insert(keys::REAL_QID.to_owned(), msg.queue_id.to_string());
    msg.queue_id = 0;
    true
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CheckpointFile {
    checkpoint: i64,
    delivered: BTreeSet<i64>,
}

#[derive(Debug, Default)]
struct State {
    /// Next timer-queue offset to scan.
    scanned: i64,
    /// Pending messages: (due ms, queue offset).
    pending: BinaryHeap<Reverse<(i64, i64)>>,
    /// Offsets at or above the checkpoint already delivered.
    delivered: BTreeSet<i64>,
    /// Lowest offset not known to be delivered.
    checkpoint: i64,
}

/// Timer delivery state.
pub struct TimerService {
    path: PathBuf,
    state: Mutex<State>,
}

impl TimerService {
    /// Loads `config/timerCheckpoint.json`.
    pub fn load(root: &std::path::Path) -> Self {
        let path = root.join("config").join("timerCheckpoint.json");
        let file: CheckpointFile = load_json(&path).unwrap_or_default();
        let state = State {
            scanned: file.checkpoint,
            checkpoint: file.checkpoint,
            delivered: file.delivered,
            ..Default::default()
        };
        TimerService { path, state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Messages parked and not yet delivered.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Writes the checkpoint.
    pub fn persist(&self) {
        let file = {
            let s = self.lock();
            CheckpointFile { checkpoint: s.checkpoint, delivered: s.delivered.clone() }
        };
        if let Err(e) = save_json(&self.path, &file) {
            warn!(path = %self.path.display(), error = %e, "cannot persist the timer checkpoint");
        }
    }
}

/// Delivers due timer messages every 100 ms until `stop`; persists the checkpoint every second
/// and at the end.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    let mut persist = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if broker.replication.writable().is_err() {
                    continue; // delivery runs on a writable master only
                }
                scan(&broker);
                deliver_due(&broker);
            }
            _ = persist.tick() => broker.timer.persist(),
            _ = stop.changed() => {
                broker.timer.persist();
                return;
            }
        }
    }
}

/// Adds newly parked messages to the heap.
fn scan(broker: &Broker) {
    let timer = &broker.timer;
    let mut offset = timer.lock().scanned.max(broker.store.min_offset(TIMER_TOPIC, 0));
    loop {
        let result = broker.store.read(TIMER_TOPIC, 0, offset, 256, 4 << 20, &|_| true);
        if result.status != ReadStatus::Found {
            if matches!(result.status, ReadStatus::OffsetTooSmall | ReadStatus::OffsetOverflowBadly) {
                offset = result.next_begin_offset;
            }
            timer.lock().scanned = offset;
            return;
        }
        let mut s = timer.lock();
        for record in &result.records {
            match StoredMessage::decode(record) {
                Ok((msg, _)) => {
                    let due = msg.properties.get(TIMER_OUT_MS).and_then(|d| d.parse().ok()).unwrap_or(0);
                    if !s.delivered.contains(&msg.queue_offset) {
                        s.pending.push(Reverse((due, msg.queue_offset)));
                    }
                }
                Err(e) => warn!(offset, error = %e, "undecodable record in the timer topic; skipped"),
            }
            offset += 1;
        }
        offset = offset.max(result.next_begin_offset);
        s.scanned = offset;
    }
}

/// Re-puts every due message to its real topic.
fn deliver_due(broker: &Broker) {
    let timer = &broker.timer;
    let now = now_ms();
    loop {
        let next = {
            let s = timer.lock();
            match s.pending.peek() {
                Some(Reverse((due, offset))) if *due <= now => Some(*offset),
                _ => None,
            }
        };
        let Some(offset) = next else { break };
        let result = broker.store.read(TIMER_TOPIC, 0, offset, 1, 4 << 20, &|_| true);
        let delivered = match result.records.first().map(|r| StoredMessage::decode(r)) {
            Some(Ok((msg, _))) => match super::redeliver(broker, &msg, &[TIMER_OUT_MS]) {
                Ok(()) => true,
                Err(e) => {
                    debug!(offset, error = %e, "timer delivery failed; retrying at the next tick");
                    return;
                }
            },
            // The record is gone (retention) or unreadable: nothing left to deliver.
            _ => true,
        };
        let mut s = timer.lock();
        s.pending.pop();
        if delivered {
            s.delivered.insert(offset);
        }
        advance_checkpoint(&mut s);
    }
    advance_checkpoint(&mut timer.lock());
}

/// The checkpoint is the lowest pending offset (or the scan position); delivered offsets below
/// it need no remembering.
fn advance_checkpoint(s: &mut State) {
    let lowest_pending = s.pending.iter().map(|Reverse((_, o))| *o).min().unwrap_or(s.scanned);
    s.checkpoint = lowest_pending;
    let keep = s.delivered.split_off(&lowest_pending);
    s.delivered = keep;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn due_time_comes_from_any_of_the_three_properties() {
        assert_eq!(due_ms(&props(&[(keys::TIMER_DELIVER_MS, "5000")]), 1000), Ok(Some(5000)));
        assert_eq!(due_ms(&props(&[(keys::TIMER_DELAY_SEC, "3")]), 1000), Ok(Some(4000)));
        assert_eq!(due_ms(&props(&[(keys::TIMER_DELAY_MS, "250")]), 1000), Ok(Some(1250)));
        assert_eq!(due_ms(&props(&[]), 1000), Ok(None));
        assert!(due_ms(&props(&[(keys::TIMER_DELAY_SEC, "soon")]), 1000).is_err());
    }

    #[test]
    fn delays_over_the_maximum_are_refused() {
        let config = TimerConfig { enabled: true, max_delay: Duration::from_secs(60) };
        assert!(check(&config, &props(&[(keys::TIMER_DELAY_SEC, "61")])).is_err());
        assert!(check(&config, &props(&[(keys::TIMER_DELAY_SEC, "59")])).is_ok());
        let off = TimerConfig { enabled: false, ..config };
        assert!(check(&off, &props(&[(keys::TIMER_DELAY_SEC, "600")])).is_ok());
    }

    #[test]
    fn checkpoint_is_the_lowest_pending_offset() {
        let mut s = State { scanned: 10, ..Default::default() };
        s.pending.push(Reverse((900, 7)));
        s.pending.push(Reverse((100, 9)));
        s.delivered = [3, 5, 8].into_iter().collect();
        advance_checkpoint(&mut s);
        assert_eq!(s.checkpoint, 7);
        assert_eq!(s.delivered, [8].into_iter().collect());
        s.pending.clear();
        advance_checkpoint(&mut s);
        assert_eq!((s.checkpoint, s.delivered.len()), (10, 0));
    }

    #[test]
    fn a_future_timer_parks_the_message_in_the_timer_topic() {
        let mut msg = NewMessage {
            topic: "T".into(),
            queue_id: 3,
            flag: 0,
            body: bytes::Bytes::from_static(b"x"),
            properties: String::new(),
            tags_code: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().expect("addr"),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let mut p = props(&[(keys::TIMER_DELAY_MS, "1500")]);
        assert!(park_if_timer(&TimerConfig::default(), &mut msg, &mut p));
        assert_eq!((msg.topic.as_str(), msg.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(p.get(keys::REAL_TOPIC).map(String::as_str), Some("T"));
        assert_eq!(p.get(keys::REAL_QID).map(String::as_str), Some("3"));
    }
}

//! Delay levels, as Apache's `ScheduleMessageService`: a send carrying `DELAY=n` is parked in
//! `SCHEDULE_TOPIC_XXXX` queue `n-1` with its real topic and queue in `REAL_TOPIC`/`REAL_QID`;
//! a background task re-puts each message to its real topic once `store time + delay(n)` has
//! passed. Progress per level is persisted in `config/delayOffset.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rmq_remoting::message::{keys, Properties, StoredMessage};
use rmq_store::{NewMessage, ReadStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::meta::{load_json, now_ms, save_json};
use crate::runtime::Broker;

/// The topic parking delayed messages.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Apache's default `messageDelayLevel`.
pub const DEFAULT_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// The delay of each level (level 1 first).
#[derive(Debug, Clone, PartialEq)]
pub struct DelayLevels(Vec<Duration>);

impl DelayLevels {
    /// Parses `messageDelayLevel` (`1s 5s 1m 2h 1d`, space-separated).
    pub fn parse(text: &str) -> Result<Self, String> {
        let levels = text
            .split_whitespace()
            .map(|item| {
                let (num, unit) = item.split_at(item.len().saturating_sub(1));
                let n: u64 = num.parse().map_err(|_| format!("bad delay level '{item}'"))?;
                let secs = match unit {
                    "s" => n,
                    "m" => n * 60,
                    "h" => n * 3600,
                    "d" => n * 86_400,
                    _ => return Err(format!("bad delay level unit in '{item}' (use s, m, h or d)")),
                };
                Ok(Duration::from_secs(secs))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if levels.is_empty() {
            return Err("no delay levels".into());
        }
        Ok(DelayLevels(levels))
    }

    /// Number of levels.
    pub fn max_level(&self) -> i32 {
        self.0.len() as i32
    }

    /// Delay of `level`, clamped into `1..=max`.
    pub fn delay(&self, level: i32) -> Duration {
        let index = usize::try_from(level.clamp(1, self.max_level())).unwrap_or(1) - 1;
        self.0.get(index).copied().unwrap_or_default()
    }

    /// All delays, level 1 first.
    pub fn durations(&self) -> Vec<Duration> {
        self.0.clone()
    }
}

impl std::str::FromStr for DelayLevels {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DelayLevels::parse(s)
    }
}

/// Parks `msg` in the schedule topic when its properties ask for a delay level; returns
/// whether it did. `props` are the message's properties; the caller encodes them afterwards.
pub fn park_if_delayed(levels: &DelayLevels, msg: &mut NewMessage, props: &mut Properties) -> bool {
    let Some(level) = props.get(keys::DELAY).and_then(|d| d.trim().parse::<i32>().ok()).filter(|l| *l > 0) else {
        return false;
    };
    let level = level.min(levels.max_level());
    props.insert(keys::DELAY.to_owned(), level.to_string());
    props.insert(keys::REAL_TOPIC.to_owned(), std::mem::replace(&mut msg.topic, SCHEDULE_TOPIC.to_owned()));
    props.insert(keys::REAL_QID.to_owned(), msg.queue_id.to_string());
    msg.queue_id = level - 1;
    msg.tags_code = now_ms() + levels.delay(level).as_millis() as i64;
    true
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayOffsetFile {
    offset_table: BTreeMap<i32, i64>,
}

/// Delivery progress per level.
pub struct DelayService {
    path: PathBuf,
    offsets: Mutex<BTreeMap<i32, i64>>,
}

impl DelayService {
    /// Loads `config/delayOffset.json`.
    pub fn load(root: &std::path::Path) -> Self {
        let path = root.join("config").join("delayOffset.json");
        let file: DelayOffsetFile = load_json(&path).unwrap_or_default();
        DelayService { path, offsets: Mutex::new(file.offset_table) }
    }

    /// Writes the progress table.
    pub fn persist(&self) {
        let offset_table = self.offsets.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Err(e) = save_json(&self.path, &DelayOffsetFile { offset_table }) {
            warn!(path = %self.path.display(), error = %e, "cannot persist delay offsets");
        }
    }

    /// The progress table as `delayOffset.json` holds it (GET_ALL_DELAY_OFFSET).
    pub fn to_json(&self) -> Vec<u8> {
        let offset_table = self.offsets.lock().unwrap_or_else(|e| e.into_inner()).clone();
        rmq_remoting::protocol::body::to_json(&DelayOffsetFile { offset_table })
    }

    /// Takes the master's progress table over (a slave's sync) and persists it.
    pub fn replace_from_master(&self, json: &[u8]) -> Result<(), serde_json::Error> {
        let master: DelayOffsetFile = rmq_remoting::protocol::body::from_fastjson(json)?;
        *self.offsets.lock().unwrap_or_else(|e| e.into_inner()) = master.offset_table;
        self.persist();
        Ok(())
    }

    fn offset(&self, level: i32) -> i64 {
        *self.offsets.lock().unwrap_or_else(|e| e.into_inner()).get(&level).unwrap_or(&0)
    }

    fn set_offset(&self, level: i32, offset: i64) {
        self.offsets.lock().unwrap_or_else(|e| e.into_inner()).insert(level, offset);
    }
}

/// Delivers due messages every 100 ms until `stop`; persists progress every 10 s and at the end.
pub async fn run(broker: std::sync::Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut persist = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if broker.replication.writable().is_err() {
                    continue; // delivery runs on a writable master only
                }
                for level in 1..=broker.delay_levels.max_level() {
                    deliver_level(&broker, level);
                }
            }
            _ = persist.tick() => broker.delay.persist(),
            _ = stop.changed() => {
                broker.delay.persist();
                return;
            }
        }
    }
}

/// Moves every due message of one level to its real topic, in order, stopping at the first
/// message not yet due.
fn deliver_level(broker: &Broker, level: i32) {
    let queue_id = level - 1;
    let delay = broker.delay_levels.delay(level).as_millis() as i64;
    let mut offset = broker.delay.offset(level).max(broker.store.min_offset(SCHEDULE_TOPIC, queue_id));
    loop {
        let result = broker.store.read(SCHEDULE_TOPIC, queue_id, offset, 32, 1 << 20, &|_| true);
        if result.status != ReadStatus::Found {
            if matches!(result.status, ReadStatus::OffsetTooSmall | ReadStatus::OffsetOverflowBadly) {
                broker.delay.set_offset(level, result.next_begin_offset);
            }
            return;
        }
        for record in &result.records {
            let Ok((msg, _)) = StoredMessage::decode(record) else {
                warn!(level, offset, "undecodable record in the schedule topic; skipped");
                offset += 1;
                broker.delay.set_offset(level, offset);
                continue;
            };
            let due = msg.store_timestamp + delay;
            if due > now_ms() && due <= now_ms() + delay {
                broker.delay.set_offset(level, offset);
                return;
            }
            if let Err(e) = super::redeliver(broker, &msg, &[keys::DELAY]) {
                debug!(level, offset, error = %e, "delayed delivery failed; retrying");
                broker.delay.set_offset(level, offset);
                return;
            }
            offset = msg.queue_offset + 1;
            broker.delay.set_offset(level, offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_default_levels_parse() {
        let levels = DelayLevels::parse(DEFAULT_LEVELS).expect("parses");
        assert_eq!(levels.max_level(), 18);
        assert_eq!(levels.delay(3), Duration::from_secs(10));
        assert_eq!(levels.delay(18), Duration::from_secs(7200));
        assert_eq!(levels.delay(99), Duration::from_secs(7200), "clamped to the max level");
        assert!(DelayLevels::parse("1x").is_err());
        assert!(DelayLevels::parse("").is_err());
    }

    fn message() -> NewMessage {
        NewMessage {
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
        }
    }

    #[test]
    fn out_of_range_delay_levels_clamp_to_the_last_and_non_positive_ones_do_not_delay() {
        let levels = DelayLevels::parse(DEFAULT_LEVELS).expect("parses");
        let mut msg = message();
        let mut props = Properties::new();
        props.insert(keys::DELAY.to_owned(), "99".to_owned());
        assert!(park_if_delayed(&levels, &mut msg, &mut props));
        assert_eq!((msg.topic.as_str(), msg.queue_id), (SCHEDULE_TOPIC, 17), "parked at level 18, as Apache");
        assert_eq!(props.get(keys::DELAY).map(String::as_str), Some("18"));
        assert_eq!(props.get(keys::REAL_TOPIC).map(String::as_str), Some("T"));
        for level in ["0", "-3", "abc"] {
            let (mut msg, mut props) = (message(), Properties::new());
            props.insert(keys::DELAY.to_owned(), level.to_owned());
            assert!(!park_if_delayed(&levels, &mut msg, &mut props), "DELAY={level} is delivered at once");
            assert_eq!(msg.topic, "T");
        }
    }
}

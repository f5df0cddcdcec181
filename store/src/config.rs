//! Store configuration: directories, file sizes, flush mode and limits (Apache defaults).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::StoreError;

/// When appended data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// A background thread flushes every `interval` (Apache `ASYNC_FLUSH`, 500 ms). A kill -9
    /// loses nothing (the data is in the page cache); a power loss may lose the last interval.
    Async {
        /// Time between two flushes.
        interval: Duration,
    },
    /// A put is acknowledged only after the CommitLog is flushed (Apache `SYNC_FLUSH`): `put`
    /// flushes before returning, and the [`crate::Durable`] of `append` resolves after the group
    /// commit's flush, which concurrent appends share.
    Sync,
}

impl Default for FlushMode {
    fn default() -> Self {
        FlushMode::Async { interval: Duration::from_millis(500) }
    }
}

/// Configuration of a [`crate::MessageStore`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root directory (`storePathRootDir`); ConsumeQueues live in `<root>/consumequeue`.
    pub root_dir: PathBuf,
    /// CommitLog directory (`storePathCommitLog`, default `<root>/commitlog`).
    pub commit_log_dir: PathBuf,
    /// Size of each CommitLog file (`mappedFileSizeCommitLog`, 1 GiB).
    pub commit_log_file_size: u64,
    /// Size of each ConsumeQueue file (`mappedFileSizeConsumeQueue`, 300 000 × 20 bytes);
    /// rounded up to a multiple of 20.
    pub consume_queue_file_size: u64,
    /// Flush mode.
    pub flush: FlushMode,
    /// Largest body accepted (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// This broker's address as written into STOREHOST (brokerIP1:listenPort).
    pub store_host: SocketAddr,
    /// Whether messages are indexed by key and UNIQ_KEY (`messageIndexEnable`, true).
    pub message_index_enable: bool,
    /// Hash slots per IndexFile (`maxHashSlotNum`, 5 000 000).
    pub max_hash_slot_num: usize,
    /// Entries per IndexFile (`maxIndexNum`, 20 000 000; entry 0 is never used).
    pub max_index_num: usize,
    /// How long a CommitLog file is kept after its last modification (`fileReservedTime`, 72 h).
    pub file_reserved_time: Duration,
    /// Hours of the day (UTC), `;`-separated, at which expired files are deleted even without
    /// disk pressure (`deleteWhen`, `"04"`).
    pub delete_when: String,
    /// Usage percentage above which expired files are deleted at any hour
    /// (`diskMaxUsedSpaceRatio`, 75; clamped to 10..=95).
    pub disk_max_used_space_ratio: u32,
    /// Usage percentage above which even unexpired CommitLog files are deleted, oldest first
    /// (`diskSpaceCleanForciblyRatio`, 85; clamped to 30..=85).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Usage percentage at which the store is marked disk-full and refuses writes
    /// (`diskSpaceWarningLevelRatio`, 90; clamped to 35..=90).
    pub disk_space_warning_level_ratio: u32,
    /// Period of the cleaning thread (`cleanResourceInterval`, 10 s).
    pub clean_resource_interval: Duration,
    /// rmq extension: a quota for the store. When set, usage is the bytes of the store's files
    /// divided by this budget instead of the file system's used / total space.
    pub disk_budget_bytes: Option<u64>,
    /// Replication: cut the CommitLog back to this offset (a record boundary) when opening,
    /// with the ConsumeQueues and index entries beyond it — how a former master drops the tail
    /// only it has before it follows the new master.
    pub truncate_commit_log_to: Option<i64>,
}

/// Bytes of one ConsumeQueue entry.
pub(crate) const CQ_ENTRY_LEN: u64 = 20;

impl StoreConfig {
    /// Apache defaults under `root_dir`, with `store_host` as STOREHOST.
    pub fn new(root_dir: impl Into<PathBuf>, store_host: SocketAddr) -> StoreConfig {
        let root_dir = root_dir.into();
        StoreConfig {
            commit_log_dir: root_dir.join("commitlog"),
            root_dir,
            commit_log_file_size: 1024 * 1024 * 1024,
            consume_queue_file_size: 300_000 * CQ_ENTRY_LEN,
            flush: FlushMode::default(),
            max_message_size: 4 * 1024 * 1024,
            store_host,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            file_reserved_time: Duration::from_secs(72 * 3600),
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            disk_space_warning_level_ratio: 90,
            clean_resource_interval: Duration::from_secs(10),
            disk_budget_bytes: None,
            truncate_commit_log_to: None,
        }
    }

    /// The usage ratios in effect, as fractions: (max used, clean forcibly, warning level),
    /// clamped like Apache's.
    pub(crate) fn usage_thresholds(&self) -> (f64, f64, f64) {
        let ratio = |v: u32, lo: u32, hi: u32| f64::from(v.clamp(lo, hi)) / 100.0;
        (
            ratio(self.disk_max_used_space_ratio, 10, 95),
            ratio(self.disk_space_clean_forcibly_ratio, 30, 85),
            ratio(self.disk_space_warning_level_ratio, 35, 90),
        )
    }

    /// The IndexFile directory, `<root>/index`.
    pub fn index_dir(&self) -> PathBuf {
        self.root_dir.join("index")
    }

    /// Checks the IndexFile geometry; returns `(slots, entries)`. The file size
    /// (40 + 4 × slots + 20 × entries) must fit in an i32 like Apache's.
    pub(crate) fn checked_index_geometry(&self) -> Result<(u32, u32), StoreError> {
        let (slots, entries) = (self.max_hash_slot_num, self.max_index_num);
        let size = (slots as u128) * 4 + (entries as u128) * 20 + 40;
        if slots == 0 || entries < 2 || size > i32::MAX as u128 {
            return Err(StoreError::Config(format!(
                "max_hash_slot_num {slots} must be ≥ 1 and max_index_num {entries} ≥ 2, \
                 with an index file of at most {} bytes",
                i32::MAX
            )));
        }
        // Both fit: each term alone is below i32::MAX.
        Ok((slots as u32, entries as u32))
    }

    /// The ConsumeQueue root, `<root>/consumequeue`.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.root_dir.join("consumequeue")
    }

    /// Checks sizes are usable; returns the (CommitLog, ConsumeQueue) file sizes to use.
    pub(crate) fn checked_file_sizes(&self) -> Result<(usize, usize), StoreError> {
        // Positions inside a file are i32 on disk (BLANK TOTALSIZE), so files stay below 2 GiB.
        let max = i32::MAX as u64;
        if self.commit_log_file_size < 4096 || self.commit_log_file_size > max {
            return Err(StoreError::Config(format!(
                "commit_log_file_size {} must be in 4096..={max}",
                self.commit_log_file_size
            )));
        }
        let cq = self.consume_queue_file_size.max(CQ_ENTRY_LEN).div_ceil(CQ_ENTRY_LEN) * CQ_ENTRY_LEN;
        if cq > max {
            return Err(StoreError::Config(format!("consume_queue_file_size {cq} exceeds {max}")));
        }
        if self.max_message_size == 0 {
            return Err(StoreError::Config("max_message_size must be positive".into()));
        }
        Ok((self.commit_log_file_size as usize, cq as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> StoreConfig {
        StoreConfig::new("/tmp/x", "127.0.0.1:10911".parse().expect("addr"))
    }

    #[test]
    fn defaults_match_apache() {
        let c = config();
        assert_eq!(c.commit_log_dir, PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.consume_queue_dir(), PathBuf::from("/tmp/x/consumequeue"));
        assert_eq!(c.checked_file_sizes().ok(), Some((1 << 30, 6_000_000)));
        assert_eq!(c.flush, FlushMode::Async { interval: Duration::from_millis(500) });
        assert_eq!(c.index_dir(), PathBuf::from("/tmp/x/index"));
        assert!(c.message_index_enable);
        assert_eq!(c.checked_index_geometry().ok(), Some((5_000_000, 20_000_000)));
        assert_eq!(c.file_reserved_time, Duration::from_secs(72 * 3600));
        assert_eq!(c.delete_when, "04");
        assert_eq!(c.clean_resource_interval, Duration::from_secs(10));
        assert_eq!(c.disk_budget_bytes, None);
        assert_eq!(c.usage_thresholds(), (0.75, 0.85, 0.90));
    }

    #[test]
    fn usage_ratios_are_clamped_like_apache() {
        let mut c = config();
        (c.disk_max_used_space_ratio, c.disk_space_clean_forcibly_ratio, c.disk_space_warning_level_ratio) =
            (99, 99, 99);
        assert_eq!(c.usage_thresholds(), (0.95, 0.85, 0.90));
        (c.disk_max_used_space_ratio, c.disk_space_clean_forcibly_ratio, c.disk_space_warning_level_ratio) = (1, 1, 1);
        assert_eq!(c.usage_thresholds(), (0.10, 0.30, 0.35));
    }

    #[test]
    fn index_geometry_must_fit_an_i32_file() {
        let mut c = config();
        c.max_index_num = 1;
        assert!(c.checked_index_geometry().is_err());
        c.max_index_num = 2;
        c.max_hash_slot_num = 0;
        assert!(c.checked_index_geometry().is_err());
        c.max_hash_slot_num = 1;
        c.max_index_num = 200_000_000;
        assert!(c.checked_index_geometry().is_err());
    }

    #[test]
    fn consume_queue_size_rounds_up_to_whole_entries() {
        let mut c = config();
        c.consume_queue_file_size = 1001;
        assert_eq!(c.checked_file_sizes().ok().map(|s| s.1), Some(1020));
        c.commit_log_file_size = 100;
        assert!(c.checked_file_sizes().is_err());
    }
}

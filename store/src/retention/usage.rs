//! How full the store's disk is, and whether it is a `deleteWhen` hour.
//!
//! Usage is the file system's `(total − free) / total` for the CommitLog directory (Apache
//! `UtilAll.getDiskPartitionSpaceUsedPercent`), or with `disk_budget_bytes` the bytes of every
//! file under the store's directories divided by the budget (which may exceed 1).

use std::fs;
use std::path::Path;

use crate::config::StoreConfig;
use crate::error::StoreError;

/// The store's current disk usage as a fraction.
pub(crate) fn usage_ratio(config: &StoreConfig) -> Result<f64, StoreError> {
    match config.disk_budget_bytes {
        Some(budget) => {
            let mut bytes = dir_bytes(&config.root_dir)?;
            if !config.commit_log_dir.starts_with(&config.root_dir) {
                bytes += dir_bytes(&config.commit_log_dir)?;
            }
            Ok(bytes as f64 / budget.max(1) as f64)
        }
        None => {
            let dir = &config.commit_log_dir;
            let stat = rustix::fs::statvfs(dir).map_err(|e| StoreError::io(dir, e.into()))?;
            if stat.f_blocks == 0 {
                return Ok(0.0);
            }
            Ok(stat.f_blocks.saturating_sub(stat.f_bfree) as f64 / stat.f_blocks as f64)
        }
    }
}

/// Total length of the regular files under `dir` (0 if it does not exist).
fn dir_bytes(dir: &Path) -> Result<u64, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut total = 0;
    for entry in entries {
        // Files may vanish while walking (retention, topic deletion): skip them.
        let Ok(entry) = entry else { continue };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata().map_or(0, |m| m.len());
        }
    }
    Ok(total)
}

/// Whether the UTC hour of `now_ms` is one of the `;`-separated hours of `delete_when`
/// (Apache `UtilAll.isItTimeToDo`, which uses local time). Unparsable items are ignored.
pub(crate) fn is_delete_hour(delete_when: &str, now_ms: i64) -> bool {
    let hour = now_ms.div_euclid(3_600_000).rem_euclid(24);
    delete_when.split(';').filter_map(|h| h.trim().parse::<i64>().ok()).any(|h| h == hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_hours_are_semicolon_separated_utc_hours() {
        let four_am = 4 * 3_600_000 + 59 * 60_000;
        assert!(is_delete_hour("04", four_am));
        assert!(is_delete_hour("16; 04", four_am));
        assert!(!is_delete_hour("05;16", four_am));
        assert!(!is_delete_hour("", four_am));
        assert!(is_delete_hour("x;4", four_am + 24 * 3_600_000));
    }

    #[test]
    fn budget_usage_counts_store_files_and_filesystem_usage_is_a_fraction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = StoreConfig::new(dir.path(), "127.0.0.1:10911".parse().expect("addr"));
        fs::create_dir_all(dir.path().join("commitlog")).expect("mkdir");
        fs::write(dir.path().join("commitlog/00000000000000000000"), vec![0; 3000]).expect("write");
        fs::create_dir_all(dir.path().join("consumequeue/T/0")).expect("mkdir");
        fs::write(dir.path().join("consumequeue/T/0/00000000000000000000"), vec![0; 1000]).expect("write");
        let fs_ratio = usage_ratio(&config).expect("statvfs");
        assert!((0.0..=1.0).contains(&fs_ratio));
        config.disk_budget_bytes = Some(8000);
        assert_eq!(usage_ratio(&config).ok(), Some(0.5));
    }
}

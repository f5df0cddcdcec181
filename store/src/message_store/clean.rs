//! One retention pass (Apache `CleanCommitLogService.deleteExpiredFiles` followed by
//! `CleanConsumeQueueService`), run by the cleaning thread every `clean_resource_interval` and
//! by [`MessageStore::clean_now`].
//!
//! A pass measures usage and updates the disk-full flag. It deletes CommitLog files when it is
//! a `delete_when` hour, usage is above `disk_max_used_space_ratio`, or the pass is manual:
//! oldest first, only expired ones (last modified more than `file_reserved_time` ago), stopping
//! at the first unexpired file, never the active one, at most [`DELETE_FILES_BATCH_MAX`]. Above
//! `disk_space_clean_forcibly_ratio` unexpired files go too, oldest first, until usage is back
//! at that level (Apache deletes a whole batch). Then ConsumeQueue files and IndexFiles wholly
//! below the new CommitLog min offset are deleted and queue min offsets moved up, and the
//! disk-full flag is updated again.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::PoisonError;
use std::time::{Duration, SystemTime};

use super::MessageStore;
use crate::retention::usage::{is_delete_hour, usage_ratio};

/// Most CommitLog files one pass deletes (`deleteFileBatchMax`).
pub(crate) const DELETE_FILES_BATCH_MAX: usize = 10;

/// Whether the file at `path` was last modified `reserved` or longer before `now`.
fn is_expired(path: &Path, reserved: Duration, now: SystemTime) -> bool {
    let modified = std::fs::metadata(path).and_then(|m| m.modified());
    modified.is_ok_and(|m| m + reserved <= now)
}

impl MessageStore {
    /// Runs one cleaning pass now, as the admin request `DELETE_EXPIRED_COMMITLOG` does:
    /// expired CommitLog files are deleted whatever the hour (and unexpired ones too under
    /// disk pressure), then the ConsumeQueues and the index follow the new CommitLog min
    /// offset and the disk-full flag is re-evaluated.
    pub fn clean_now(&self) {
        self.clean_pass(true);
    }

    /// Whether puts are refused because the disk usage reached `disk_space_warning_level_ratio`
    /// (set and cleared by cleaning passes).
    pub fn is_disk_full(&self) -> bool {
        self.disk.is_full()
    }

    /// One pass; `manual` deletes expired files at any hour.
    pub(crate) fn clean_pass(&self, manual: bool) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let _pass = self.clean_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (max_used, forcibly, warning) = self.config.usage_thresholds();
        let usage = || {
            usage_ratio(&self.config).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot measure disk usage");
                0.0
            })
        };
        let ratio = usage();
        self.disk.update(ratio, forcibly, warning);
        let time_up = is_delete_hour(&self.config.delete_when, crate::now_ms());
        if !(manual || time_up || ratio > max_used || ratio > forcibly) {
            return;
        }
        let (reserved, now) = (self.config.file_reserved_time, SystemTime::now());
        let mut current = ratio;
        for i in 0..DELETE_FILES_BATCH_MAX {
            if i > 0 && ratio > forcibly {
                current = usage();
            }
            let forced = current > forcibly;
            let deleted = self.commit_log.delete_oldest_if(|file| {
                let expired = is_expired(file.path(), reserved, now);
                if expired || forced {
                    tracing::info!(path = %file.path().display(), expired,
                        usage = format!("{:.1}%", current * 100.0), "deleting CommitLog file");
                }
                expired || forced
            });
            match deleted {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::error!(error = %e, "deleting a CommitLog file failed");
                    break;
                }
            }
        }
        self.clean_queues_and_index();
        self.disk.update(usage(), forcibly, warning);
    }

    /// Drops ConsumeQueue and index files wholly below the CommitLog min offset and moves the
    /// queues' min offsets up to it.
    fn clean_queues_and_index(&self) {
        let min = self.commit_log.min_offset();
        for queue in self.queues.all() {
            if let Err(e) = queue.delete_below(min) {
                tracing::error!(topic = queue.topic(), queue_id = queue.queue_id(), error = %e,
                    "deleting ConsumeQueue files failed");
            }
        }
        if let Some(index) = &self.index {
            match index.delete_below(min) {
                Ok(0) => {}
                Ok(files) => tracing::info!(files, min, "deleted index files below the CommitLog min offset"),
                Err(e) => tracing::error!(error = %e, "deleting index files failed"),
            }
        }
    }
}

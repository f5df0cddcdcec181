//! The store's instance files under the root directory: `lock`, an exclusive OS lock held for
//! the store's lifetime so two stores never share a directory, and `abort`, a marker created at
//! open (holding the PID as text, like Apache 5.x) and removed by a clean shutdown. An `abort`
//! found at open means the previous run did not shut down cleanly.
//!
//! `abort` is created through the store's file layer and its name synced, so a power cut right
//! after open still leaves it and the next open recovers fully.
//!
//! The lock is a `flock(2)` on the whole file. It belongs to the open file description, so a
//! second open in the same process is refused too; it is released when the file is closed
//! (also when the process dies).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::error::StoreError;
use crate::file_layer::Layer;

/// The exclusive lock on `<root>/lock`; released on drop.
#[derive(Debug)]
pub(crate) struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock without waiting; [`StoreError::Locked`] if another store holds it.
    pub(crate) fn acquire(root: &Path) -> Result<StoreLock, StoreError> {
        let path = root.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(StoreLock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(StoreError::Locked(root.to_path_buf())),
            Err(e) => Err(StoreError::io(&path, e.into())),
        }
    }
}

/// The `abort` marker file.
#[derive(Debug)]
pub(crate) struct AbortFile {
    root: PathBuf,
    path: PathBuf,
    layer: Layer,
}

impl AbortFile {
    /// The marker of the store at `root`.
    pub(crate) fn new(root: &Path, layer: &Layer) -> AbortFile {
        AbortFile { root: root.to_path_buf(), path: root.join("abort"), layer: layer.clone() }
    }

    /// Whether the marker exists (the previous run ended abnormally).
    pub(crate) fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Creates (or rewrites) the marker with this process's PID and syncs it and its name.
    pub(crate) fn create(&self) -> Result<(), StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        let mut file = if self.exists() {
            OpenOptions::new().write(true).truncate(true).open(&self.path).map_err(io)?
        } else {
            self.layer.create(&self.path, 0, false).map_err(io)?
        };
        file.write_all(std::process::id().to_string().as_bytes()).map_err(io)?;
        self.layer.sync_file(&self.path, &file).map_err(io)?;
        self.layer.sync_dir(&self.root).map_err(|e| StoreError::io(&self.root, e))
    }

    /// Deletes the marker (clean shutdown); a missing marker is fine.
    pub(crate) fn remove(&self) -> Result<(), StoreError> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(StoreError::io(&self.path, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_root_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = StoreLock::acquire(dir.path()).expect("first lock");
        assert!(matches!(StoreLock::acquire(dir.path()), Err(StoreError::Locked(_))));
        drop(first);
        StoreLock::acquire(dir.path()).expect("lock after release");
    }

    #[test]
    fn abort_file_holds_the_pid_and_is_removed_idempotently() {
        let dir = tempfile::tempdir().expect("tempdir");
        let abort = AbortFile::new(dir.path(), &(std::sync::Arc::new(crate::file_layer::OsFiles) as Layer));
        assert!(!abort.exists());
        abort.create().expect("create");
        assert_eq!(fs::read_to_string(dir.path().join("abort")).ok(), Some(std::process::id().to_string()));
        abort.remove().expect("remove");
        abort.remove().expect("remove again");
        assert!(!abort.exists());
    }
}

//! An ordered run of equal-size [`MappedFile`]s in one directory, named by their 20-digit
//! zero-padded start offset: load, roll, find by offset, truncate.
//!
//! A new file's name is durable only once its directory is synced: the first flush after a
//! roll does that, so flushed data never sits in a file a power cut can make disappear.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::StoreError;
use crate::file_layer::Layer;
use crate::mapped_file::MappedFile;

/// File name of the segment starting at `offset` (Apache `UtilAll.offset2FileName`).
pub(crate) fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// Contiguous files `start, start + size, …` of one CommitLog or ConsumeQueue.
#[derive(Debug)]
pub(crate) struct MappedQueue {
    dir: PathBuf,
    file_size: usize,
    /// Whether new files get their disk blocks allocated up front (the CommitLog).
    allocate: bool,
    /// Whether appends are flushed a few KiB at a time (the CommitLog under SYNC_FLUSH): the
    /// files' unwritten parts are then mapped without read-around
    /// ([`MappedFile::expect_appends`]).
    small_flushes: bool,
    files: RwLock<Vec<Arc<MappedFile>>>,
    layer: Layer,
    /// Files created so far (by [`MappedQueue::roll`]).
    created: AtomicU64,
    /// Value of `created` at the start of the last completed directory sync.
    names_synced: AtomicU64,
    /// Serializes directory syncs, so a flush never returns while another one's is under way.
    dir_sync: Mutex<()>,
}

impl MappedQueue {
    fn new(dir: PathBuf, file_size: usize, files: Vec<Arc<MappedFile>>, layer: &Layer) -> MappedQueue {
        MappedQueue {
            dir,
            file_size,
            allocate: false,
            small_flushes: false,
            files: RwLock::new(files),
            layer: layer.clone(),
            created: AtomicU64::new(0),
            names_synced: AtomicU64::new(0),
            dir_sync: Mutex::new(()),
        }
    }

    /// A queue over `dir` (created lazily on the first roll) with no files loaded.
    pub(crate) fn empty(dir: PathBuf, file_size: usize, layer: &Layer) -> MappedQueue {
        Self::new(dir, file_size, Vec::new(), layer)
    }

    /// Loads the files of `dir` in name order. A file of the wrong length is
    /// [`StoreError::Corrupt`], except an empty last file, which is deleted; so are gaps
    /// between files. Every loaded file starts out fully "written"; recovery truncates.
    pub(crate) fn load(dir: &Path, file_size: usize, layer: &Layer) -> Result<MappedQueue, StoreError> {
        Self::load_with(dir, file_size, layer, None).map(|(queue, _)| queue)
    }

    /// [`MappedQueue::load`] for files of fixed-size units that can be rebuilt (ConsumeQueues):
    /// a file of the wrong length is resized instead of refused, and the queue must then be cut
    /// at the returned global offset, the end of the last whole unit found (an empty last file
    /// is deleted and cuts at its start).
    pub(crate) fn load_repairing(
        dir: &Path,
        file_size: usize,
        unit: usize,
        layer: &Layer,
    ) -> Result<(MappedQueue, Option<u64>), StoreError> {
        Self::load_with(dir, file_size, layer, Some(unit))
    }

    fn load_with(
        dir: &Path,
        file_size: usize,
        layer: &Layer,
        repair_unit: Option<usize>,
    ) -> Result<(MappedQueue, Option<u64>), StoreError> {
        let mut cut: Option<u64> = None;
        let mut names = Vec::new();
        if dir.exists() {
            let entries = fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(dir, e))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
                    if let Ok(offset) = name.parse::<u64>() {
                        names.push((offset, entry.path()));
                    }
                } else {
                    tracing::warn!(path = %entry.path().display(), "ignoring unexpected file in store directory");
                }
            }
        }
        names.sort();
        if let Some((_, last)) = names.last() {
            let len = fs::metadata(last).map_err(|e| StoreError::io(last, e))?.len();
            if len == 0 {
                tracing::warn!(path = %last.display(), "deleting empty last store file");
                fs::remove_file(last).map_err(|e| StoreError::io(last, e))?;
                if repair_unit.is_some() {
                    cut = names.last().map(|(offset, _)| *offset);
                }
                names.pop();
            }
        }
        let mut files = Vec::with_capacity(names.len());
        for (i, (offset, path)) in names.iter().enumerate() {
            let expected = names[0].0 + (i * file_size) as u64;
            if *offset != expected || offset % file_size as u64 != 0 {
                return Err(StoreError::Corrupt {
                    file: path.clone(),
                    offset: *offset,
                    reason: format!("expected a file starting at {expected} (file size {file_size})"),
                });
            }
            if let Some(unit) = repair_unit {
                let len = fs::metadata(path).map_err(|e| StoreError::io(path, e))?.len();
                if len != file_size as u64 {
                    tracing::warn!(path = %path.display(), len, file_size, "resizing a store file of the wrong length; its queue is cut there and rebuilt");
                    let file = fs::OpenOptions::new().write(true).open(path).map_err(|e| StoreError::io(path, e))?;
                    file.set_len(file_size as u64).map_err(|e| StoreError::io(path, e))?;
                    layer.sync_file(path, &file).map_err(|e| StoreError::io(path, e))?;
                    let whole = len.min(file_size as u64) / unit as u64 * unit as u64;
                    cut = Some(cut.map_or(offset + whole, |c| c.min(offset + whole)));
                }
            }
            files.push(Arc::new(MappedFile::open(layer, path, *offset, file_size)?));
        }
        Ok((Self::new(dir.to_path_buf(), file_size, files, layer), cut))
    }

    /// Makes new files preallocated (`fallocate`) instead of sparse, so a full disk is found
    /// when a file is created (the CommitLog; ConsumeQueues stay sparse like Apache's).
    pub(crate) fn preallocated(mut self) -> MappedQueue {
        self.allocate = true;
        self
    }

    /// Makes the files' unwritten parts mapped without read-around, for appends flushed a few
    /// KiB at a time; the last file's part takes effect at recovery ([`MappedQueue::truncate`]).
    pub(crate) fn with_small_flushes(mut self) -> MappedQueue {
        self.small_flushes = true;
        self
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Size of each file.
    pub(crate) fn file_size(&self) -> usize {
        self.file_size
    }

    /// A snapshot of the files, oldest first.
    pub(crate) fn files(&self) -> Vec<Arc<MappedFile>> {
        self.read().clone()
    }

    /// The newest file.
    pub(crate) fn last(&self) -> Option<Arc<MappedFile>> {
        self.read().last().cloned()
    }

    /// Whether no file exists.
    pub(crate) fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Offset of the first byte of the first file (0 when empty).
    pub(crate) fn min_offset(&self) -> u64 {
        self.read().first().map_or(0, |f| f.start_offset())
    }

    /// Offset just past the last written byte (0 when empty).
    pub(crate) fn max_offset(&self) -> u64 {
        self.read().last().map_or(0, |f| f.start_offset() + f.wrote() as u64)
    }

    /// The file containing global `offset`.
    pub(crate) fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.read();
        let first = files.first()?.start_offset();
        let index = usize::try_from(offset.checked_sub(first)? / self.file_size as u64).ok()?;
        files.get(index).cloned()
    }

    /// Creates the next file (at `start_if_empty` for an empty queue, which must be a multiple
    /// of the file size) and returns it.
    pub(crate) fn roll(&self, start_if_empty: u64) -> Result<Arc<MappedFile>, StoreError> {
        let mut files = self.write();
        let start = files.last().map_or(start_if_empty, |f| f.start_offset() + self.file_size as u64);
        fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let path = self.dir.join(file_name(start));
        let file = Arc::new(MappedFile::create(&self.layer, &path, start, self.file_size, self.allocate)?);
        if self.small_flushes {
            if let Some(full) = files.last() {
                full.expect_reads();
            }
            file.expect_appends();
        }
        files.push(Arc::clone(&file));
        self.created.fetch_add(1, Ordering::AcqRel);
        Ok(file)
    }

    /// Syncs the directory if files were created since the last sync.
    fn sync_new_names(&self) -> Result<(), StoreError> {
        if self.names_synced.load(Ordering::Acquire) >= self.created.load(Ordering::Acquire) {
            return Ok(());
        }
        let _one_at_a_time = self.dir_sync.lock().unwrap_or_else(PoisonError::into_inner);
        let created = self.created.load(Ordering::Acquire);
        if self.names_synced.load(Ordering::Acquire) >= created {
            return Ok(());
        }
        self.layer.sync_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        self.names_synced.fetch_max(created, Ordering::AcqRel);
        Ok(())
    }

    /// Deletes files from the front, oldest first, while `delete` says so, at most `max` of
    /// them and never the last (active) one. Returns how many were deleted. Readers holding a
    /// file keep its mapping until they drop it.
    pub(crate) fn delete_front(
        &self,
        max: usize,
        mut delete: impl FnMut(&MappedFile) -> bool,
    ) -> Result<usize, StoreError> {
        let mut files = self.write();
        let mut deleted = 0;
        while deleted < max && files.len() > 1 && delete(&files[0]) {
            let path = files[0].path().to_path_buf();
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            files.remove(0);
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Forces every file's unflushed bytes, and the names of new files, to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.sync_new_names()?;
        for file in self.files() {
            file.flush()?;
        }
        Ok(())
    }

    /// Written bytes not flushed yet, over all files.
    pub(crate) fn unflushed(&self) -> u64 {
        self.read().iter().map(|f| f.unflushed() as u64).sum()
    }

    /// Whether some file has unflushed bytes.
    pub(crate) fn is_dirty(&self) -> bool {
        self.read().iter().any(|f| f.is_dirty())
    }

    /// Cuts the queue at global `offset`: the file containing it keeps only the bytes before it
    /// (the rest zeroed), later files are deleted; with `sync` durably. Needs exclusive access
    /// (recovery).
    pub(crate) fn truncate(&mut self, offset: u64, sync: bool) -> Result<(), StoreError> {
        let files = self.files.get_mut().unwrap_or_else(PoisonError::into_inner);
        let count = files.len();
        while let Some(last) = files.last() {
            if last.start_offset() < offset {
                break;
            }
            let path = last.path().to_path_buf();
            tracing::warn!(path = %path.display(), offset, "deleting store file beyond the recovered end");
            files.pop();
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        if let Some(last) = files.last_mut() {
            let pos = (offset - last.start_offset()) as usize;
            let path = last.path().to_path_buf();
            let file = Arc::get_mut(last).ok_or_else(|| StoreError::Corrupt {
                file: path,
                offset,
                reason: "file still in use while truncating".into(),
            })?;
            file.truncate_tail(pos)?;
            if self.small_flushes {
                file.expect_appends();
            }
            if sync {
                file.sync_metadata()?;
            }
        }
        if sync && files.len() < count {
            self.layer.sync_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        }
        Ok(())
    }

    /// Deletes every file and the directory.
    pub(crate) fn destroy(&self) -> Result<(), StoreError> {
        self.write().clear();
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&self.dir, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::OsFiles;

    fn os() -> Layer {
        Arc::new(OsFiles)
    }

    #[test]
    fn roll_find_and_reload_keep_file_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedQueue::empty(dir.path().join("q"), 100, &os());
        assert!(q.find(0).is_none());
        let a = q.roll(0).expect("roll");
        a.append(&[1; 100]).expect("fits");
        let b = q.roll(0).expect("roll");
        b.append(&[2; 10]).expect("fits");
        assert_eq!(b.start_offset(), 100);
        assert_eq!(q.max_offset(), 110);
        assert_eq!(q.find(150).map(|f| f.start_offset()), Some(100));
        assert!(q.find(200).is_none());
        q.flush().expect("flush");
        drop((a, b, q));
        let mut q = MappedQueue::load(&dir.path().join("q"), 100, &os()).expect("load");
        assert_eq!(q.files().len(), 2);
        q.truncate(105, true).expect("truncate");
        assert_eq!(q.max_offset(), 105);
        q.truncate(100, false).expect("truncate");
        assert_eq!(q.files().len(), 1);
        assert_eq!(q.max_offset(), 100);
    }

    #[test]
    fn delete_front_stops_at_the_first_kept_file_and_never_deletes_the_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = MappedQueue::empty(dir.path().join("q"), 100, &os());
        for _ in 0..4 {
            q.roll(0).expect("roll").mark_full();
        }
        assert_eq!(q.delete_front(1, |_| true).expect("delete"), 1);
        assert_eq!(q.min_offset(), 100);
        assert_eq!(q.delete_front(10, |f| f.start_offset() != 100).expect("delete"), 0);
        assert_eq!(q.delete_front(10, |_| true).expect("delete"), 2);
        assert_eq!(q.min_offset(), 300);
        assert_eq!(q.find(350).map(|f| f.start_offset()), Some(300));
        assert!(q.find(250).is_none());
        assert!(!dir.path().join("q").join(file_name(200)).exists());
    }

    #[test]
    fn load_rejects_wrong_sizes_and_drops_empty_last_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(file_name(0)), vec![0; 100]).expect("write");
        fs::write(dir.path().join(file_name(100)), b"").expect("write");
        let q = MappedQueue::load(dir.path(), 100, &os()).expect("load");
        assert_eq!(q.files().len(), 1);
        assert!(!dir.path().join(file_name(100)).exists());
        fs::write(dir.path().join(file_name(100)), vec![0; 99]).expect("write");
        assert!(matches!(MappedQueue::load(dir.path(), 100, &os()), Err(StoreError::Corrupt { .. })));
        fs::write(dir.path().join(file_name(100)), vec![0; 100]).expect("write");
        fs::write(dir.path().join(file_name(300)), vec![0; 100]).expect("write");
        assert!(matches!(MappedQueue::load(dir.path(), 100, &os()), Err(StoreError::Corrupt { .. })));
    }
}

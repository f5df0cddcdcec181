//! One preallocated, memory-mapped store file: append, read, flush. The only `unsafe` in the crate.
//! Also [`MappedRegion`], a mapped file rewritten in place (IndexFiles), borrowed like a slice.
//!
//! Concurrency contract: bytes below the *wrote position* are immutable while the file is
//! shared, and readers only see those (the position is published with Release/Acquire after the
//! copy). Appends write at or above it, one at a time (an internal mutex). Rewriting the tail
//! ([`MappedFile::truncate_tail`]) needs `&mut self`, so it only happens before sharing
//! (recovery). The file must not be shrunk by another process while mapped (SIGBUS).
//!
//! Layer are created and synced through the store's [`crate::file_layer::FileLayer`].

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use memmap2::MmapMut;

use crate::error::StoreError;
use crate::file_layer::{Layer, SyncRange};

/// A memory-mapped file of fixed size holding one segment of a CommitLog or ConsumeQueue.
pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    layer: Layer,
    start_offset: u64,
    size: usize,
    mmap: MmapMut,
    /// Base address of `mmap`; stays valid as long as `mmap` lives (moving the `MmapMut` does
    /// not move the mapping).
    base: *mut u8,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    /// End of the pages [`MappedFile::prefault`] has mapped ahead of the appends.
    prefaulted: AtomicUsize,
    /// End of the range [`MappedFile::prewrite`] has written out ahead of the appends.
    prewritten: AtomicUsize,
    append_lock: Mutex<()>,
}

// SAFETY: `base` points into `mmap`, which this struct owns. All access through it follows the
// module contract above: shared reads only below `wrote`, writes only at/above `wrote` under
// `append_lock`, tail rewrites only with `&mut self`. So sharing across threads cannot race.
unsafe impl Send for MappedFile {}
// SAFETY: see the `Send` impl; every `&self` method upholds the same contract.
unsafe impl Sync for MappedFile {}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("wrote", &self.wrote())
            .field("size", &self.size)
            .finish()
    }
}

impl MappedFile {
    /// Creates a new file of `size` zero bytes, its blocks allocated up front if `allocate`
    /// (see [`crate::file_layer::FileLayer::create`]), and maps it; the wrote position is 0.
    pub(crate) fn create(
        layer: &Layer,
        path: &Path,
        start_offset: u64,
        size: usize,
        allocate: bool,
    ) -> Result<MappedFile, StoreError> {
        let file = layer.create(path, size as u64, allocate).map_err(|e| StoreError::io(path, e))?;
        Self::map(layer, path, file, start_offset, size, 0)
    }

    /// Maps an existing file, which must be exactly `size` bytes. The wrote position is set to
    /// the end; recovery then moves it back with [`MappedFile::truncate_tail`].
    pub(crate) fn open(layer: &Layer, path: &Path, start_offset: u64, size: usize) -> Result<MappedFile, StoreError> {
        let io = |e| StoreError::io(path, e);
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len != size as u64 {
            return Err(StoreError::Corrupt {
                file: path.to_path_buf(),
                offset: start_offset,
                reason: format!("file is {len} bytes, expected {size}"),
            });
        }
        Self::map(layer, path, file, start_offset, size, size)
    }

    fn map(
        layer: &Layer,
        path: &Path,
        file: File,
        start_offset: u64,
        size: usize,
        wrote: usize,
    ) -> Result<MappedFile, StoreError> {
        // SAFETY: the file is ours (created or opened read-write by the store, which assumes
        // exclusive use of its directory); nothing truncates it while mapped, so every page of
        // the mapping stays backed.
        let mut mmap = unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io(path, e))?;
        let base = mmap.as_mut_ptr();
        Ok(MappedFile {
            path: path.to_path_buf(),
            file,
            layer: layer.clone(),
            start_offset,
            size,
            mmap,
            base,
            wrote: AtomicUsize::new(wrote),
            flushed: AtomicUsize::new(wrote),
            prefaulted: AtomicUsize::new(wrote),
            prewritten: AtomicUsize::new(wrote),
            append_lock: Mutex::new(()),
        })
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Global offset of the file's first byte (its name).
    pub(crate) fn start_offset(&self) -> u64 {
        self.start_offset
    }

    /// File size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Bytes written (and readable) so far.
    pub(crate) fn wrote(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// Bytes left for appends.
    pub(crate) fn remaining(&self) -> usize {
        self.size - self.wrote()
    }

    /// Appends `data` if it fits; returns the position it was written at.
    pub(crate) fn append(&self, data: &[u8]) -> Option<usize> {
        let _guard = self.append_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = self.wrote.load(Ordering::Acquire);
        if data.len() > self.size - pos {
            return None;
        }
        // SAFETY: [pos, pos + len) is inside the mapping (checked above) and at/above `wrote`,
        // so no reader looks at it and no other writer runs (we hold `append_lock`).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(pos), data.len()) };
        self.wrote.store(pos + data.len(), Ordering::Release);
        Some(pos)
    }

    /// Asks the kernel to map `[from, from + len)` for writing now (page-cache pages and page
    /// tables; contents untouched), so a later append there does not fault. Only pages past the
    /// ones mapped by an earlier call are asked for, and only once a quarter of `len` has
    /// accumulated: asking again for mapped pages costs a page-table walk each. Best effort: an
    /// older kernel's refusal is ignored. Meant for a single caller (the pre-fault thread).
    pub(crate) fn prefault(&self, from: usize, len: usize) {
        let end = from.saturating_add(len).min(self.size);
        let start = self.prefaulted.load(Ordering::Acquire).max(from);
        if start >= end || (end - start < len / 4 && end < self.size) {
            return;
        }
        let _ = self.mmap.advise_range(memmap2::Advice::PopulateWrite, start, end - start);
        self.prefaulted.fetch_max(end, Ordering::AcqRel);
    }

    /// Writes the still-zero pages of `[from, from + len)` out to disk once, in chunks of at
    /// least `chunk` bytes, and maps them for writing again; returns whether it did. A
    /// preallocated block is "unwritten" until data reaches it, and that first write changes
    /// the file's extent tree, which every flush covering it must then sync too (two more disk
    /// writes per flush). Done ahead, once per chunk, a sync flush writes only its own pages.
    /// The zeros written are the file's contents already, so no reader or recovery can tell.
    /// Best effort; meant for a single caller (the pre-fault thread).
    pub(crate) fn prewrite(&self, from: usize, len: usize, chunk: usize) -> bool {
        let end = from.saturating_add(len).min(self.size);
        let start = self.prewritten.load(Ordering::Acquire).max(from);
        // Near the end of the file a shorter last chunk is fine.
        if start >= end || (end - start < chunk && end < self.size) {
            return false;
        }
        let len = end - start;
        let _ = self.mmap.advise_range(memmap2::Advice::PopulateWrite, start, len);
        if self.mmap.flush_range(start, len).is_err() {
            return false;
        }
        // Written out, the pages are clean and write-protected again: map them for writing.
        let _ = self.mmap.advise_range(memmap2::Advice::PopulateWrite, start, len);
        self.prewritten.store(end, Ordering::Release);
        self.prefaulted.fetch_max(end, Ordering::AcqRel);
        true
    }

    /// Tells the kernel that the unwritten rest of the file will be written, not read: no
    /// read-around when a page there first faults. Read-around fills the page cache with large
    /// folios (up to 2 MiB with an 8 MiB `read_ahead_kb`), and a written folio is dirtied and
    /// written back whole: every flush of a few KiB would write 2 MiB. For files flushed a few
    /// KiB at a time only: large flushes are cheaper in large folios. Best effort.
    pub(crate) fn expect_appends(&self) {
        let from = self.wrote();
        if from < self.size {
            let _ = self.mmap.advise_range(memmap2::Advice::Random, from, self.size - from);
        }
    }

    /// Tells the kernel that the file is complete and only read from now on (undoing
    /// [`MappedFile::expect_appends`]): a fault reads ahead again. Best effort.
    pub(crate) fn expect_reads(&self) {
        let _ = self.mmap.advise(memmap2::Advice::Normal);
    }

    /// Marks the file full without writing (after a BLANK record, the rest stays zero).
    pub(crate) fn mark_full(&self) {
        let _guard = self.append_lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.wrote.store(self.size, Ordering::Release);
    }

    /// The written bytes `[pos, pos + len)`, or `None` if any of them is not written yet.
    pub(crate) fn slice(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote() {
            return None;
        }
        // SAFETY: [pos, end) is below `wrote` (Acquire-loaded, pairing with the Release store
        // after the copy), so it is initialised and immutable while `&self` is borrowed.
        Some(unsafe { std::slice::from_raw_parts(self.base.add(pos), len) })
    }

    /// Written bytes not flushed yet.
    pub(crate) fn unflushed(&self) -> usize {
        self.wrote().saturating_sub(self.flushed.load(Ordering::Acquire))
    }

    /// Whether some written bytes are not flushed yet.
    pub(crate) fn is_dirty(&self) -> bool {
        self.flushed.load(Ordering::Acquire) < self.wrote()
    }

    /// Forces written bytes not yet flushed to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let wrote = self.wrote();
        let flushed = self.flushed.load(Ordering::Acquire);
        if let Some(bytes) = self.slice(flushed, wrote.saturating_sub(flushed)).filter(|b| !b.is_empty()) {
            let range = SyncRange::new(&self.path, &self.mmap, flushed, bytes);
            self.layer.sync_range(&range).map_err(|e| StoreError::io(&self.path, e))?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Cuts the file back to `pos` written bytes and zeroes everything after it (by shrinking
    /// and re-extending the file, which turns the tail into a hole without touching its pages).
    pub(crate) fn truncate_tail(&mut self, pos: usize) -> Result<(), StoreError> {
        let pos = pos.min(self.size);
        if pos < self.size {
            let io = |e| StoreError::io(&self.path, e);
            // No reference into the mapping exists (`&mut self`), and the file is re-extended
            // before anything can read the mapping again, so no access faults.
            self.file.set_len(pos as u64).map_err(io)?;
            self.file.set_len(self.size as u64).map_err(io)?;
        }
        *self.wrote.get_mut() = pos;
        *self.flushed.get_mut() = pos;
        *self.prefaulted.get_mut() = pos;
        *self.prewritten.get_mut() = pos;
        Ok(())
    }

    /// Makes the size and tail changes of [`MappedFile::truncate_tail`] durable.
    pub(crate) fn sync_metadata(&self) -> Result<(), StoreError> {
        self.layer.sync_file(&self.path, &self.file).map_err(|e| StoreError::io(&self.path, e))
    }
}

/// A preallocated file mapped as one byte slice that is rewritten in place (IndexFile slots and
/// header). Unlike [`MappedFile`] it has no append protocol: reading needs `&self`, writing
/// `&mut self`, so the owner serializes access (an `RwLock`) and the borrow checker does the rest.
pub(crate) struct MappedRegion {
    path: PathBuf,
    file: File,
    layer: Layer,
    mmap: MmapMut,
}

impl std::fmt::Debug for MappedRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRegion").field("path", &self.path).field("size", &self.mmap.len()).finish()
    }
}

impl MappedRegion {
    /// Creates a new file of `size` zero bytes (sparse) and maps it.
    pub(crate) fn create(layer: &Layer, path: &Path, size: usize) -> Result<MappedRegion, StoreError> {
        let file = layer.create(path, size as u64, false).map_err(|e| StoreError::io(path, e))?;
        Self::map(layer, path, file)
    }

    /// Maps an existing file, which must be exactly `size` bytes.
    pub(crate) fn open(layer: &Layer, path: &Path, size: usize) -> Result<MappedRegion, StoreError> {
        let io = |e| StoreError::io(path, e);
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len != size as u64 {
            return Err(StoreError::Corrupt {
                file: path.to_path_buf(),
                offset: 0,
                reason: format!("file is {len} bytes, expected {size}"),
            });
        }
        Self::map(layer, path, file)
    }

    fn map(layer: &Layer, path: &Path, file: File) -> Result<MappedRegion, StoreError> {
        // SAFETY: as in `MappedFile::map`: the file is the store's own, nothing truncates it
        // while mapped, so every page of the mapping stays backed. All access goes through the
        // safe slice borrows below, so Rust's aliasing rules hold within this process.
        let mmap = unsafe { MmapMut::map_mut(&file) }.map_err(|e| StoreError::io(path, e))?;
        Ok(MappedRegion { path: path.to_path_buf(), file, layer: layer.clone(), mmap })
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.mmap
    }

    /// The whole file, writable.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mmap
    }

    /// Forces the mapping and the file's metadata to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let io = |e| StoreError::io(&self.path, e);
        self.layer.sync_range(&SyncRange::new(&self.path, &self.mmap, 0, &self.mmap)).map_err(io)?;
        self.layer.sync_file(&self.path, &self.file).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::OsFiles;

    fn os() -> Layer {
        std::sync::Arc::new(OsFiles)
    }

    #[test]
    fn append_is_readable_and_bounded_by_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000");
        let file = MappedFile::create(&os(), &path, 0, 16, false).expect("create");
        assert_eq!(file.slice(0, 1), None);
        assert_eq!(file.append(b"hello"), Some(0));
        assert_eq!(file.append(b"world"), Some(5));
        assert_eq!(file.slice(3, 4), Some(&b"lowo"[..]));
        assert_eq!(file.slice(8, 3), None);
        assert_eq!(file.append(&[1; 7]), None);
        assert_eq!(file.append(&[1; 6]), Some(10));
        assert_eq!(file.remaining(), 0);
        assert!(file.is_dirty());
        file.flush().expect("flush");
        assert!(!file.is_dirty());
    }

    #[test]
    fn prefaulting_ahead_leaves_the_contents_as_they_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000");
        let file = MappedFile::create(&os(), &path, 0, 3 * 4096, true).expect("create");
        assert_eq!(file.append(b"hello"), Some(0));
        file.prefault(file.wrote(), 1 << 20); // beyond the end: clamped
        file.prefault(3 * 4096, 10); // nothing left: a no-op
        assert_eq!(file.append(b"world"), Some(5));
        assert_eq!(file.slice(0, 10), Some(&b"helloworld"[..]));
        file.flush().expect("flush");
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(&on_disk[..10], b"helloworld");
        assert!(on_disk[10..].iter().all(|&b| b == 0), "the pre-faulted pages stay zero");
    }

    /// The `VmFlags` of the mapping holding `addr`, from `/proc/self/smaps`.
    fn vm_flags(addr: *const u8) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ').filter(|(r, _)| r.contains('-')) {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                        inside = (lo..hi).contains(&(addr as usize));
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags.trim().to_string();
                }
            }
        }
        panic!("no mapping holds {addr:?}");
    }

    #[test]
    fn a_file_expecting_appends_is_not_read_ahead_until_it_is_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000");
        let file = MappedFile::create(&os(), &path, 0, 64 * 4096, true).expect("create");
        let random = |f: &MappedFile| vm_flags(f.base).split(' ').any(|flag| flag == "rr");
        assert!(!random(&file), "files read ahead unless told otherwise");
        file.expect_appends();
        assert!(random(&file), "the pages ahead are faulted one by one, never as large folios");
        file.expect_reads();
        assert!(!random(&file), "a complete file reads ahead again");
    }

    #[test]
    fn prewriting_leaves_the_contents_and_goes_by_whole_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000");
        let file = MappedFile::create(&os(), &path, 0, 16 * 4096, true).expect("create");
        assert_eq!(file.append(b"hello"), Some(0));
        assert!(file.prewrite(file.wrote(), 8 * 4096, 4 * 4096), "8 pages ahead, chunks of 4");
        assert!(!file.prewrite(file.wrote(), 8 * 4096, 4 * 4096), "nothing new ahead yet");
        assert_eq!(file.append(&[7u8; 4096 * 5]), Some(5));
        assert!(file.prewrite(file.wrote(), 8 * 4096, 4 * 4096), "a chunk's worth of new pages ahead");
        assert!(file.prewrite(file.wrote(), 1 << 20, 1 << 20), "the end of the file is a chunk of its own");
        assert!(!file.prewrite(file.wrote(), 1 << 20, 1 << 20), "the whole file is written out");
        assert_eq!(file.slice(0, 5), Some(&b"hello"[..]));
        file.flush().expect("flush");
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(&on_disk[..5], b"hello");
        assert!(on_disk[5..5 + 4096 * 5].iter().all(|&b| b == 7));
        assert!(on_disk[5 + 4096 * 5..].iter().all(|&b| b == 0), "the pages ahead stay zero");
    }

    #[test]
    fn allocated_files_are_not_sparse() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000");
        let file = MappedFile::create(&os(), &path, 0, 1 << 20, true).expect("create");
        let meta = std::fs::metadata(&path).expect("metadata");
        assert_eq!(meta.len(), 1 << 20);
        assert!(meta.blocks() * 512 >= 1 << 20, "{} blocks allocated", meta.blocks());
        drop(file);
        assert!(
            matches!(MappedFile::create(&os(), &path, 0, 4096, true), Err(StoreError::Io { .. })),
            "never overwrites"
        );
    }

    #[test]
    fn reopen_checks_length_and_truncate_zeroes_the_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000004096");
        {
            let file = MappedFile::create(&os(), &path, 4096, 4096, false).expect("create");
            file.append(&[7; 100]).expect("fits");
            file.flush().expect("flush");
        }
        let mut file = MappedFile::open(&os(), &path, 4096, 4096).expect("open");
        assert_eq!(file.wrote(), 4096);
        assert_eq!(file.slice(99, 1), Some(&[7][..]));
        file.truncate_tail(50).expect("truncate");
        assert_eq!(file.wrote(), 50);
        file.append(&[1]).expect("fits");
        file.mark_full();
        assert_eq!(file.slice(49, 3), Some(&[7, 1, 0][..]));
        drop(file);
        assert!(matches!(MappedFile::open(&os(), &path, 4096, 8192), Err(StoreError::Corrupt { .. })));
    }
}

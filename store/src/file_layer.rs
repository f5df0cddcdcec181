//! The file layer under the store: creating its files and making what was written to them
//! durable. Writes go straight into the shared mappings (`mapped_file`), so appends cost a
//! memcpy and never call this layer; bytes are on disk for sure only once the layer has synced
//! them. [`OsFiles`] is the real layer; tests open the store on another one
//! ([`crate::MessageStore::open_with_files`]) that simulates a power cut.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Arc;

use memmap2::MmapMut;

/// The layer as the store's files hold it.
pub(crate) type Layer = Arc<dyn FileLayer>;

/// Bytes of a mapped store file to be made durable: [`SyncRange::bytes`] sit at
/// [`SyncRange::pos`] in the file at [`SyncRange::path`], already written through a shared
/// mapping, and do not change while the range is borrowed.
pub struct SyncRange<'a> {
    path: &'a Path,
    map: &'a MmapMut,
    pos: usize,
    bytes: &'a [u8],
}

impl fmt::Debug for SyncRange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncRange")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl<'a> SyncRange<'a> {
    /// `bytes` must be `map[pos..pos + bytes.len()]`.
    pub(crate) fn new(path: &'a Path, map: &'a MmapMut, pos: usize, bytes: &'a [u8]) -> SyncRange<'a> {
        SyncRange { path, map, pos, bytes }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.path
    }

    /// Position of the first byte in the file.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes as written.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    /// Writes the range's pages back to the file and waits for the disk (`msync(MS_SYNC)`).
    pub fn msync(&self) -> io::Result<()> {
        self.map.flush_range(self.pos, self.bytes.len())
    }
}

/// The operations that decide what a power cut leaves of the store's files. Reading, opening
/// and deleting go straight to the file system: a deletion that no [`FileLayer::sync_dir`]
/// followed may be undone by a power cut, which recovery tolerates.
pub trait FileLayer: Send + Sync + fmt::Debug {
    /// Creates `path`, which must not exist, as `len` zero bytes, open for reading and writing.
    /// With `allocate` its disk blocks are reserved up front, so a full disk fails here rather
    /// than as a SIGBUS on first touch of a mapped page. On failure no file is left behind.
    fn create(&self, path: &Path, len: u64, allocate: bool) -> io::Result<File>;

    /// Makes `range` durable.
    fn sync_range(&self, range: &SyncRange<'_>) -> io::Result<()>;

    /// Makes everything written to `file` (at `path`) and its length durable (`fdatasync`).
    fn sync_file(&self, path: &Path, file: &File) -> io::Result<()>;

    /// Makes the names created in and removed from directory `dir` durable (`fsync` of the
    /// directory); until then a power cut may undo them.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The operating system's files: the layer of a production store.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsFiles;

impl FileLayer for OsFiles {
    fn create(&self, path: &Path, len: u64, allocate: bool) -> io::Result<File> {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path)?;
        let sized = if allocate {
            match rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, len) {
                Err(e) if e == rustix::io::Errno::OPNOTSUPP => {
                    tracing::warn!(path = %path.display(), "file system cannot preallocate; the store file stays sparse");
                    file.set_len(len)
                }
                other => other.map_err(io::Error::from),
            }
        } else {
            file.set_len(len)
        };
        if let Err(e) = sized {
            drop(file);
            if let Err(rm) = std::fs::remove_file(path) {
                tracing::warn!(path = %path.display(), error = %rm, "removing a store file that could not be sized failed");
            }
            return Err(e);
        }
        Ok(file)
    }

    fn sync_range(&self, range: &SyncRange<'_>) -> io::Result<()> {
        range.msync()
    }

    fn sync_file(&self, _path: &Path, file: &File) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

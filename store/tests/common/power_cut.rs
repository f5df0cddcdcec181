//! [`PowerCut`]: a [`FileLayer`] that simulates a power cut. It keeps, per file, the bytes a
//! power cut would leave (what was synced) and per directory the names that were synced;
//! [`PowerCut::restore`] writes that state over the real files, optionally plus a torn write.
//!
//! The store writes through shared mappings, i.e. into the page cache, so the layer does not see
//! writes one by one: the unsynced writes of a file are exactly where its live content differs
//! from its durable copy. A sync copies the synced bytes into the durable copy (no real
//! `msync`: the real files are overwritten on restore anyway). The model, strictest POSIX:
//! - a file's bytes survive only as synced (`sync_range`, `sync_file`); created files start as
//!   zeros (preallocated);
//! - a created or deleted name survives only after its directory is synced (`sync_dir`); a name
//!   deleted without that comes back with its durable bytes; directories themselves survive;
//! - the power goes out at one instant ([`PowerCut::crash`], or at the n-th sync,
//!   [`PowerCut::crash_at_sync`], which then does not happen); later syncs are ignored;
//! - a torn restore also keeps, in each file, a random-length prefix of the unsynced span (first
//!   to last byte differing from the durable copy) as it was at the power cut: pages written
//!   back in order, the last one torn at a random byte.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rmq_store::{FileLayer, OsFiles, SyncRange};

/// A small deterministic random generator (SplitMix64), so a failing seed can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One file's content as a power cut leaves it.
#[derive(Debug)]
struct Inode {
    durable: Vec<u8>,
    /// Live content at the power cut (for torn restores), if the file was still there.
    at_crash: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    inodes: Vec<Inode>,
    /// Names as the store sees them → inode.
    live: BTreeMap<PathBuf, usize>,
    /// Names a power cut keeps → inode.
    durable: BTreeMap<PathBuf, usize>,
    syncs: u64,
    crash_at_sync: Option<u64>,
}

/// The simulation; see the module doc. Shared with the store as its file layer.
#[derive(Debug)]
pub struct PowerCut {
    state: Mutex<State>,
    crashed: AtomicBool,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

impl PowerCut {
    /// A simulation over the store at `root`, whose current files all count as durable.
    pub fn new(root: &Path) -> std::sync::Arc<PowerCut> {
        let mut state = State::default();
        let mut paths = Vec::new();
        if root.exists() {
            walk(root, &mut paths).expect("list store files");
        }
        for path in paths {
            let durable = fs::read(&path).expect("read store file");
            state.inodes.push(Inode { durable, at_crash: None });
            state.live.insert(path.clone(), state.inodes.len() - 1);
            state.durable.insert(path, state.inodes.len() - 1);
        }
        std::sync::Arc::new(PowerCut { state: Mutex::new(state), crashed: AtomicBool::new(false) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the power is out. A put that returned before this turned true had its syncs
    /// counted; one that returned after may not have.
    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Syncs seen so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// The power goes out now.
    pub fn crash(&self) {
        let mut state = self.lock();
        self.cut(&mut state);
    }

    /// The power goes out at the `n`-th sync from now (1 = the next one), before it happens.
    pub fn crash_at_sync(&self, n: u64) {
        let mut state = self.lock();
        state.crash_at_sync = Some(state.syncs + n.max(1));
    }

    fn cut(&self, state: &mut State) {
        if self.crashed.swap(true, Ordering::SeqCst) {
            return;
        }
        let State { inodes, live, durable, .. } = state;
        for (path, ino) in durable.iter() {
            if live.get(path) == Some(ino) {
                inodes[*ino].at_crash = fs::read(path).ok();
            }
        }
    }

    /// Counts a sync; false if it does not happen because the power is (now) out.
    fn sync_happens(&self, state: &mut State) -> bool {
        if self.crashed() {
            return false;
        }
        state.syncs += 1;
        if state.crash_at_sync.is_some_and(|at| state.syncs >= at) {
            self.cut(state);
            return false;
        }
        true
    }

    /// Writes what the power cut left over the real files (the store must be dropped):
    /// durable names get their durable bytes (with `torn`, plus a random prefix of their unsynced
    /// span), other names are removed. Cuts the power first if it is still on. Returns a short
    /// description for failure messages.
    pub fn restore(&self, mut torn: Option<&mut Rng>) -> String {
        let mut state = self.lock();
        self.cut(&mut state);
        let (mut kept, mut removed, mut tears) = (0, 0, Vec::new());
        let names: BTreeSet<PathBuf> = state.live.keys().chain(state.durable.keys()).cloned().collect();
        for path in names {
            let Some(&ino) = state.durable.get(&path) else {
                if path.exists() {
                    fs::remove_file(&path).expect("remove file the power cut undoes");
                    removed += 1;
                }
                continue;
            };
            let inode = &state.inodes[ino];
            let mut bytes = inode.durable.clone();
            if let (Some(rng), Some(live)) = (torn.as_deref_mut(), &inode.at_crash) {
                let len = bytes.len().min(live.len());
                let differs = |i: &usize| bytes[*i] != live[*i];
                if let (Some(first), Some(last)) = ((0..len).find(differs), (0..len).rev().find(differs)) {
                    let keep = rng.below((last - first + 2) as u64) as usize;
                    bytes[first..first + keep].copy_from_slice(&live[first..first + keep]);
                    tears.push(format!("{}: {keep} of {} unsynced bytes at {first}", path.display(), last - first + 1));
                }
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("recreate directory");
            }
            fs::write(&path, &bytes).expect("write durable content");
            kept += 1;
        }
        format!("{kept} files kept, {removed} removed, torn: [{}]", tears.join("; "))
    }
}

impl FileLayer for PowerCut {
    fn create(&self, path: &Path, len: u64, allocate: bool) -> io::Result<File> {
        let file = OsFiles.create(path, len, allocate)?;
        let mut state = self.lock();
        let size = usize::try_from(len).map_err(io::Error::other)?;
        state.inodes.push(Inode { durable: vec![0; size], at_crash: None });
        let ino = state.inodes.len() - 1;
        state.live.insert(path.to_path_buf(), ino);
        Ok(file)
    }

    fn sync_range(&self, range: &SyncRange<'_>) -> io::Result<()> {
        let mut state = self.lock();
        if !self.sync_happens(&mut state) {
            return Ok(());
        }
        let ino = *state.live.get(range.path()).ok_or_else(|| unknown(range.path()))?;
        let durable = &mut state.inodes[ino].durable;
        let end = range.pos() + range.bytes().len();
        if durable.len() < end {
            durable.resize(end, 0);
        }
        durable[range.pos()..end].copy_from_slice(range.bytes());
        Ok(())
    }

    fn sync_file(&self, path: &Path, _file: &File) -> io::Result<()> {
        let mut state = self.lock();
        if !self.sync_happens(&mut state) {
            return Ok(());
        }
        let ino = *state.live.get(path).ok_or_else(|| unknown(path))?;
        state.inodes[ino].durable = fs::read(path)?;
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.lock();
        if !self.sync_happens(&mut state) {
            return Ok(());
        }
        let in_dir: Vec<(PathBuf, usize)> =
            state.live.iter().filter(|(p, _)| p.parent() == Some(dir)).map(|(p, i)| (p.clone(), *i)).collect();
        for (path, ino) in in_dir {
            if path.exists() {
                state.durable.insert(path, ino);
            } else {
                state.durable.remove(&path);
                state.live.remove(&path);
            }
        }
        Ok(())
    }
}

fn unknown(path: &Path) -> io::Error {
    io::Error::other(format!("power-cut simulation: {} was not created through it", path.display()))
}

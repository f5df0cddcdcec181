//! One IndexFile (Apache `IndexFile`): the header, `slots` hash slots of i32 (number of the
//! newest entry of the bucket, 0 = empty) and `entries` entries of 20 bytes
//! (keyHash i32, phyOffset i64, timeDiff i32 seconds since beginTimestamp, prevIndex i32), all
//! big-endian. Entry 0 is never used, so a file holds `entries - 1` keys.
//!
//! Writers (one at a time: the store's put lock) and readers share the mapping through an
//! `RwLock`. Chain walks only move to strictly older entries, so a damaged file cannot loop.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::header::{IndexHeader, HEADER_LEN};
use crate::error::StoreError;
use crate::file_layer::Layer;
use crate::mapped_file::MappedRegion;

/// Bytes of one hash slot.
const SLOT_LEN: usize = 4;
/// Bytes of one entry.
const ENTRY_LEN: usize = 20;
/// An entry's stored time is its real store time rounded down to a second after the file's
/// begin; the real time is at most this much later.
const TIME_SLACK_MS: i64 = 999;

/// Size of a file with `slots` hash slots and `entries` entries.
pub(crate) fn file_len(slots: u32, entries: u32) -> usize {
    HEADER_LEN + slots as usize * SLOT_LEN + entries as usize * ENTRY_LEN
}

/// One stored entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key_hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev: i32,
}

fn get_i32(bytes: &[u8], pos: usize) -> i32 {
    let mut buf = [0; 4];
    buf.copy_from_slice(&bytes[pos..pos + 4]);
    i32::from_be_bytes(buf)
}

fn put_i32(bytes: &mut [u8], pos: usize, value: i32) {
    bytes[pos..pos + 4].copy_from_slice(&value.to_be_bytes());
}

/// The mapping and the in-memory copy of its header.
#[derive(Debug)]
struct Inner {
    region: MappedRegion,
    header: IndexHeader,
}

/// One IndexFile.
#[derive(Debug)]
pub(crate) struct IndexFile {
    name: String,
    slots: u32,
    entries: u32,
    inner: RwLock<Inner>,
}

impl IndexFile {
    /// Creates `dir/name`, continuing after a file that ended at `prev_end` =
    /// (endPhyOffset, endTimestamp), or (0, 0) for the first file.
    pub(crate) fn create(
        layer: &Layer,
        dir: &Path,
        name: &str,
        slots: u32,
        entries: u32,
        prev_end: (i64, i64),
    ) -> Result<IndexFile, StoreError> {
        let mut region = MappedRegion::create(layer, &dir.join(name), file_len(slots, entries))?;
        let header = IndexHeader::new(prev_end.0, prev_end.1);
        header.write(region.bytes_mut());
        Ok(IndexFile { name: name.to_owned(), slots, entries, inner: RwLock::new(Inner { region, header }) })
    }

    /// Maps an existing file; its size must match the geometry and its index count be in range.
    pub(crate) fn open(
        layer: &Layer,
        dir: &Path,
        name: &str,
        slots: u32,
        entries: u32,
    ) -> Result<IndexFile, StoreError> {
        let path = dir.join(name);
        let region = MappedRegion::open(layer, &path, file_len(slots, entries))?;
        let header = IndexHeader::read(region.bytes());
        if u32::try_from(header.index_count).map_or(true, |count| count > entries) {
            return Err(StoreError::Corrupt {
                file: path,
                offset: 36,
                reason: format!("index count {} exceeds {entries}", header.index_count),
            });
        }
        Ok(IndexFile { name: name.to_owned(), slots, entries, inner: RwLock::new(Inner { region, header }) })
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The file name (its creation time).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A copy of the header.
    pub(crate) fn header(&self) -> IndexHeader {
        self.read().header
    }

    fn slot_pos(&self, key_hash: i32) -> usize {
        HEADER_LEN + (key_hash.unsigned_abs() % self.slots) as usize * SLOT_LEN
    }

    /// Position of entry `n` (`n < entries`, checked by the callers against the index count).
    fn entry_pos(&self, n: i32) -> usize {
        HEADER_LEN + self.slots as usize * SLOT_LEN + n.unsigned_abs() as usize * ENTRY_LEN
    }

    fn entry(&self, bytes: &[u8], n: i32) -> Entry {
        let pos = self.entry_pos(n);
        let mut offset = [0; 8];
        offset.copy_from_slice(&bytes[pos + 4..pos + 12]);
        Entry {
            key_hash: get_i32(bytes, pos),
            phy_offset: i64::from_be_bytes(offset),
            time_diff: get_i32(bytes, pos + 12),
            prev: get_i32(bytes, pos + 16),
        }
    }

    /// Adds a key (`key_hash` ≥ 0) for the message at `phy_offset`; `false` if the file is full.
    pub(crate) fn put(&self, key_hash: i32, phy_offset: i64, store_timestamp: i64) -> bool {
        let mut guard = self.write();
        let Inner { region, header } = &mut *guard;
        let count = header.index_count;
        if u32::try_from(count).map_or(true, |count| count >= self.entries) {
            return false;
        }
        if count <= 1 {
            header.begin_phy_offset = phy_offset;
            header.begin_timestamp = store_timestamp;
        }
        let bytes = region.bytes_mut();
        let slot_pos = self.slot_pos(key_hash);
        let head = Some(get_i32(bytes, slot_pos)).filter(|head| *head > 0 && *head < count).unwrap_or(0);
        let time_diff = if header.begin_timestamp <= 0 {
            0
        } else {
            (store_timestamp.saturating_sub(header.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX)) as i32
        };
        let pos = self.entry_pos(count);
        bytes[pos..pos + 4].copy_from_slice(&key_hash.to_be_bytes());
        bytes[pos + 4..pos + 12].copy_from_slice(&phy_offset.to_be_bytes());
        put_i32(bytes, pos + 12, time_diff);
        put_i32(bytes, pos + 16, head);
        put_i32(bytes, slot_pos, count);
        if head == 0 {
            header.hash_slot_count = header.hash_slot_count.saturating_add(1);
        }
        header.index_count = count + 1;
        header.end_phy_offset = phy_offset;
        header.end_timestamp = store_timestamp;
        header.write(bytes);
        true
    }

    /// Walks the chain of `key_hash`'s slot, newest first, calling `visit` with the CommitLog
    /// offset of every entry with that hash whose store time may lie in `[begin, end]` (the
    /// stored time has one-second precision; callers check the record's exact time). Stops at
    /// the first entry older than `begin`. Returns `false` if `visit` asked to stop.
    pub(crate) fn select(&self, key_hash: i32, begin: i64, end: i64, visit: &mut dyn FnMut(i64) -> bool) -> bool {
        let guard = self.read();
        let (bytes, header) = (guard.region.bytes(), guard.header);
        let count = header.index_count;
        let mut next = get_i32(bytes, self.slot_pos(key_hash));
        while next > 0 && next < count {
            let entry = self.entry(bytes, next);
            if entry.time_diff < 0 {
                break;
            }
            let time = header.begin_timestamp.saturating_add(i64::from(entry.time_diff) * 1000);
            let may_match = time <= end && time.saturating_add(TIME_SLACK_MS) >= begin;
            if entry.key_hash == key_hash && may_match && !visit(entry.phy_offset) {
                return false;
            }
            if time.saturating_add(TIME_SLACK_MS) < begin || entry.prev >= next {
                break;
            }
            next = entry.prev;
        }
        true
    }

    /// Removes the newest entries (entries are added in CommitLog order) that do not point at a
    /// message stored in CommitLog offsets `[min, end)`: entries of messages at or beyond `end`,
    /// and entries a power cut left unwritten or torn behind a header that reached the disk.
    /// `store_time` gives the STORETIMESTAMP of the message starting at an offset, if one does;
    /// entries below `min` cannot be checked and are kept. After an abnormal stop (`suspect`)
    /// the entries of the newest message go too: one of them may be torn in its chain link,
    /// which no check can see (re-dispatch indexes the message again). Slot updates of removed
    /// entries are undone through their links, or after an abnormal stop (and for unwritten
    /// entries) by relinking the slots to the newest kept entry of their bucket; the header's
    /// end is set from the last kept entry. Returns how many entries were removed.
    pub(crate) fn truncate(
        &self,
        (min, end): (i64, i64),
        suspect: bool,
        store_time: &dyn Fn(i64) -> Option<i64>,
    ) -> usize {
        let mut guard = self.write();
        let Inner { region, header } = &mut *guard;
        let bytes = region.bytes_mut();
        let (mut removed, mut lost_links, mut dropped) = (0, false, None);
        while header.has_entries() {
            let last = header.index_count - 1;
            let entry = self.entry(bytes, last);
            let written = entry.key_hash != 0 || entry.phy_offset != 0 || entry.time_diff != 0 || entry.prev != 0;
            // Entries are added in CommitLog order: one below its predecessor is torn.
            let in_order = last <= 1 || entry.phy_offset >= self.entry(bytes, last - 1).phy_offset;
            let time = header.begin_timestamp.saturating_add(i64::from(entry.time_diff.max(0)) * 1000);
            let stored = match entry.phy_offset {
                offset if !written || !in_order || offset >= end => None,
                offset if offset < min => Some(time + TIME_SLACK_MS),
                offset => store_time(offset),
            };
            if suspect && stored.is_some() && dropped.is_none() {
                dropped = Some(entry.phy_offset);
            }
            let trusted = dropped != Some(entry.phy_offset);
            if let Some(stored) = stored.filter(|_| trusted) {
                if removed > 0 || header.end_phy_offset != entry.phy_offset {
                    header.end_phy_offset = entry.phy_offset;
                    header.end_timestamp = stored;
                }
                break;
            }
            let slot_pos = self.slot_pos(entry.key_hash);
            // After an abnormal stop any removed entry may be the torn one: its link is not
            // followed, its slot is relinked from the kept entries instead.
            if !suspect && written && in_order && get_i32(bytes, slot_pos) == last {
                let prev = if entry.prev > 0 && entry.prev < last { entry.prev } else { 0 };
                put_i32(bytes, slot_pos, prev);
                if prev == 0 {
                    header.hash_slot_count = (header.hash_slot_count - 1).max(0);
                }
            } else {
                lost_links = true;
            }
            let pos = self.entry_pos(last);
            bytes[pos..pos + ENTRY_LEN].fill(0);
            header.index_count = last;
            removed += 1;
        }
        if lost_links {
            self.relink_slots(bytes, header);
        }
        header.write(bytes);
        removed
    }

    /// Points every slot left pointing at a removed entry (its key hash unknown: a torn or
    /// unwritten entry) at the newest kept entry of its bucket, or empties it.
    fn relink_slots(&self, bytes: &mut [u8], header: &mut IndexHeader) {
        let count = header.index_count;
        let mut broken: HashSet<usize> =
            (0..self.slots as usize).filter(|s| get_i32(bytes, HEADER_LEN + s * SLOT_LEN) >= count).collect();
        let broken_before = broken.len();
        for n in (1..count).rev() {
            if broken.is_empty() {
                break;
            }
            let slot_pos = self.slot_pos(self.entry(bytes, n).key_hash);
            if broken.remove(&((slot_pos - HEADER_LEN) / SLOT_LEN)) {
                put_i32(bytes, slot_pos, n);
            }
        }
        for slot in &broken {
            put_i32(bytes, HEADER_LEN + slot * SLOT_LEN, 0);
        }
        let emptied = broken.len();
        header.hash_slot_count = (header.hash_slot_count - emptied as i32).max(0);
        tracing::warn!(file = %self.name, relinked = broken_before - emptied, emptied, "relinked index slots after lost entries");
    }

    /// Forces the file to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.read().region.flush()
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> std::path::PathBuf {
        self.read().region.path().to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::OsFiles;

    fn os() -> Layer {
        std::sync::Arc::new(OsFiles)
    }

    fn offsets(file: &IndexFile, hash: i32, begin: i64, end: i64) -> Vec<i64> {
        let mut found = Vec::new();
        file.select(hash, begin, end, &mut |offset| {
            found.push(offset);
            true
        });
        found
    }

    #[test]
    fn chains_return_matching_hashes_newest_first_until_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = IndexFile::create(&os(), dir.path(), "f", 2, 5, (0, 0)).expect("create");
        let t = 1_700_000_000_000;
        assert!(file.put(7, 100, t));
        assert!(file.put(9, 200, t + 1500)); // same slot as 7 (mod 2), other hash
        assert!(file.put(7, 300, t + 2500));
        assert!(file.put(8, 400, t + 3000));
        assert!(!file.put(7, 500, t + 4000), "4 keys fill a 5-entry file");
        assert_eq!(offsets(&file, 7, 0, i64::MAX), vec![300, 100]);
        assert_eq!(offsets(&file, 9, 0, i64::MAX), vec![200]);
        assert_eq!(offsets(&file, 7, t + 2000, i64::MAX), vec![300]);
        assert_eq!(offsets(&file, 7, 0, t + 1000), vec![100]);
        let header = file.header();
        assert_eq!((header.begin_phy_offset, header.end_phy_offset, header.index_count), (100, 400, 5));
        assert_eq!((header.begin_timestamp, header.end_timestamp, header.hash_slot_count), (t, t + 3000, 2));
    }

    #[test]
    fn truncate_unlinks_the_newest_entries_and_reopen_sees_the_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = 1_700_000_000_000;
        {
            let file = IndexFile::create(&os(), dir.path(), "f", 4, 10, (0, 0)).expect("create");
            for (i, hash) in [3, 3, 5, 3, 5].into_iter().enumerate() {
                assert!(file.put(hash, 100 * (i as i64 + 1), t + 1000 * i as i64));
            }
            assert_eq!(file.truncate((0, 300), false, &|offset| Some(t + offset)), 3);
            assert_eq!(offsets(&file, 3, 0, i64::MAX), vec![200, 100]);
            assert!(file.put(3, 600, t + 9000));
            file.flush().expect("flush");
        }
        let file = IndexFile::open(&os(), dir.path(), "f", 4, 10).expect("open");
        assert_eq!(offsets(&file, 3, 0, i64::MAX), vec![600, 200, 100]);
        assert_eq!(offsets(&file, 5, 0, i64::MAX), Vec::<i64>::new());
        assert_eq!(file.header().index_count, 4);
        assert_eq!(file.truncate((0, 0), false, &|_| None), 3);
        assert!(!file.header().has_entries());
        assert!(matches!(IndexFile::open(&os(), dir.path(), "f", 4, 11), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn truncate_drops_entries_a_power_cut_left_behind_the_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = 1_700_000_000_000;
        let file = IndexFile::create(&os(), dir.path(), "f", 4, 10, (0, 0)).expect("create");
        for (i, hash) in [3, 5, 3, 5].into_iter().enumerate() {
            assert!(file.put(hash, 100 * (i as i64 + 1), t + 1000 * i as i64));
        }
        {
            // The header (count 5, end 400) reached the disk; entry 4 never did, entry 3 is torn.
            let mut guard = file.write();
            let (three, four) = (file.entry_pos(3), file.entry_pos(4));
            let bytes = guard.region.bytes_mut();
            bytes[four..four + ENTRY_LEN].fill(0);
            bytes[three + 10..three + ENTRY_LEN].fill(0);
        }
        let records = |offset: i64| (offset % 100 == 0).then_some(t + offset);
        assert_eq!(file.truncate((0, 10_000), false, &records), 2);
        let header = file.header();
        assert_eq!((header.end_phy_offset, header.end_timestamp, header.index_count), (200, t + 200, 3));
        assert_eq!(offsets(&file, 5, 0, i64::MAX), vec![200]);
        assert_eq!(offsets(&file, 3, 0, i64::MAX), vec![100]);
        assert_eq!(file.truncate((0, 10_000), false, &records), 0, "a whole tail is kept");
        // After an abnormal stop the newest message's entries go too, its slot relinked.
        assert_eq!(file.truncate((0, 10_000), true, &records), 1);
        assert_eq!(offsets(&file, 5, 0, i64::MAX), Vec::<i64>::new());
        assert_eq!(offsets(&file, 3, 0, i64::MAX), vec![100]);
        assert_eq!(file.header().end_phy_offset, 100);
    }

    #[test]
    fn after_an_abnormal_stop_removed_entries_are_unlinked_without_trusting_their_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = 1_700_000_000_000;
        let file = IndexFile::create(&os(), dir.path(), "f", 4, 10, (0, 0)).expect("create");
        for offset in [100, 200, 300] {
            assert!(file.put(3, offset, t + offset));
        }
        {
            // Entry 3 (beyond the end) lost its link to entry 2 in a torn write.
            let mut guard = file.write();
            let three = file.entry_pos(3);
            guard.region.bytes_mut()[three + 16..three + ENTRY_LEN].fill(0);
        }
        let records = |offset: i64| (offset % 100 == 0).then_some(t + offset);
        // The newest kept message (200) goes too; the chain still reaches the rest.
        assert_eq!(file.truncate((0, 250), true, &records), 2);
        assert_eq!(offsets(&file, 3, 0, i64::MAX), vec![100]);
        assert_eq!(file.header().end_phy_offset, 100);
    }
}

//! The startup scan of the CommitLog: find the end of the valid records and cut the torn tail,
//! then let the store re-dispatch records to the ConsumeQueues.
//!
//! A record is valid when its magic is V1/V2, TOTALSIZE fits in the file, the length computed
//! from its fields equals TOTALSIZE, its PHYSICALOFFSET is its own position, its topic is UTF-8
//! and (in the first pass) its body CRC matches. A BLANK record must cover exactly the rest of
//! its file and moves the scan to the next file. The first invalid position is the end.
//!
//! A torn write leaves a record's prefix followed by zeros. BODYCRC covers only the body, so a
//! record torn inside its properties passes every check above; but writers end each property
//! with the `\x02` separator, so the last record of the log whose properties end in a zero byte
//! is cut as torn too (only the last: a record followed by valid ones was written whole).

use rmq_remoting::message::record::{read_size_and_magic, RecordView, BLANK_LEN, MAGIC_BLANK};

use super::CommitLog;
use crate::error::StoreError;

/// What sits at one position of a CommitLog file.
enum Step<'a> {
    Record(RecordView<'a>, usize),
    Blank,
    End(Option<String>),
}

/// Classifies the bytes `rest` found at global `offset`, `to_file_end` bytes before the end of
/// its file.
fn step(rest: &[u8], offset: i64, to_file_end: usize, check_crc: bool) -> Step<'_> {
    if rest.len() < BLANK_LEN {
        let len = rest.len();
        return Step::End((len > 0).then(|| format!("{len} bytes left, no room for a record")));
    }
    let Ok((total, magic)) = read_size_and_magic(rest) else { return Step::End(None) };
    if magic == MAGIC_BLANK {
        return if usize::try_from(total).ok() == Some(to_file_end) {
            Step::Blank
        } else {
            Step::End(Some(format!("BLANK record of {total} bytes with {to_file_end} left in the file")))
        };
    }
    if total == 0 && magic == 0 {
        return Step::End(None); // preallocated zeros: the normal end
    }
    let (view, len) = match RecordView::parse(rest) {
        Ok(parsed) => parsed,
        Err(e) => return Step::End(Some(e.to_string())),
    };
    if check_crc {
        if let Err(e) = view.verify_crc() {
            return Step::End(Some(e.to_string()));
        }
    }
    if view.header.physical_offset != offset {
        return Step::End(Some(format!("PHYSICALOFFSET {} at offset {offset}", view.header.physical_offset)));
    }
    if view.topic_str().is_err() {
        return Step::End(Some("topic is not UTF-8".into()));
    }
    Step::Record(view, len)
}

impl CommitLog {
    /// Visits every valid record from `from` (a record boundary) in order and returns the
    /// offset just past the last valid one (the recovered end).
    pub(crate) fn walk(&self, from: i64, check_crc: bool, mut visit: impl FnMut(i64, &RecordView<'_>)) -> i64 {
        let files = self.files.files();
        let Some(first) = files.first() else { return 0 };
        let file_size = self.file_size() as u64;
        let mut offset = u64::try_from(from).unwrap_or(0).max(first.start_offset());
        loop {
            let index = ((offset - first.start_offset()) / file_size) as usize;
            let Some(file) = files.get(index) else { return offset as i64 };
            let pos = (offset - file.start_offset()) as usize;
            let rest = file.slice(pos, file.wrote().saturating_sub(pos)).unwrap_or_default();
            match step(rest, offset as i64, file.size() - pos, check_crc) {
                Step::Record(view, len) => {
                    visit(offset as i64, &view);
                    offset += len as u64;
                }
                Step::Blank => offset = file.start_offset() + file_size,
                Step::End(reason) => {
                    if let Some(reason) = reason {
                        tracing::warn!(offset, file = %file.path().display(), %reason,
                            "found a half or corrupt CommitLog record; it and everything after it will be truncated");
                    }
                    return offset as i64;
                }
            }
        }
    }

    /// Finds the end of the valid records (checking body CRCs), scanning from `from` (a record
    /// boundary: the first file after a crash, a late file after a clean shutdown), and cuts
    /// everything after it: the rest of its file is zeroed and later files are deleted. Returns
    /// the end offset.
    pub(crate) fn recover(&mut self, from: i64) -> Result<i64, StoreError> {
        let mut last = None;
        let mut end = self.walk(from, true, |offset, view| {
            last = Some((offset, view.header.total_size, view.properties.last() == Some(&0)));
        });
        if let Some((offset, size, true)) = last.filter(|(offset, size, _)| offset + i64::from(*size) == end) {
            tracing::warn!(
                offset,
                size,
                "the last CommitLog record has a zero-filled properties tail (a torn write); it will be truncated"
            );
            end = offset;
        }
        let before = self.files.files().last().map_or(0, |f| f.start_offset() + f.size() as u64);
        self.files.truncate(end as u64, true)?;
        tracing::info!(min = self.min_offset(), from, end, files_end = before, "CommitLog recovered");
        Ok(end)
    }
}

impl CommitLog {
    /// Cuts the log back to `offset`, which must be a record boundary at or above the min offset
    /// (checked by walking its file), durably; returns the new end. An offset at or beyond the
    /// end changes nothing.
    pub(crate) fn cut_back(&mut self, offset: i64) -> Result<i64, StoreError> {
        let end = self.max_offset();
        if offset >= end {
            return Ok(end);
        }
        let refuse = |reason: String| StoreError::Corrupt { file: "commitlog".into(), offset: offset as u64, reason };
        if offset < self.min_offset() {
            return Err(refuse(format!("below the min offset {}", self.min_offset())));
        }
        let mut boundary = offset % self.file_size() as i64 == 0;
        self.walk(self.file_start_of(offset), false, |at, view| {
            boundary |= at == offset || at + i64::from(view.header.total_size) == offset;
        });
        if !boundary {
            return Err(refuse("not a record boundary".into()));
        }
        tracing::warn!(from = end, to = offset, "cutting the CommitLog back for replication");
        self.files.truncate(offset as u64, true)?;
        Ok(offset)
    }
}

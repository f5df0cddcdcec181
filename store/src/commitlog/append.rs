//! Appending to the CommitLog: room checks, BLANK padding and rolling to the next file.
//!
//! Callers hold the store's put lock, so reserve-then-append is one uninterrupted step and
//! physical offsets are known before the records are encoded.

use rmq_remoting::message::record::{blank_record, BLANK_LEN};

use super::CommitLog;
use crate::error::StoreError;

impl CommitLog {
    /// Makes sure `len` bytes can be appended to the last file with room left for a BLANK
    /// record; otherwise pads the last file with a BLANK and rolls to a new one. Returns the
    /// physical offset the next [`CommitLog::append`] of `len` bytes will land at.
    pub(crate) fn reserve(&self, len: usize) -> Result<i64, StoreError> {
        let file_size = self.file_size();
        if len + BLANK_LEN > file_size {
            return Err(StoreError::MessageIllegal(format!(
                "{len} bytes do not fit in a CommitLog file of {file_size} bytes"
            )));
        }
        let file = match self.files.last() {
            Some(file) if file.remaining() >= len + BLANK_LEN => file,
            Some(full) => {
                let remaining = full.remaining();
                if remaining > 0 {
                    // remaining ≥ BLANK_LEN: every append leaves that much, and files < 2 GiB.
                    full.append(&blank_record(remaining as i32));
                    full.mark_full();
                }
                self.roll()?
            }
            None => self.roll()?,
        };
        Ok((file.start_offset() + file.wrote() as u64) as i64)
    }

    /// Creates the next file. Failing to create or allocate it (typically a full disk) makes
    /// the put [`StoreError::ServiceUnavailable`] with nothing written.
    fn roll(&self) -> Result<std::sync::Arc<crate::mapped_file::MappedFile>, StoreError> {
        self.files.roll(0).map_err(|e| {
            tracing::error!(error = %e, "cannot create the next CommitLog file");
            StoreError::ServiceUnavailable(format!(
                "service not available now. It may be caused by the broker's disk is full: \
                 cannot create the next CommitLog file ({e})"
            ))
        })
    }

    /// Pre-faults the `len` bytes after the last file's write position, with `prewrite` also
    /// writing them out once in chunks of that size ([`crate::prefault`]).
    pub(crate) fn prefault_ahead(&self, len: usize, prewrite: Option<usize>) {
        if let Some(file) = self.files.last() {
            let from = file.wrote();
            if let Some(chunk) = prewrite {
                file.prewrite(from, len, chunk);
            }
            file.prefault(from, len);
        }
    }

    /// Appends already-encoded records at the offset [`CommitLog::reserve`] returned.
    pub(crate) fn append(&self, data: &[u8]) -> Result<i64, StoreError> {
        let file = self
            .files
            .last()
            .ok_or_else(|| StoreError::ServiceUnavailable("append without a CommitLog file".into()))?;
        let pos = file
            .append(data)
            .ok_or_else(|| StoreError::ServiceUnavailable("CommitLog append without reserved room".into()))?;
        Ok((file.start_offset() + pos as u64) as i64)
    }
}

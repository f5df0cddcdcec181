//! Pre-faulting the CommitLog ahead of its write position: what Apache's
//! `warmMapedFileEnable` does once per new file, done continuously. Every 10 ms a thread asks
//! the kernel to populate the next 8 MiB of the active file's mapping (`MADV_POPULATE_WRITE`:
//! page-cache pages and page tables, contents untouched, so it never races an append). The
//! first write to a page then no longer faults, zero-filling it, on the request path: the
//! fault's cost moves off the sender's latency onto this thread.
//!
//! Under SYNC_FLUSH it also writes those pages out once, 4 MiB at a time
//! ([`crate::mapped_file::MappedFile::prewrite`]). A preallocated block is "unwritten" until
//! data reaches it; the first write to it changes the file's extent tree, so a flush covering
//! it syncs that too: three disk writes instead of one. Written out ahead (zeros, which is what
//! the file holds anyway), the blocks are plain written blocks by the time a sync flush comes,
//! and the flush writes only its own pages: `msync` takes half the time on ext4. ASYNC_FLUSH
//! flushes many MiB at once, so the extent changes cost little there and are left alone.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::commitlog::CommitLog;
use crate::error::StoreError;
use crate::periodic::Periodic;

/// How often the thread looks.
const INTERVAL: Duration = Duration::from_millis(10);
/// How far ahead of the write position it keeps pages mapped: 10 ms of appends at 800 MiB/s.
const AHEAD: usize = 8 << 20;

/// Under SYNC_FLUSH, how much of the pages ahead is written out at once (see below).
const PREWRITE_CHUNK: usize = 4 << 20;

/// Starts the pre-fault thread of `commit_log`; `prewrite` (for SYNC_FLUSH) also writes the
/// pages ahead out once.
pub(crate) fn start(commit_log: Arc<CommitLog>, prewrite: bool) -> Result<Periodic, StoreError> {
    let prewrite = prewrite.then_some(PREWRITE_CHUNK);
    Periodic::start("rmq-store-prefault", INTERVAL, move || {
        commit_log.prefault_ahead(AHEAD, prewrite);
        ControlFlow::Continue(())
    })
}

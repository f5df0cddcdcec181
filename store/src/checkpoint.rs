//! `<root>/checkpoint` (Apache `StoreCheckpoint`, 5.x layout): a mapped 4096-byte file of
//! big-endian i64s: `physicMsgTimestamp @0`, `logicsMsgTimestamp @8`, `indexMsgTimestamp @16`,
//! `masterFlushedOffset @24`, `confirmPhyOffset @32`; the rest is zero.
//!
//! The flush path records the STORETIMESTAMP up to which the CommitLog (physic), the
//! ConsumeQueues (logics) and the index are on disk, then forces the file.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use crate::error::StoreError;
use crate::file_layer::Layer;
use crate::mapped_file::MappedRegion;

/// Size of the checkpoint file.
pub(crate) const CHECKPOINT_LEN: usize = 4096;

/// One field of the checkpoint, by its byte position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// STORETIMESTAMP through which the CommitLog is flushed.
    PhysicMsgTimestamp = 0,
    /// STORETIMESTAMP through which the ConsumeQueues are flushed.
    LogicsMsgTimestamp = 8,
    /// STORETIMESTAMP through which the index is flushed.
    IndexMsgTimestamp = 16,
    /// Master's flushed offset (set by replication, which rmq does not have yet; stays 0).
    #[allow(dead_code)]
    MasterFlushedOffset = 24,
    /// CommitLog offset confirmed durable (the flushed end here).
    ConfirmPhyOffset = 32,
}

/// The checkpoint file.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    region: Mutex<MappedRegion>,
}

impl Checkpoint {
    /// Opens `path`, creating a zeroed file if it does not exist.
    pub(crate) fn open(path: &Path, layer: &Layer) -> Result<Checkpoint, StoreError> {
        let region = if path.exists() {
            MappedRegion::open(layer, path, CHECKPOINT_LEN)?
        } else {
            MappedRegion::create(layer, path, CHECKPOINT_LEN)?
        };
        Ok(Checkpoint { region: Mutex::new(region) })
    }

    /// The value of `field`.
    pub(crate) fn get(&self, field: Field) -> i64 {
        let region = self.region.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = field as usize;
        let mut buf = [0; 8];
        buf.copy_from_slice(&region.bytes()[pos..pos + 8]);
        i64::from_be_bytes(buf)
    }

    /// Sets `field` (in the mapping; [`Checkpoint::flush`] makes it durable).
    pub(crate) fn set(&self, field: Field, value: i64) {
        let mut region = self.region.lock().unwrap_or_else(PoisonError::into_inner);
        let pos = field as usize;
        region.bytes_mut()[pos..pos + 8].copy_from_slice(&value.to_be_bytes());
    }

    /// Forces the file to disk.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.region.lock().unwrap_or_else(PoisonError::into_inner).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_layer::OsFiles;

    #[test]
    fn fields_are_big_endian_at_apache_positions_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("checkpoint");
        {
            let cp = Checkpoint::open(&path, &(std::sync::Arc::new(OsFiles) as Layer)).expect("create");
            assert_eq!(cp.get(Field::PhysicMsgTimestamp), 0);
            cp.set(Field::PhysicMsgTimestamp, 1);
            cp.set(Field::LogicsMsgTimestamp, 2);
            cp.set(Field::IndexMsgTimestamp, 3);
            cp.set(Field::MasterFlushedOffset, 4);
            cp.set(Field::ConfirmPhyOffset, 0x0102_0304_0506_0708);
            cp.flush().expect("flush");
        }
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(bytes.len(), CHECKPOINT_LEN);
        assert_eq!(bytes[7], 1);
        assert_eq!(bytes[15], 2);
        assert_eq!(bytes[23], 3);
        assert_eq!(bytes[31], 4);
        assert_eq!(&bytes[32..40], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let cp = Checkpoint::open(&path, &(std::sync::Arc::new(OsFiles) as Layer)).expect("reopen");
        assert_eq!(cp.get(Field::IndexMsgTimestamp), 3);
    }
}

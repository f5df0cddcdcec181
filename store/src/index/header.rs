//! The 40-byte IndexFile header (Apache `IndexHeader`), big-endian:
//! beginTimestamp i64 @0, endTimestamp i64 @8, beginPhyOffset i64 @16, endPhyOffset i64 @24,
//! hashSlotCount i32 @32, indexCount i32 @36.

/// Bytes of the header at the start of every IndexFile.
pub(crate) const HEADER_LEN: usize = 40;

/// The header fields, kept in memory and written back after every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexHeader {
    /// STORETIMESTAMP of the first entry (or the previous file's end before the first entry).
    pub(crate) begin_timestamp: i64,
    /// STORETIMESTAMP of the last entry.
    pub(crate) end_timestamp: i64,
    /// CommitLog offset of the first entry's message.
    pub(crate) begin_phy_offset: i64,
    /// CommitLog offset of the last entry's message.
    pub(crate) end_phy_offset: i64,
    /// Slots in use.
    pub(crate) hash_slot_count: i32,
    /// Number of the next entry; starts at 1 (entry 0 is never used).
    pub(crate) index_count: i32,
}

fn i64_at(bytes: &[u8], pos: usize) -> i64 {
    let mut buf = [0; 8];
    buf.copy_from_slice(&bytes[pos..pos + 8]);
    i64::from_be_bytes(buf)
}

fn i32_at(bytes: &[u8], pos: usize) -> i32 {
    let mut buf = [0; 4];
    buf.copy_from_slice(&bytes[pos..pos + 4]);
    i32::from_be_bytes(buf)
}

impl IndexHeader {
    /// The header of a new file that continues after a file ending at `(phy_offset, timestamp)`
    /// (zeros for the first file), like Apache's `IndexFile` constructor.
    pub(crate) fn new(prev_end_phy_offset: i64, prev_end_timestamp: i64) -> IndexHeader {
        IndexHeader {
            begin_timestamp: prev_end_timestamp,
            end_timestamp: prev_end_timestamp,
            begin_phy_offset: prev_end_phy_offset,
            end_phy_offset: prev_end_phy_offset,
            hash_slot_count: 0,
            index_count: 1,
        }
    }

    /// Reads the header from the first [`HEADER_LEN`] bytes of `bytes`. An index count of 0
    /// (a file created but never written) reads as 1.
    pub(crate) fn read(bytes: &[u8]) -> IndexHeader {
        IndexHeader {
            begin_timestamp: i64_at(bytes, 0),
            end_timestamp: i64_at(bytes, 8),
            begin_phy_offset: i64_at(bytes, 16),
            end_phy_offset: i64_at(bytes, 24),
            hash_slot_count: i32_at(bytes, 32),
            index_count: i32_at(bytes, 36).max(1),
        }
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `bytes`.
    pub(crate) fn write(&self, bytes: &mut [u8]) {
        bytes[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        bytes[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        bytes[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        bytes[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        bytes[36..40].copy_from_slice(&self.index_count.to_be_bytes());
    }

    /// Whether the file holds at least one entry.
    pub(crate) fn has_entries(&self) -> bool {
        self.index_count > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_in_apache_field_order() {
        let header = IndexHeader {
            begin_timestamp: 1,
            end_timestamp: 2,
            begin_phy_offset: 3,
            end_phy_offset: 4,
            hash_slot_count: 5,
            index_count: 6,
        };
        let mut bytes = [0u8; HEADER_LEN];
        header.write(&mut bytes);
        assert_eq!(&bytes[..8], &1i64.to_be_bytes());
        assert_eq!(&bytes[36..], &6i32.to_be_bytes());
        assert_eq!(IndexHeader::read(&bytes), header);
    }

    #[test]
    fn unwritten_header_reads_as_empty_file() {
        let header = IndexHeader::read(&[0; HEADER_LEN]);
        assert_eq!(header, IndexHeader::new(0, 0));
        assert!(!header.has_entries());
    }
}

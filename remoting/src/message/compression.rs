//! Message body compression as the Java client does it: a body of at least 4 KiB is compressed
//! and the sysflag gets `COMPRESSED | type << 8` (type 0 or 3 = zlib, 1 = LZ4 frame, 2 = ZSTD).
//! The broker stores bodies untouched; only clients compress and decompress.

use std::io::{Read, Write};

use super::sys_flag::{COMPRESSED, COMPRESSION_TYPE_MASK};

/// Bodies at least this long are compressed by the Java producer (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4096;
/// Largest body accepted after decompression, against zip bombs.
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// A compression algorithm carried in sysflag bits 8–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zlib-wrapped deflate (type 0 for old clients, 3 for new).
    Zlib,
    /// LZ4 frame format (type 1).
    Lz4,
    /// Zstandard (type 2).
    Zstd,
}

/// Compression failures.
#[derive(Debug, thiserror::Error)]
pub enum CompressionError {
    /// The algorithm is not built in.
    #[error("{0:?} compression is not supported yet")]
    Unsupported(Compression),
    /// The bytes do not decompress.
    #[error("corrupt compressed body: {0}")]
    Corrupt(String),
    /// The body would exceed [`MAX_DECOMPRESSED`].
    #[error("decompressed body exceeds {MAX_DECOMPRESSED} bytes")]
    TooLarge,
}

impl Compression {
    /// The algorithm named by a sysflag, if the body is compressed.
    pub fn from_sys_flag(sys_flag: i32) -> Option<Compression> {
        if sys_flag & COMPRESSED == 0 {
            return None;
        }
        Some(match (sys_flag & COMPRESSION_TYPE_MASK) >> 8 {
            1 => Compression::Lz4,
            2 => Compression::Zstd,
            _ => Compression::Zlib,
        })
    }

    /// The sysflag bits announcing this algorithm.
    pub fn sys_flag_bits(self) -> i32 {
        COMPRESSED
            | match self {
                Compression::Lz4 => 1 << 8,
                Compression::Zstd => 2 << 8,
                Compression::Zlib => 3 << 8,
            }
    }

    /// Compresses `body` (zlib at level 5, as the Java client).
    pub fn compress(self, body: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let io = |e: std::io::Error| CompressionError::Corrupt(e.to_string());
        match self {
            Compression::Zlib => {
                let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
                enc.write_all(body).map_err(io)?;
                enc.finish().map_err(io)
            }
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                enc.write_all(body).map_err(io)?;
                enc.finish().map_err(|e| CompressionError::Corrupt(e.to_string()))
            }
            Compression::Zstd => Err(CompressionError::Unsupported(self)),
        }
    }

    /// Decompresses `body`, refusing results over [`MAX_DECOMPRESSED`].
    pub fn decompress(self, body: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let mut out = Vec::new();
        let limit = MAX_DECOMPRESSED as u64 + 1;
        let read = match self {
            Compression::Zlib => flate2::read::ZlibDecoder::new(body).take(limit).read_to_end(&mut out),
            Compression::Lz4 => lz4_flex::frame::FrameDecoder::new(body).take(limit).read_to_end(&mut out),
            Compression::Zstd => return Err(CompressionError::Unsupported(self)),
        };
        read.map_err(|e| CompressionError::Corrupt(e.to_string()))?;
        if out.len() > MAX_DECOMPRESSED {
            return Err(CompressionError::TooLarge);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_and_lz4_roundtrip_and_set_the_sysflag() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 17) as u8).collect();
        for algo in [Compression::Zlib, Compression::Lz4] {
            let packed = algo.compress(&body).expect("compresses");
            assert!(packed.len() < body.len());
            assert_eq!(Compression::from_sys_flag(algo.sys_flag_bits()), Some(algo));
            assert_eq!(algo.decompress(&packed).expect("decompresses"), body);
        }
    }

    #[test]
    fn old_clients_flag_without_type_means_zlib() {
        assert_eq!(Compression::from_sys_flag(COMPRESSED), Some(Compression::Zlib));
        assert_eq!(Compression::from_sys_flag(0), None);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert!(Compression::Zlib.decompress(b"definitely not zlib").is_err());
        assert!(Compression::Lz4.decompress(b"definitely not lz4").is_err());
    }
}

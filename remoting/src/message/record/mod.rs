//! The stored message record: the CommitLog format, and byte for byte the pull/query/view body.
//!
//! ```text
//! TOTALSIZE i32 | MAGIC i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64
//! | PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST (4|16 ip + i32 port)
//! | STORETIMESTAMP i64 | STOREHOST (4|16 ip + i32 port) | RECONSUMETIMES i32
//! | PREPAREDTXOFFSET i64 | BODYLEN i32 + body | TOPICLEN (u8 V1 | i16 V2) + topic
//! | PROPLEN i16 + properties
//! ```
//! All integers big-endian. Host fields are IPv6 when SYSFLAG has 0x10 (born) / 0x20 (store).
//! BODYCRC is CRC-32 (IEEE) of the stored body masked with `0x7FFFFFFF`. V1 (`0xDAA320A7`) has a
//! 1-byte topic length, V2 (`0xDAA320AB`) a 2-byte one and is used only for topics > 127 bytes.
//! A BLANK record (`0xCBD43194`, 8 bytes written, TOTALSIZE = rest of file) pads a file's end.

mod decode;
mod encode;

pub use decode::{peek_header, read_size_and_magic, store_timestamp_pos, RecordHeader, RecordView, StoredMessage};
pub use encode::{blank_record, encode_record, record_len, RecordParts};

/// Magic of a V1 record (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic of a V2 record (2-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic of the BLANK record that pads the end of a CommitLog file.
pub const MAGIC_BLANK: i32 = 0xCBD4_3194_u32 as i32;
/// Bytes actually written for a BLANK record (TOTALSIZE + MAGIC); every append must leave this
/// much room in its file.
pub const BLANK_LEN: usize = 8;
/// Longest topic stored with a V1 record; longer topics use V2.
pub const V1_TOPIC_MAX_LEN: usize = 127;
/// Longest properties string a record can carry (its length is an i16).
pub const PROPERTIES_MAX_LEN: usize = i16::MAX as usize;
/// Offset of QUEUEOFFSET in a record.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Offset of PHYSICALOFFSET in a record.
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// Offset of SYSFLAG in a record.
pub const SYS_FLAG_POS: usize = 36;
/// Offset of BORNHOST in a record.
pub const BORN_HOST_POS: usize = 48;

/// Why a record (or batch entry) could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The buffer ends before the record does.
    #[error("record truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed from the start of the record.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// MAGICCODE is neither V1 nor V2 (a BLANK record also lands here).
    #[error("bad record magic {0:#010x}")]
    BadMagic(i32),
    /// TOTALSIZE disagrees with the length computed from the fields.
    #[error("record TOTALSIZE {declared} but fields need {actual} bytes")]
    LengthMismatch {
        /// TOTALSIZE as stored.
        declared: i32,
        /// Length implied by the fields (at least this much when they overran TOTALSIZE).
        actual: usize,
    },
    /// BODYCRC does not match the body.
    #[error("body CRC mismatch: stored {stored}, computed {computed}")]
    BadCrc {
        /// BODYCRC as stored.
        stored: i32,
        /// CRC computed over the body.
        computed: i32,
    },
    /// A field holds an impossible value (negative length, port out of range, …).
    #[error("malformed record: {0}")]
    Malformed(&'static str),
    /// A field is too long to be encoded.
    #[error("{field} too long to encode: {len} > {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the format allows.
        max: usize,
    },
    /// The topic is not valid UTF-8.
    #[error("topic is not valid UTF-8")]
    BadTopic,
}

/// BODYCRC of a body: CRC-32 (IEEE) masked with `0x7FFFFFFF`, as Apache's `UtilAll.crc32`.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::message::properties::encode_properties;
    use crate::message::sys_flag;

    fn parts<'a>(topic: &'a str, body: &'a [u8], props: &'a str, born: &str, store: &str) -> RecordParts<'a> {
        RecordParts {
            queue_id: 3,
            flag: 7,
            queue_offset: 42,
            physical_offset: 1_073_741_824,
            sys_flag: sys_flag::COMPRESSED,
            born_timestamp: 1_700_000_000_000,
            born_host: born.parse().expect("test addr"),
            store_timestamp: 1_700_000_000_123,
            store_host: store.parse().expect("test addr"),
            reconsume_times: 2,
            prepared_transaction_offset: 99,
            body,
            topic,
            properties: props,
        }
    }

    fn encode(p: &RecordParts<'_>) -> BytesMut {
        let mut out = BytesMut::new();
        let len = encode_record(p, &mut out).expect("encodes");
        assert_eq!(len, out.len());
        assert_eq!(record_len(p), Ok(len));
        out
    }

    fn check_roundtrip(p: &RecordParts<'_>) -> StoredMessage {
        let buf = encode(p);
        let (msg, used) = StoredMessage::decode(&buf).expect("decodes");
        assert_eq!(used, buf.len());
        assert_eq!(msg.store_size as usize, buf.len());
        assert_eq!((msg.queue_id, msg.flag, msg.queue_offset), (p.queue_id, p.flag, p.queue_offset));
        assert_eq!(msg.physical_offset, p.physical_offset);
        assert_eq!((msg.born_timestamp, msg.store_timestamp), (p.born_timestamp, p.store_timestamp));
        assert_eq!((msg.born_host, msg.store_host), (p.born_host, p.store_host));
        assert_eq!((msg.reconsume_times, msg.prepared_transaction_offset), (2, 99));
        assert_eq!(&msg.body[..], p.body);
        assert_eq!(msg.topic, p.topic);
        assert_eq!(msg.body_crc, body_crc(p.body));
        assert_eq!(encode_properties(&msg.properties), p.properties);
        let (view, _) = RecordView::parse(&buf).expect("parses");
        assert_eq!(view.verify_crc(), Ok(()));
        msg
    }

    #[test]
    fn v4_record_has_documented_layout_and_roundtrips() {
        let p = parts("TopicTest", b"hello", "TAGS\u{1}TagA\u{2}", "10.0.0.1:5555", "192.168.1.2:10911");
        let buf = encode(&p);
        assert_eq!(buf.len(), 91 + 5 + 9 + 10);
        assert_eq!(&buf[4..8], &MAGIC_V1.to_be_bytes());
        assert_eq!(&buf[48..52], &[10, 0, 0, 1]);
        assert_eq!(&buf[56..64], &1_700_000_000_123i64.to_be_bytes());
        assert_eq!(&buf[64..68], &[192, 168, 1, 2]);
        assert_eq!(&buf[68..72], &10911i32.to_be_bytes());
        let msg = check_roundtrip(&p);
        assert_eq!(msg.sys_flag, sys_flag::COMPRESSED);
        let header = peek_header(&buf[..64]).expect("prefix is enough");
        assert_eq!(header.store_timestamp, 1_700_000_000_123);
        assert_eq!(header.physical_offset, 1_073_741_824);
        assert_eq!(header.queue_offset, 42);
    }

    #[test]
    fn v6_hosts_set_sysflag_bits_and_roundtrip() {
        let p = parts("T", b"", "", "[::1]:7", "[2001:db8::5]:10911");
        let buf = encode(&p);
        assert_eq!(buf.len(), 91 + 24 + 1);
        let msg = check_roundtrip(&p);
        assert_eq!(msg.sys_flag, sys_flag::COMPRESSED | sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
        assert_eq!(peek_header(&buf).map(|h| h.store_timestamp), Ok(1_700_000_000_123));
        assert_eq!(store_timestamp_pos(msg.sys_flag), 68);
        // mixed: v6 born, v4 store; a stale v6 store bit from the caller is cleared
        let mut p = parts("T", b"x", "", "[::1]:7", "1.2.3.4:5");
        p.sys_flag = sys_flag::STOREHOST_V6;
        assert_eq!(check_roundtrip(&p).sys_flag, sys_flag::BORNHOST_V6);
    }

    #[test]
    fn long_topic_uses_v2_magic() {
        let topic = format!("%RETRY%{}", "g".repeat(200));
        let p = parts(&topic, b"body", "", "1.1.1.1:1", "2.2.2.2:2");
        let buf = encode(&p);
        assert_eq!(&buf[4..8], &MAGIC_V2.to_be_bytes());
        assert_eq!(check_roundtrip(&p).topic, topic);
        let short = "t".repeat(127);
        let buf = encode(&parts(&short, b"", "", "1.1.1.1:1", "2.2.2.2:2"));
        assert_eq!(&buf[4..8], &MAGIC_V1.to_be_bytes());
    }

    #[test]
    fn oversized_properties_are_rejected() {
        let props = "k".repeat(PROPERTIES_MAX_LEN + 1);
        let p = parts("T", b"", &props, "1.1.1.1:1", "2.2.2.2:2");
        assert!(matches!(record_len(&p), Err(RecordError::TooLong { field: "properties", .. })));
        assert!(encode_record(&p, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let p = parts("TopicTest", b"some body", "A\u{1}B\u{2}", "[::1]:7", "2.2.2.2:2");
        let buf = encode(&p);
        for cut in 0..buf.len() {
            assert!(StoredMessage::decode(&buf[..cut]).is_err(), "cut at {cut}");
            assert!(RecordView::parse(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn corrupting_any_byte_never_panics() {
        let p = parts("TopicTest", b"some body", "A\u{1}B\u{2}", "[::1]:7", "2.2.2.2:2");
        let buf = encode(&p);
        for i in 0..buf.len() {
            for v in [0x00, 0x7F, 0x80, 0xFF] {
                let mut bad = buf.to_vec();
                bad[i] = v;
                let _ = StoredMessage::decode(&bad);
                let _ = peek_header(&bad);
            }
        }
    }

    #[test]
    fn length_and_crc_mismatches_are_detected() {
        let p = parts("T", b"body", "", "1.1.1.1:1", "2.2.2.2:2");
        let mut buf = encode(&p).to_vec();
        buf.push(0);
        let declared = buf.len() as i32;
        buf[..4].copy_from_slice(&declared.to_be_bytes());
        assert!(matches!(RecordView::parse(&buf), Err(RecordError::LengthMismatch { .. })));
        let mut buf = encode(&p).to_vec();
        let body_at = 88; // BODYLEN at 84 with v4 hosts
        buf[body_at] ^= 1;
        let (view, _) = RecordView::parse(&buf).expect("layout still fine");
        assert!(matches!(view.verify_crc(), Err(RecordError::BadCrc { .. })));
        let blank = blank_record(4096);
        assert_eq!(read_size_and_magic(&blank), Ok((4096, MAGIC_BLANK)));
        assert_eq!(RecordView::parse(&blank).err(), Some(RecordError::BadMagic(MAGIC_BLANK)));
    }

    #[test]
    fn decode_all_reads_concatenated_records() {
        let mut buf = BytesMut::new();
        for (i, topic) in ["a", "bb", "ccc"].iter().enumerate() {
            let body = vec![i as u8; i * 10];
            let mut p = parts(topic, &body, "", "1.1.1.1:1", "[::2]:2");
            p.queue_offset = i as i64;
            encode_record(&p, &mut buf).expect("encodes");
        }
        let msgs = StoredMessage::decode_all(&buf).expect("decodes");
        assert_eq!(msgs.iter().map(|m| m.topic.as_str()).collect::<Vec<_>>(), ["a", "bb", "ccc"]);
        assert_eq!(msgs.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(StoredMessage::decode_all(&buf[..buf.len() - 1]).is_err());
        assert_eq!(StoredMessage::decode_all(&[]), Ok(vec![]));
    }
}

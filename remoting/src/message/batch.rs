//! The SEND_BATCH_MESSAGE body: a concatenation of short per-message entries.
//!
//! ```text
//! TOTALSIZE i32 | MAGIC i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 + body | PROPLEN i16 + props
//! ```
//! The broker re-encodes each entry into a full stored record (see [`super::record`]).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::properties::{decode_properties_bytes, encode_properties, Properties};
use super::record::{RecordError, PROPERTIES_MAX_LEN};

/// Fixed bytes of one entry besides body and properties.
const ENTRY_FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchEntry {
    /// User flag.
    pub flag: i32,
    /// Body.
    pub body: Bytes,
    /// Properties.
    pub properties: Properties,
}

fn need(buf: &[u8], pos: usize, n: usize) -> Result<(), RecordError> {
    match pos.checked_add(n) {
        Some(end) if end <= buf.len() => Ok(()),
        _ => Err(RecordError::Truncated { need: pos.saturating_add(n), have: buf.len() }),
    }
}

/// Decodes a batch body. Like the Java broker, entries are read field by field and the
/// TOTALSIZE/MAGIC/BODYCRC words are not trusted; any length that is negative or runs past the
/// buffer is an error.
pub fn decode_batch(buf: &[u8]) -> Result<Vec<BatchEntry>, RecordError> {
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        need(buf, pos, 20)?;
        let mut cur = &buf[pos..];
        cur.advance(12); // TOTALSIZE, MAGIC, BODYCRC
        let flag = cur.get_i32();
        let body_len = usize::try_from(cur.get_i32()).map_err(|_| RecordError::Malformed("negative body length"))?;
        pos += 20;
        need(buf, pos, body_len)?;
        let body = Bytes::copy_from_slice(&buf[pos..pos + body_len]);
        pos += body_len;
        need(buf, pos, 2)?;
        let props_len = usize::try_from(i16::from_be_bytes([buf[pos], buf[pos + 1]]))
            .map_err(|_| RecordError::Malformed("negative properties length"))?;
        pos += 2;
        need(buf, pos, props_len)?;
        let properties = decode_properties_bytes(&buf[pos..pos + props_len]);
        pos += props_len;
        entries.push(BatchEntry { flag, body, properties });
    }
    Ok(entries)
}

/// Appends the batch body for `entries` to `out` (what our producer sends).
pub fn encode_batch(entries: &[BatchEntry], out: &mut BytesMut) -> Result<(), RecordError> {
    for entry in entries {
        let props = encode_properties(&entry.properties);
        if props.len() > PROPERTIES_MAX_LEN {
            return Err(RecordError::TooLong { field: "properties", len: props.len(), max: PROPERTIES_MAX_LEN });
        }
        let total = ENTRY_FIXED_LEN + entry.body.len() + props.len();
        let total = i32::try_from(total).map_err(|_| RecordError::TooLong {
            field: "batch entry",
            len: total,
            max: i32::MAX as usize,
        })?;
        out.reserve(total as usize);
        out.put_i32(total);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(entry.flag);
        out.put_i32(entry.body.len() as i32); // < total, which fits in i32
        out.put_slice(&entry.body);
        out.put_i16(props.len() as i16); // checked above
        out.put_slice(props.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(flag: i32, body: &[u8], props: &[(&str, &str)]) -> BatchEntry {
        BatchEntry {
            flag,
            body: Bytes::copy_from_slice(body),
            properties: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn sample() -> Vec<BatchEntry> {
        vec![
            entry(0, b"first", &[("UNIQ_KEY", "AA"), ("TAGS", "t")]),
            entry(5, b"", &[]),
            entry(-1, &[0xFF; 300], &[("KEYS", "k1 k2")]),
        ]
    }

    #[test]
    fn roundtrip_keeps_flags_bodies_and_properties() {
        let mut buf = BytesMut::new();
        encode_batch(&sample(), &mut buf).expect("encodes");
        assert_eq!(decode_batch(&buf), Ok(sample()));
        assert_eq!(decode_batch(&[]), Ok(vec![]));
    }

    #[test]
    fn entry_layout_matches_java_encoder() {
        let mut buf = BytesMut::new();
        encode_batch(&[entry(9, b"ab", &[("A", "1")])], &mut buf).expect("encodes");
        let props = b"A\x011\x02";
        let total = 22 + 2 + props.len();
        let mut expected = Vec::new();
        expected.extend_from_slice(&(total as i32).to_be_bytes());
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&9i32.to_be_bytes());
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(b"ab");
        expected.extend_from_slice(&(props.len() as i16).to_be_bytes());
        expected.extend_from_slice(props);
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let mut buf = BytesMut::new();
        encode_batch(&sample()[..1], &mut buf).expect("encodes");
        for cut in 1..buf.len() {
            assert!(decode_batch(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn hostile_lengths_are_errors() {
        let mut bad = vec![0u8; 20];
        bad[16..20].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(decode_batch(&bad), Err(RecordError::Malformed("negative body length")));
        bad[16..20].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(decode_batch(&bad), Err(RecordError::Truncated { .. })));
        let mut bad = vec![0u8; 22];
        bad[20..22].copy_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(decode_batch(&bad), Err(RecordError::Malformed("negative properties length")));
    }
}

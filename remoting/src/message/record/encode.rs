//! Writing stored records: [`RecordParts`] in, the exact CommitLog bytes out.

use std::net::{IpAddr, SocketAddr};

use bytes::{BufMut, BytesMut};

use super::{body_crc, RecordError, BLANK_LEN, MAGIC_BLANK, MAGIC_V1, MAGIC_V2, PROPERTIES_MAX_LEN, V1_TOPIC_MAX_LEN};
use crate::message::sys_flag;

fn host_len(addr: &SocketAddr) -> usize {
    if addr.is_ipv6() {
        20
    } else {
        8
    }
}

/// Everything needed to write one record; BODYCRC, MAGIC and the host bits of SYSFLAG are
/// derived by [`encode_record`].
#[derive(Debug, Clone)]
pub struct RecordParts<'a> {
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the ConsumeQueue (0 for PREPARED/ROLLBACK transaction records).
    pub queue_offset: i64,
    /// Absolute CommitLog offset of this record.
    pub physical_offset: i64,
    /// SYSFLAG; the BORNHOST_V6/STOREHOST_V6 bits are replaced from the address types.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address (brokerIP1:listenPort).
    pub store_host: SocketAddr,
    /// Times the message has been re-consumed.
    pub reconsume_times: i32,
    /// CommitLog offset of the half message, for committed transaction messages; else 0.
    pub prepared_transaction_offset: i64,
    /// Body as stored (possibly compressed).
    pub body: &'a [u8],
    /// Topic name.
    pub topic: &'a str,
    /// Encoded properties string.
    pub properties: &'a str,
}

impl RecordParts<'_> {
    fn effective_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= sys_flag::BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= sys_flag::STOREHOST_V6;
        }
        flag
    }
}

/// Encoded length of a record, after checking every field fits the format.
pub fn record_len(parts: &RecordParts<'_>) -> Result<usize, RecordError> {
    let too_long = |field, len, max| RecordError::TooLong { field, len, max };
    let topic_len = parts.topic.len();
    if topic_len > i16::MAX as usize {
        return Err(too_long("topic", topic_len, i16::MAX as usize));
    }
    let props_len = parts.properties.len();
    if props_len > PROPERTIES_MAX_LEN {
        return Err(too_long("properties", props_len, PROPERTIES_MAX_LEN));
    }
    let topic_len_size = if topic_len > V1_TOPIC_MAX_LEN { 2 } else { 1 };
    let len = 4
        + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&parts.born_host)
        + 8
        + host_len(&parts.store_host)
        + 4
        + 8
        + 4
        + parts.body.len()
        + topic_len_size
        + topic_len
        + 2
        + props_len;
    if len > i32::MAX as usize {
        return Err(too_long("record", len, i32::MAX as usize));
    }
    Ok(len)
}

fn put_host(out: &mut BytesMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

/// Appends one full record to `out` and returns its length.
pub fn encode_record(parts: &RecordParts<'_>, out: &mut BytesMut) -> Result<usize, RecordError> {
    let len = record_len(parts)?;
    let v2 = parts.topic.len() > V1_TOPIC_MAX_LEN;
    out.reserve(len);
    // Lengths were range-checked by record_len, so the casts below cannot truncate.
    out.put_i32(len as i32);
    out.put_i32(if v2 { MAGIC_V2 } else { MAGIC_V1 });
    out.put_i32(body_crc(parts.body));
    out.put_i32(parts.queue_id);
    out.put_i32(parts.flag);
    out.put_i64(parts.queue_offset);
    out.put_i64(parts.physical_offset);
    out.put_i32(parts.effective_sys_flag());
    out.put_i64(parts.born_timestamp);
    put_host(out, &parts.born_host);
    out.put_i64(parts.store_timestamp);
    put_host(out, &parts.store_host);
    out.put_i32(parts.reconsume_times);
    out.put_i64(parts.prepared_transaction_offset);
    out.put_i32(parts.body.len() as i32);
    out.put_slice(parts.body);
    if v2 {
        out.put_i16(parts.topic.len() as i16);
    } else {
        out.put_u8(parts.topic.len() as u8);
    }
    out.put_slice(parts.topic.as_bytes());
    out.put_i16(parts.properties.len() as i16);
    out.put_slice(parts.properties.as_bytes());
    Ok(len)
}

/// The 8 bytes of a BLANK record padding `remaining` bytes up to the end of a file.
pub fn blank_record(remaining: i32) -> [u8; BLANK_LEN] {
    let mut out = [0u8; BLANK_LEN];
    out[..4].copy_from_slice(&remaining.to_be_bytes());
    out[4..].copy_from_slice(&MAGIC_BLANK.to_be_bytes());
    out
}

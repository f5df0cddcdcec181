//! The ROCKETMQ binary header (`RocketMQSerializable`):
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32 |
//! remarkLen i32 | remark | extLen i32 | (keyLen i16 | key | valLen i32 | value)*
//! ```
//! Zero-length strings decode to absent; duplicate keys are accepted (last wins).

use bytes::{Buf, BufMut, Bytes};

use crate::command::{LanguageCode, RemotingCommand, SerializeType};
use crate::error::Error;
use crate::ext_fields::ExtFields;

fn malformed(what: &str) -> Error {
    Error::Malformed(format!("binary header: {what}"))
}

fn take_len(buf: &mut &[u8], len: usize, what: &str) -> Result<String, Error> {
    if buf.remaining() < len {
        return Err(malformed(what));
    }
    let s = String::from_utf8_lossy(&buf[..len]).into_owned();
    buf.advance(len);
    Ok(s)
}

fn get_i32(buf: &mut &[u8], what: &str) -> Result<i32, Error> {
    if buf.remaining() < 4 {
        return Err(malformed(what));
    }
    Ok(buf.get_i32())
}

fn non_negative(n: i32, what: &str) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| malformed(what))
}

/// Decodes a binary header; the body is attached by the caller.
pub fn decode(header: &[u8], body: Bytes) -> Result<RemotingCommand, Error> {
    let mut buf = header;
    if buf.remaining() < 13 {
        return Err(malformed("shorter than its fixed part"));
    }
    let code = i32::from(buf.get_i16());
    let language = LanguageCode::from_code(buf.get_u8());
    let version = i32::from(buf.get_i16());
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark_len = non_negative(get_i32(&mut buf, "remark length")?, "negative remark length")?;
    let remark = take_len(&mut buf, remark_len, "remark longer than header")?;
    let ext_len = non_negative(get_i32(&mut buf, "ext length")?, "negative ext length")?;
    if buf.remaining() < ext_len {
        return Err(malformed("ext fields longer than header"));
    }
    let mut ext = &buf[..ext_len];
    let mut ext_fields = ExtFields::new();
    while ext.has_remaining() {
        if ext.remaining() < 2 {
            return Err(malformed("truncated key length"));
        }
        let key_len = non_negative(i32::from(ext.get_i16()), "negative key length")?;
        let key = take_len(&mut ext, key_len, "key longer than ext fields")?;
        let val_len = non_negative(get_i32(&mut ext, "value length")?, "negative value length")?;
        let value = take_len(&mut ext, val_len, "value longer than ext fields")?;
        if !key.is_empty() && !value.is_empty() {
            ext_fields.push_text(&key, &value);
        }
    }
    ext_fields.dedup_arrived();
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark: (!remark.is_empty()).then_some(remark),
        ext_fields,
        body,
        serialize_type: SerializeType::RocketMq,
    })
}

/// Appends the header of `cmd` in the binary form to `out`. `code` and `version` are truncated
/// to 16 bits, as Java does.
pub fn encode_into(cmd: &RemotingCommand, out: &mut impl BufMut) {
    let remark = cmd.remark.as_deref().unwrap_or("").as_bytes();
    let ext_len: usize = cmd.ext_fields.iter().map(|(k, v)| 2 + k.len() + 4 + v.len()).sum();
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language.code());
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    out.put_i32(remark.len() as i32);
    out.put_slice(remark);
    out.put_i32(ext_len as i32);
    for (k, v) in cmd.ext_fields.iter() {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
}

/// The header of `cmd` in the binary form.
pub fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(cmd, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    #[test]
    fn roundtrip_keeps_every_field() {
        let mut cmd = RemotingCommand::request(RequestCode::PullMessage).with_remark("hi");
        cmd.ext_fields.insert("topic", "T");
        cmd.ext_fields.insert("queueId", "3");
        cmd.serialize_type = SerializeType::RocketMq;
        let bytes = encode(&cmd);
        let back = decode(&bytes, Bytes::new()).expect("decodes");
        assert_eq!(back, cmd);
    }

    #[test]
    fn truncation_at_every_offset_is_an_error_not_a_panic() {
        let mut cmd = RemotingCommand::request(RequestCode::PullMessage).with_remark("remark");
        cmd.ext_fields.insert("topic", "TopicTest");
        let bytes = encode(&cmd);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], Bytes::new()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn negative_lengths_are_rejected() {
        let mut bytes = encode(&RemotingCommand::request(RequestCode::HeartBeat));
        bytes[13..17].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(decode(&bytes, Bytes::new()).is_err());
    }
}

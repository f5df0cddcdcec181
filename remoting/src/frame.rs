//! The frame codec (a `tokio_util` [`Decoder`]/[`Encoder`] of [`RemotingCommand`]s):
//!
//! ```text
//! | L: i32 (bytes after this field) | T<<24 | H (i32) | header (H bytes) | body (L-4-H bytes) |
//! ```
//! `T` is the serialize type (0 JSON, 1 ROCKETMQ). All integers big-endian. A frame whose `L`
//! exceeds the limit, or whose header does not parse, is an error: the caller closes the connection.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::Error;
use crate::header::{binary, json};

/// Default maximum frame length (`com.rocketmq.remoting.frameMaxLength`): 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Encodes and decodes remoting frames.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame: usize,
}

impl FrameCodec {
    /// A codec that rejects frames longer than `max_frame` bytes (length field included).
    pub fn new(max_frame: usize) -> Self {
        FrameCodec { max_frame }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME)
    }
}

/// Decodes one whole frame (without its leading length field) into a command.
pub fn decode_frame(mut frame: BytesMut) -> Result<RemotingCommand, Error> {
    if frame.len() < 4 {
        return Err(Error::Malformed(format!("frame of {} bytes has no header length", frame.len())));
    }
    let word = frame.get_u32();
    let kind = (word >> 24) as u8;
    let header_len = (word & 0x00FF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(Error::Malformed(format!(
            "header length {header_len} exceeds the {} bytes left in the frame",
            frame.len()
        )));
    }
    let header = frame.split_to(header_len);
    let body = frame.freeze();
    match SerializeType::from_byte(kind) {
        Some(SerializeType::Json) => json::decode(header.freeze(), body),
        Some(SerializeType::RocketMq) => binary::decode(&header, body),
        None => Err(Error::Malformed(format!("unknown serialize type {kind}"))),
    }
}

impl Decoder for FrameCodec {
    type Item = RemotingCommand;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, Error> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let len = usize::try_from(len).map_err(|_| Error::Malformed(format!("negative frame length {len}")))?;
        if len + 4 > self.max_frame {
            return Err(Error::FrameTooLarge { len: len + 4, max: self.max_frame });
        }
        if src.len() < 4 + len {
            src.reserve(4 + len - src.len());
            return Ok(None);
        }
        src.advance(4);
        decode_frame(src.split_to(len)).map(Some)
    }
}

impl Encoder<RemotingCommand> for FrameCodec {
    type Error = Error;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), Error> {
        if cmd.body.len() > i32::MAX as usize {
            return Err(Error::FrameTooLarge { len: cmd.body.len(), max: self.max_frame.min(i32::MAX as usize) });
        }
        // The header goes straight into `dst`, after room for the two length words.
        let start = dst.len();
        dst.reserve(8 + 512 + cmd.body.len());
        dst.put_bytes(0, 8);
        match cmd.serialize_type {
            SerializeType::Json => json::encode_into(&cmd, dst),
            SerializeType::RocketMq => binary::encode_into(&cmd, dst),
        }
        let header_len = dst.len() - start - 8;
        // The header length has 24 bits and the frame length 31: larger would corrupt the stream.
        let total = 4 + header_len + cmd.body.len();
        if header_len > 0x00FF_FFFF || total > i32::MAX as usize {
            dst.truncate(start);
            return Err(Error::FrameTooLarge { len: total, max: self.max_frame.min(i32::MAX as usize) });
        }
        let kind = (u32::from(cmd.serialize_type.byte()) << 24) | (header_len as u32 & 0x00FF_FFFF);
        dst[start..start + 4].copy_from_slice(&(total as i32).to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&kind.to_be_bytes());
        dst.put_slice(&cmd.body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    fn encoded(cmd: RemotingCommand) -> BytesMut {
        let mut buf = BytesMut::new();
        FrameCodec::default().encode(cmd, &mut buf).expect("encodes");
        buf
    }

    #[test]
    fn roundtrip_in_both_serializations() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = RemotingCommand::request(RequestCode::SendMessageV2).with_body(&b"hello"[..]);
            cmd.ext_fields.insert("b", "TopicTest");
            cmd.serialize_type = kind;
            let mut buf = encoded(cmd.clone());
            let back = FrameCodec::default().decode(&mut buf).expect("ok").expect("whole frame");
            assert_eq!(back.body, cmd.body);
            assert_eq!(back.ext("b"), Some("TopicTest"));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let full = encoded(RemotingCommand::request(RequestCode::HeartBeat).with_body(&b"xyz"[..]));
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert!(FrameCodec::default().decode(&mut part).expect("no error").is_none(), "cut {cut}");
        }
    }

    #[test]
    fn oversized_and_negative_lengths_are_errors() {
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&2048i32.to_be_bytes()[..]);
        assert!(matches!(codec.decode(&mut buf), Err(Error::FrameTooLarge { .. })));
        let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert!(codec.decode(&mut buf).is_err());
    }

    #[test]
    fn header_length_beyond_frame_is_malformed() {
        let mut buf = BytesMut::new();
        buf.put_i32(8);
        buf.put_u32(100);
        buf.put_u32(0);
        assert!(FrameCodec::default().decode(&mut buf).is_err());
    }

    #[test]
    fn unknown_serialize_type_is_malformed() {
        let mut buf = BytesMut::new();
        buf.put_i32(6);
        buf.put_u32((7 << 24) | 2);
        buf.put_slice(b"{}");
        assert!(FrameCodec::default().decode(&mut buf).is_err());
    }
}

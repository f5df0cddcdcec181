//! Reading stored records: a cheap header peek for the store, a borrowed [`RecordView`], and
//! the owned [`StoredMessage`] a consumer gets from a pull body.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::{body_crc, RecordError, BORN_HOST_POS, MAGIC_V1, MAGIC_V2};
use crate::message::properties::{decode_properties_bytes, Properties};
use crate::message::sys_flag;

/// A bounds-checked big-endian reader over one record.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.buf.len());
        let end = end.ok_or(RecordError::Truncated { need: self.pos.saturating_add(n), have: self.buf.len() })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.array::<1>()?[0])
    }

    fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn len_i32(&mut self) -> Result<usize, RecordError> {
        usize::try_from(self.i32()?).map_err(|_| RecordError::Malformed("negative length"))
    }

    fn len_i16(&mut self) -> Result<usize, RecordError> {
        usize::try_from(self.i16()?).map_err(|_| RecordError::Malformed("negative length"))
    }

    fn host(&mut self, v6: bool) -> Result<SocketAddr, RecordError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))
        };
        let port = u16::try_from(self.i32()?).map_err(|_| RecordError::Malformed("port out of range"))?;
        Ok(SocketAddr::new(ip, port))
    }
}

/// Reads TOTALSIZE and MAGICCODE from the start of `buf`.
pub fn read_size_and_magic(buf: &[u8]) -> Result<(i32, i32), RecordError> {
    let mut r = Reader { buf, pos: 0 };
    Ok((r.i32()?, r.i32()?))
}

/// Position of STORETIMESTAMP in a record with this SYSFLAG (it moves with the born host size).
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + if sys_flag & sys_flag::BORNHOST_V6 != 0 { 20 } else { 8 }
}

/// The fixed-position fields of a record, read without decoding topic, body or properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// TOTALSIZE.
    pub total_size: i32,
    /// MAGICCODE (V1 or V2).
    pub magic: i32,
    /// BODYCRC.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub physical_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
}

/// Reads the fixed-position header fields (up to STORETIMESTAMP) of a V1/V2 record.
/// `buf` may be just the record's prefix; a BLANK record is reported as [`RecordError::BadMagic`].
pub fn peek_header(buf: &[u8]) -> Result<RecordHeader, RecordError> {
    let mut r = Reader { buf, pos: 0 };
    let total_size = r.i32()?;
    let magic = r.i32()?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError::BadMagic(magic));
    }
    let body_crc = r.i32()?;
    let queue_id = r.i32()?;
    let flag = r.i32()?;
    let queue_offset = r.i64()?;
    let physical_offset = r.i64()?;
    let sys_flag = r.i32()?;
    let born_timestamp = r.i64()?;
    r.take(store_timestamp_pos(sys_flag) - BORN_HOST_POS)?;
    let store_timestamp = r.i64()?;
    Ok(RecordHeader {
        total_size,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        store_timestamp,
    })
}

/// A record decoded without copying: header fields plus borrowed body, topic and properties.
#[derive(Debug, Clone)]
pub struct RecordView<'a> {
    /// The fixed-position header fields.
    pub header: RecordHeader,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED TRANSACTION OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODY as stored.
    pub body: &'a [u8],
    /// TOPIC bytes.
    pub topic: &'a [u8],
    /// PROPERTIES bytes.
    pub properties: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// Parses the record at the start of `buf`; returns it and its length. Checks the magic and
    /// that TOTALSIZE equals the length implied by the fields; does not check BODYCRC (see
    /// [`RecordView::verify_crc`]).
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), RecordError> {
        let (declared, magic) = read_size_and_magic(buf)?;
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return Err(RecordError::BadMagic(magic));
        }
        let total = usize::try_from(declared).map_err(|_| RecordError::Malformed("negative TOTALSIZE"))?;
        if total > buf.len() {
            return Err(RecordError::Truncated { need: total, have: buf.len() });
        }
        let record = &buf[..total];
        let overrun = |e: RecordError| match e {
            RecordError::Truncated { need, .. } => RecordError::LengthMismatch { declared, actual: need },
            other => other,
        };
        let header = peek_header(record).map_err(overrun)?;
        let mut r = Reader { buf: record, pos: BORN_HOST_POS };
        let fields = (|| {
            let born_host = r.host(header.sys_flag & sys_flag::BORNHOST_V6 != 0)?;
            r.i64()?; // STORETIMESTAMP, already in the header
            let store_host = r.host(header.sys_flag & sys_flag::STOREHOST_V6 != 0)?;
            let reconsume_times = r.i32()?;
            let prepared_transaction_offset = r.i64()?;
            let body_len = r.len_i32()?;
            let body = r.take(body_len)?;
            let topic_len = if magic == MAGIC_V2 { r.len_i16()? } else { usize::from(r.u8()?) };
            let topic = r.take(topic_len)?;
            let props_len = r.len_i16()?;
            let properties = r.take(props_len)?;
            Ok(RecordView {
                header,
                born_host,
                store_host,
                reconsume_times,
                prepared_transaction_offset,
                body,
                topic,
                properties,
            })
        })()
        .map_err(overrun)?;
        if r.pos != total {
            return Err(RecordError::LengthMismatch { declared, actual: r.pos });
        }
        Ok((fields, total))
    }

    /// Checks BODYCRC against the body.
    pub fn verify_crc(&self) -> Result<(), RecordError> {
        let computed = body_crc(self.body);
        if computed == self.header.body_crc {
            Ok(())
        } else {
            Err(RecordError::BadCrc { stored: self.header.body_crc, computed })
        }
    }

    /// The topic as UTF-8 (the store only writes UTF-8 topics).
    pub fn topic_str(&self) -> Result<&'a str, RecordError> {
        std::str::from_utf8(self.topic).map_err(|_| RecordError::BadTopic)
    }

    /// The properties string, with invalid UTF-8 replaced like Java does.
    pub fn properties_str(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.properties)
    }

    /// Copies the record into an owned [`StoredMessage`].
    pub fn to_message(&self) -> StoredMessage {
        let h = &self.header;
        StoredMessage {
            store_size: h.total_size,
            body_crc: h.body_crc,
            queue_id: h.queue_id,
            flag: h.flag,
            queue_offset: h.queue_offset,
            physical_offset: h.physical_offset,
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: self.born_host,
            store_timestamp: h.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: Bytes::copy_from_slice(self.body),
            topic: String::from_utf8_lossy(self.topic).into_owned(),
            properties: decode_properties_bytes(self.properties),
        }
    }
}

/// A decoded stored record with owned fields (what a consumer gets from a pull body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// TOTALSIZE of the record.
    pub store_size: i32,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the ConsumeQueue.
    pub queue_offset: i64,
    /// CommitLog offset.
    pub physical_offset: i64,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Times re-consumed.
    pub reconsume_times: i32,
    /// CommitLog offset of the half message (committed transaction messages).
    pub prepared_transaction_offset: i64,
    /// Body as stored (still compressed if SYSFLAG says so).
    pub body: Bytes,
    /// Topic (invalid UTF-8 replaced).
    pub topic: String,
    /// Properties.
    pub properties: Properties,
}

impl StoredMessage {
    /// Decodes the record at the start of `buf`; returns it and the bytes consumed.
    /// BODYCRC is not checked (as in the Java client's default).
    pub fn decode(buf: &[u8]) -> Result<(StoredMessage, usize), RecordError> {
        let (view, len) = RecordView::parse(buf)?;
        Ok((view.to_message(), len))
    }

    /// Decodes a concatenation of records (a pull body); fails on the first bad one.
    pub fn decode_all(mut buf: &[u8]) -> Result<Vec<StoredMessage>, RecordError> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            let (msg, len) = Self::decode(buf)?;
            out.push(msg);
            buf = &buf[len..];
        }
        Ok(out)
    }

    /// The offset message id (store host + CommitLog offset).
    pub fn offset_msg_id(&self) -> String {
        crate::message::id::create_offset_msg_id(self.store_host, self.physical_offset)
    }
}

//! The compressed `RegisterBrokerBody` (header `compressed=true`, Apache's
//! `RegisterBrokerBody.encode(true)`). After zlib inflation, all integers big-endian:
//!
//! ```text
//! i32 len | DataVersion JSON
//! i32 topic count | (i32 len | "name readQ writeQ perm filterType [attributesJson]")*
//! i32 len | filter-server list JSON
//! [i32 mapping count | (i32 len | TopicQueueMappingInfo JSON)*]   (5.x; static topics, ignored)
//! ```
//! Topic sysflag and the `order` flag are not carried in this form.

use std::io::Read;

use flate2::read::ZlibDecoder;
use rmq_remoting::protocol::body::{DataVersion, RegisterBrokerBody, TopicConfig};

/// Inflated bodies larger than this are refused (a registration is a few MiB at most).
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// Decodes a compressed registration body.
pub(super) fn decode(bytes: &[u8]) -> Result<RegisterBrokerBody, String> {
    let mut raw = Vec::new();
    ZlibDecoder::new(bytes)
        .take(MAX_INFLATED)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot inflate the compressed body: {e}"))?;
    let mut reader = Chunks { rest: &raw };
    let mut body = RegisterBrokerBody::default();
    let wrapper = &mut body.topic_config_serialize_wrapper;
    wrapper.data_version = serde_json::from_slice::<DataVersion>(reader.chunk("dataVersion")?)
        .map_err(|e| format!("bad dataVersion in the compressed body: {e}"))?;
    let count = reader.int("topic count")?;
    for _ in 0..count {
        let text =
            std::str::from_utf8(reader.chunk("topic config")?).map_err(|_| "topic config is not UTF-8".to_owned())?;
        let config = topic_config(text)?;
        wrapper.topic_config_table.insert(config.topic_name.clone(), config);
    }
    // The filter-server list is legacy; Apache also ignores a malformed one.
    body.filter_server_list = serde_json::from_slice(reader.chunk("filter server list")?).unwrap_or_default();
    Ok(body)
}

/// Parses `TopicConfig.encode()` text: `name readQ writeQ perm filterType [attributesJson]`.
fn topic_config(text: &str) -> Result<TopicConfig, String> {
    let fields: Vec<&str> = text.splitn(6, ' ').collect();
    let bad = || format!("malformed topic config '{text}'");
    let [name, read, write, perm, filter, rest @ ..] = fields.as_slice() else {
        return Err(bad());
    };
    let number = |s: &str| s.parse::<i32>().map_err(|_| bad());
    Ok(TopicConfig {
        topic_name: (*name).to_owned(),
        read_queue_nums: number(read)?,
        write_queue_nums: number(write)?,
        perm: number(perm)?,
        topic_filter_type: (*filter).to_owned(),
        attributes: rest.first().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default(),
        ..Default::default()
    })
}

/// A cursor over length-prefixed chunks.
struct Chunks<'a> {
    rest: &'a [u8],
}

impl<'a> Chunks<'a> {
    fn int(&mut self, what: &str) -> Result<i32, String> {
        let (head, rest) =
            self.rest.split_first_chunk::<4>().ok_or_else(|| format!("compressed body ends before the {what}"))?;
        self.rest = rest;
        Ok(i32::from_be_bytes(*head))
    }

    fn chunk(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.int(what)?;
        let len = usize::try_from(len).map_err(|_| format!("negative length for the {what}"))?;
        if len > self.rest.len() {
            return Err(format!("the {what} needs {len} bytes but {} are left", self.rest.len()));
        }
        let (chunk, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::ZlibEncoder;
    use flate2::Compression;

    use super::*;

    fn chunk(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    fn compress(raw: &[u8]) -> Vec<u8> {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(raw).expect("write");
        enc.finish().expect("finish")
    }

    #[test]
    fn decodes_what_a_java_broker_sends() {
        let mut raw = Vec::new();
        chunk(&mut raw, br#"{"counter":7,"stateVersion":0,"timestamp":123}"#);
        raw.extend_from_slice(&2i32.to_be_bytes());
        chunk(&mut raw, b"TopicA 4 4 6 SINGLE_TAG");
        chunk(&mut raw, br#"TopicB 8 2 4 SINGLE_TAG {"+message.type":"FIFO"}"#);
        chunk(&mut raw, b"[]");
        raw.extend_from_slice(&0i32.to_be_bytes());
        let body = decode(&compress(&raw)).expect("decodes");
        let wrapper = body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 7);
        let b = &wrapper.topic_config_table["TopicB"];
        assert_eq!((b.read_queue_nums, b.write_queue_nums, b.perm), (8, 2, 4));
        assert_eq!(b.attributes.get("+message.type").map(String::as_str), Some("FIFO"));
        assert_eq!(wrapper.topic_config_table["TopicA"].write_queue_nums, 4);
    }

    #[test]
    fn truncated_body_is_an_error() {
        let mut raw = Vec::new();
        chunk(&mut raw, br#"{"counter":1}"#);
        raw.extend_from_slice(&3i32.to_be_bytes());
        chunk(&mut raw, b"TopicA 4 4 6 SINGLE_TAG");
        assert!(decode(&compress(&raw)).is_err());
        assert!(decode(b"not zlib").is_err());
    }
}

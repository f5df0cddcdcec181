//! The message properties string: `name 0x01 value 0x02` repeated, with a trailing `0x02`.
//!
//! Properties are kept in a [`BTreeMap`], so encoding is deterministic (Apache re-serialises
//! from a `HashMap`; no client depends on the order). [`keys`] names the properties the broker
//! reads or writes.

use std::collections::BTreeMap;

/// Decoded message properties, name → value.
pub type Properties = BTreeMap<String, String>;

/// Separates a property name from its value (`char 1`).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminates each `name=value` pair (`char 2`).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Property names (Apache `MessageConst`) used by the broker and our client.
pub mod keys {
    /// Space-separated business keys, indexed for QUERY_MESSAGE.
    pub const KEYS: &str = "KEYS";
    /// Separator between the keys in [`KEYS`].
    pub const KEY_SEPARATOR: &str = " ";
    /// Tag string, hashed into the ConsumeQueue.
    pub const TAGS: &str = "TAGS";
    /// `"true"`/`"false"`: wait for the store (absent means true).
    pub const WAIT: &str = "WAIT";
    /// Delay level.
    pub const DELAY: &str = "DELAY";
    /// Client-generated message id.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// Cluster name, added by the broker on every SEND.
    pub const CLUSTER: &str = "CLUSTER";
    /// Original topic of a retried message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Real destination topic while parked in a schedule/half topic.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Real destination queue id while parked in a schedule/half topic.
    pub const REAL_QID: &str = "REAL_QID";
    /// `"true"` on a transactional half message.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group (transaction check routing).
    pub const PGROUP: &str = "PGROUP";
    /// Retry count carried when a client re-sends to `%RETRY%`.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// Maximum number of retries before the DLQ.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Message id of the first delivery, kept across retries.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Region id (also a SEND response ext field).
    pub const MSG_REGION: &str = "MSG_REGION";
    /// Trace switch (also a SEND response ext field).
    pub const TRACE_ON: &str = "TRACE_ON";
    /// Queue min offset, set client-side after a pull; never stored.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Queue max offset, set client-side after a pull; never stored.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// Number of messages in an inner batch (5.x).
    pub const INNER_NUM: &str = "INNER_NUM";
    /// Base queue offset of an inner batch (5.x).
    pub const INNER_BASE: &str = "INNER_BASE";
    /// Queue offset of the half message in the half topic.
    pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// Number of transaction check-backs so far.
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    /// Delay before the first transaction check.
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    /// User-visible transaction id.
    pub const TRANSACTION_ID: &str = "__transactionId__";
    /// Stripped from every incoming SEND.
    pub const POP_CK: &str = "POP_CK";
    /// Request/reply correlation id.
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// Request/reply: client id of the requester.
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Request/reply timeout.
    pub const TTL: &str = "TTL";
    /// Message type (`reply` for reply messages).
    pub const MSG_TYPE: &str = "MSG_TYPE";
    /// Original topic of a DLQ message.
    pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
    /// Original message id of a DLQ message.
    pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
    /// 5.x timer: absolute delivery time in ms.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// 5.x timer: delay in seconds.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// 5.x timer: delay in ms.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// Optional whole-record CRC.
    pub const CRC32: &str = "__CRC32#";
}

/// Encodes properties as `name\x01value\x02` per entry, including the trailing `\x02`.
/// An empty map encodes as the empty string.
pub fn encode_properties(props: &Properties) -> String {
    let cap = props.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(cap);
    for (name, value) in props {
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// Decodes a properties string. Like Apache, a segment is kept only if it contains a `\x01`
/// that is neither its first nor its last character (so names and values are non-empty); the
/// value may itself contain further `\x01`s. Malformed segments are dropped silently.
pub fn decode_properties(s: &str) -> Properties {
    let mut props = Properties::new();
    for segment in s.split(PROPERTY_SEPARATOR) {
        if let Some(i) = segment.find(NAME_VALUE_SEPARATOR) {
            if i > 0 && i + 1 < segment.len() {
                props.insert(segment[..i].to_owned(), segment[i + 1..].to_owned());
            }
        }
    }
    props
}

/// Decodes properties from raw bytes (as found in a record), replacing invalid UTF-8 like Java.
pub fn decode_properties_bytes(bytes: &[u8]) -> Properties {
    decode_properties(&String::from_utf8_lossy(bytes))
}

/// Looks up one property in an encoded properties string without building a map.
pub fn find_property<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.split(PROPERTY_SEPARATOR).find_map(|segment| {
        let i = segment.find(NAME_VALUE_SEPARATOR)?;
        (i > 0 && i + 1 < segment.len() && &segment[..i] == name).then(|| &segment[i + 1..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn encode_writes_trailing_separator() {
        let p = props(&[("TAGS", "TagA"), ("KEYS", "k1 k2")]);
        assert_eq!(encode_properties(&p), "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}");
        assert_eq!(encode_properties(&Properties::new()), "");
    }

    #[test]
    fn roundtrip_preserves_entries() {
        let p = props(&[("UNIQ_KEY", "0A0B"), ("WAIT", "true"), ("中文", "值")]);
        assert_eq!(decode_properties(&encode_properties(&p)), p);
    }

    #[test]
    fn decode_accepts_missing_trailing_separator() {
        assert_eq!(decode_properties("A\u{1}1\u{2}B\u{1}2"), props(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn decode_drops_short_and_empty_segments() {
        let s = "\u{1}v\u{2}k\u{1}\u{2}ab\u{2}\u{2}x\u{1}y\u{2}";
        assert_eq!(decode_properties(s), props(&[("x", "y")]));
        assert!(decode_properties("").is_empty());
        assert!(decode_properties("\u{2}\u{2}").is_empty());
    }

    #[test]
    fn decode_keeps_extra_name_separators_in_value() {
        assert_eq!(decode_properties("k\u{1}a\u{1}b\u{2}"), props(&[("k", "a\u{1}b")]));
    }

    #[test]
    fn find_property_reads_one_value() {
        let s = "KEYS\u{1}k\u{2}TAGS\u{1}TagA\u{2}";
        assert_eq!(find_property(s, "TAGS"), Some("TagA"));
        assert_eq!(find_property(s, "DELAY"), None);
        assert_eq!(find_property("TAGS\u{1}\u{2}", "TAGS"), None);
    }

    #[test]
    fn decode_bytes_replaces_invalid_utf8() {
        let p = decode_properties_bytes(b"k\x01\xff\x02");
        assert_eq!(p.get("k").map(String::as_str), Some("\u{fffd}"));
    }
}

//! Messages on the wire and on disk: properties strings, stored records, batch bodies, message ids.
//!
//! A pure codec: no I/O, no async. The stored record layout is the CommitLog format and the pull
//! body format at once (see [`record`]); this module root holds the small helpers shared by
//! producers, the broker and the store (tag hashing, `sysFlag` bits, topic and group names).

pub mod batch;
pub mod compression;
pub mod id;
pub mod properties;
pub mod record;

pub use batch::{decode_batch, encode_batch, BatchEntry};
pub use id::{create_offset_msg_id, decode_offset_msg_id, MessageIdError, UniqIdGenerator};
pub use properties::{decode_properties, encode_properties, keys, Properties};
pub use record::{
    encode_record, peek_header, record_len, RecordError, RecordHeader, RecordParts, RecordView, StoredMessage,
};

/// Bits of a message's `sysFlag` (Apache `MessageSysFlag`).
pub mod sys_flag {
    /// The body is compressed (algorithm in [`COMPRESSION_TYPE_MASK`]; 0 means zlib).
    pub const COMPRESSED: i32 = 0x1;
    /// Legacy multi-tag marker; has no effect on tag hashing.
    pub const MULTI_TAGS: i32 = 0x2;
    /// Transaction type: not a transactional message.
    pub const TRANSACTION_NOT: i32 = 0x0;
    /// Transaction type: half (prepared) message.
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    /// Transaction type: committed message.
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    /// Transaction type: rolled-back message.
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    /// Mask selecting the transaction type bits.
    pub const TRANSACTION_MASK: i32 = 0xC;
    /// The born host is IPv6 (a 20-byte field in the record).
    pub const BORNHOST_V6: i32 = 0x10;
    /// The store host is IPv6 (a 20-byte field in the record).
    pub const STOREHOST_V6: i32 = 0x20;
    /// Inner-batch message the client must unwrap (5.x).
    pub const NEED_UNWRAP: i32 = 0x40;
    /// Inner batch (BatchCQ topics, 5.x).
    pub const INNER_BATCH: i32 = 0x80;
    /// Mask selecting the compression type (bits 8–10).
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type of a `sysFlag`: one of the `TRANSACTION_*` constants.
    pub fn transaction_type(flag: i32) -> i32 {
        flag & TRANSACTION_MASK
    }

    /// Whether a message with this `sysFlag` gets a queue offset and a ConsumeQueue entry
    /// (transaction type NOT or COMMIT).
    pub fn is_dispatchable(flag: i32) -> bool {
        matches!(transaction_type(flag), TRANSACTION_NOT | TRANSACTION_COMMIT)
    }
}

/// Prefix of retry topics (`%RETRY%<group>`).
pub const RETRY_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of dead-letter topics (`%DLQ%<group>`).
pub const DLQ_TOPIC_PREFIX: &str = "%DLQ%";
/// Longest ordinary topic name, in characters.
pub const TOPIC_MAX_LEN: usize = 127;
/// Longest retry or DLQ topic name, in characters.
pub const RETRY_TOPIC_MAX_LEN: usize = 255;
/// Longest group name, in characters.
pub const GROUP_MAX_LEN: usize = 120;

/// Java `String.hashCode()`: `h = 31*h + c` over UTF-16 code units, wrapping on overflow.
///
/// Tags must be hashed exactly like this so that Java consumers and our ConsumeQueue agree.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The ConsumeQueue tags code of a `TAGS` property: its Java hash sign-extended to i64, or 0
/// when there are no tags (absent or empty).
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

fn check_name(kind: &str, name: &str, max_len: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("the specified {kind} is blank"));
    }
    if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "the specified {kind} [{name}] contains illegal character {bad:?}, allowed: ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    // All allowed characters are ASCII, so the byte length is the character count.
    if name.len() > max_len {
        return Err(format!("the specified {kind} is longer than {max_len} characters: {}", name.len()));
    }
    Ok(())
}

/// Checks a topic name: non-empty, only `[%|a-zA-Z0-9_-]`, at most 127 characters
/// (255 for `%RETRY%` and `%DLQ%` topics). The error is a human-readable remark.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    let max = if topic.starts_with(RETRY_TOPIC_PREFIX) || topic.starts_with(DLQ_TOPIC_PREFIX) {
        RETRY_TOPIC_MAX_LEN
    } else {
        TOPIC_MAX_LEN
    };
    check_name("topic", topic, max)
}

/// Checks a consumer or producer group name: non-empty, only `[%|a-zA-Z0-9_-]`, at most 120
/// characters. The error is a human-readable remark.
pub fn validate_group(group: &str) -> Result<(), String> {
    check_name("group", group, GROUP_MAX_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        // "hello world".hashCode() in Java
        assert_eq!(java_string_hash("hello world"), 1_794_106_052);
        // Overflow wraps: "polygenelubricants".hashCode() == Integer.MIN_VALUE
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn java_hash_uses_utf16_code_units_for_non_ascii() {
        // "é" is U+00E9 → 233 (one UTF-16 unit, two UTF-8 bytes)
        assert_eq!(java_string_hash("é"), 233);
        // "中文".hashCode() == 0x4E2D*31 + 0x6587
        assert_eq!(java_string_hash("中文"), 0x4E2D * 31 + 0x6587);
        // U+1F600 is a surrogate pair D83D DE00
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn tags_code_sign_extends_and_is_zero_without_tags() {
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        assert_eq!(tags_code(Some("TagA")), 2_598_919);
        assert_eq!(tags_code(Some("polygenelubricants")), i64::from(i32::MIN));
        assert!(tags_code(Some("polygenelubricants")) < 0);
    }

    #[test]
    fn transaction_type_and_dispatchability() {
        use sys_flag::*;
        assert_eq!(transaction_type(COMPRESSED | TRANSACTION_ROLLBACK | BORNHOST_V6), TRANSACTION_ROLLBACK);
        assert!(is_dispatchable(0));
        assert!(is_dispatchable(TRANSACTION_COMMIT | COMPRESSED));
        assert!(!is_dispatchable(TRANSACTION_PREPARED));
        assert!(!is_dispatchable(TRANSACTION_ROLLBACK));
    }

    #[test]
    fn topic_validation_enforces_charset_and_lengths() {
        assert!(validate_topic("TopicTest").is_ok());
        assert!(validate_topic("a-b_c|d%e").is_ok());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic("bad/topic").is_err());
        assert!(validate_topic("tôpic").is_err());
        assert!(validate_topic(&"t".repeat(127)).is_ok());
        assert!(validate_topic(&"t".repeat(128)).is_err());
        let retry = format!("%RETRY%{}", "g".repeat(248));
        assert_eq!(retry.len(), 255);
        assert!(validate_topic(&retry).is_ok());
        assert!(validate_topic(&format!("{retry}x")).is_err());
        assert!(validate_topic(&format!("%DLQ%{}", "g".repeat(200))).is_ok());
    }

    #[test]
    fn group_validation_enforces_charset_and_length() {
        assert!(validate_group("please_rename_unique_group_name").is_ok());
        assert!(validate_group("").is_err());
        assert!(validate_group("g.1").is_err());
        assert!(validate_group(&"g".repeat(120)).is_ok());
        assert!(validate_group(&"g".repeat(121)).is_err());
    }
}

//! The fuzz targets' bodies: each takes arbitrary bytes, feeds them to one decoder of untrusted
//! input, and panics only when an invariant breaks (a decoder that panics on its own is a bug
//! the fuzzer reports as well). `fuzz/` runs them under libFuzzer; `tests/replay_corpus.rs` runs
//! every saved input and every past crash as a regression test.

use bytes::BytesMut;
use rmq_remoting::frame::FrameCodec;
use rmq_remoting::message::properties::decode_properties_bytes;
use rmq_remoting::message::{decode_batch, StoredMessage};
use tokio_util::codec::{Decoder, Encoder};

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame_codec", frame_codec),
    ("json_header", json_header),
    ("binary_header", binary_header),
    ("stored_message", stored_message),
    ("properties", properties),
    ("batch", batch),
    ("sql92_filter", sql92_filter),
    ("store_recovery", store_recovery),
];

/// Frames (length prefix, serialize type, either header format, body) decoded as a server's
/// connection decodes a byte stream; a decoded command re-encodes and decodes to itself. The
/// round trip uses a larger limit: re-encoding may legitimately grow a frame (JSON escapes).
pub fn frame_codec(data: &[u8]) {
    let mut codec = FrameCodec::new(1 << 20);
    let mut round_trip = FrameCodec::new(1 << 26);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = codec.decode(&mut buf) {
        let mut again = BytesMut::new();
        if round_trip.encode(cmd.clone(), &mut again).is_ok() {
            let round = round_trip.decode(&mut again).expect("a re-encoded frame decodes").expect("whole frame");
            assert_eq!(round.code, cmd.code);
            assert_eq!(round.ext_fields, cmd.ext_fields);
            assert_eq!(round.body, cmd.body);
        }
    }
}

/// A JSON header on its own; where the one-pass scanner reads it, serde must read it the same.
pub fn json_header(data: &[u8]) {
    use rmq_remoting::header::json;
    let _ = json::decode(bytes::Bytes::copy_from_slice(data), bytes::Bytes::new());
    if let Ok(text) = std::str::from_utf8(data) {
        let header = bytestring::ByteString::from(text);
        if let Some(fast) = json::decode_fast(&header, bytes::Bytes::new()) {
            let slow = json::decode_serde(data, bytes::Bytes::new()).expect("serde reads what the scanner reads");
            assert_eq!(fast, slow, "the scanner and serde disagree");
        }
    }
}

/// A ROCKETMQ binary header on its own.
pub fn binary_header(data: &[u8]) {
    let _ = rmq_remoting::header::binary::decode(data, bytes::Bytes::new());
}

/// Stored message records (pull bodies, CommitLog contents).
pub fn stored_message(data: &[u8]) {
    if let Ok((_, used)) = StoredMessage::decode(data) {
        assert!(used <= data.len(), "decoded {used} bytes of {}", data.len());
    }
    let _ = StoredMessage::decode_all(data);
}

/// A properties string (`name\x01value\x02…`).
pub fn properties(data: &[u8]) {
    let _ = decode_properties_bytes(data);
}

/// A batch send body.
pub fn batch(data: &[u8]) {
    let _ = decode_batch(data);
}

/// An SQL92 subscription expression.
pub fn sql92_filter(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rmq_broker::filter::sql92::Expression::parse(text);
    }
}

/// Size of the CommitLog file the recovery target writes.
const RECOVERY_FILE: usize = 64 * 1024;

/// The store's recovery reader on an arbitrary first CommitLog file (no checkpoint: the
/// abnormal-stop path): the store opens, ends inside the file, and opens again to the same end.
pub fn store_recovery(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = rmq_store::StoreConfig::new(dir.path(), "127.0.0.1:10911".parse().expect("addr"));
    config.commit_log_file_size = RECOVERY_FILE as u64;
    std::fs::create_dir_all(&config.commit_log_dir).expect("commitlog dir");
    let mut file = vec![0u8; RECOVERY_FILE];
    let n = data.len().min(RECOVERY_FILE);
    file[..n].copy_from_slice(&data[..n]);
    std::fs::write(config.commit_log_dir.join(format!("{:020}", 0)), file).expect("commitlog file");
    let Ok(store) = rmq_store::MessageStore::open(config.clone()) else {
        return;
    };
    let end = store.commit_log_max_offset();
    assert!((0..=RECOVERY_FILE as i64).contains(&end), "recovered end {end}");
    store.shutdown();
    drop(store);
    let store = rmq_store::MessageStore::open(config).expect("a recovered store opens again");
    assert_eq!(store.commit_log_max_offset(), end, "recovery is stable");
    store.shutdown();
}

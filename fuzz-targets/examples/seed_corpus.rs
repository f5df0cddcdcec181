//! Writes one valid input per fuzz target into `fuzz/corpus/<target>/seed-*`, made with rmq's
//! own encoders, so the fuzzers start from well-formed inputs and the replay test has a case per
//! target: `cargo run -p rmq-fuzz-targets --example seed_corpus`.

use std::path::Path;

use bytes::BytesMut;
use rmq_remoting::frame::FrameCodec;
use rmq_remoting::message::properties::{encode_properties, Properties};
use rmq_remoting::message::{encode_batch, encode_record, BatchEntry, RecordParts};
use rmq_remoting::{RemotingCommand, RequestCode, SerializeType};
use tokio_util::codec::Encoder;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), data)
    };

    let mut request = RemotingCommand::request(RequestCode::SendMessageV2).with_body(b"hello".to_vec());
    request.ext_fields.insert("a", "producer_group");
    request.ext_fields.insert("b", "TopicTest");
    request.ext_fields.insert("e", "UNIQ_KEY\u{1}ABC\u{2}");
    for (name, kind) in [("json", SerializeType::Json), ("binary", SerializeType::RocketMq)] {
        let mut cmd = request.clone();
        cmd.serialize_type = kind;
        let mut frame = BytesMut::new();
        FrameCodec::new(1 << 20).encode(cmd.clone(), &mut frame).map_err(std::io::Error::other)?;
        write("frame_codec", name, &frame)?;
        let header = match kind {
            SerializeType::Json => rmq_remoting::header::json::encode(&cmd),
            SerializeType::RocketMq => rmq_remoting::header::binary::encode(&cmd),
        };
        write(if name == "json" { "json_header" } else { "binary_header" }, name, &header)?;
    }

    let mut props = Properties::new();
    props.insert("UNIQ_KEY".into(), "7F000001000018B4AAC2".into());
    props.insert("KEYS".into(), "order-1 order-2".into());
    props.insert("TAGS".into(), "TagA".into());
    let props_text = encode_properties(&props);
    write("properties", "three", props_text.as_bytes())?;

    let mut log = BytesMut::new();
    for i in 0..3i64 {
        let body = format!("message {i}");
        let parts = RecordParts {
            queue_id: 0,
            flag: 0,
            queue_offset: i,
            physical_offset: log.len() as i64,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000 + i,
            born_host: "127.0.0.1:50000".parse().map_err(std::io::Error::other)?,
            store_timestamp: 1_700_000_000_100 + i,
            store_host: "127.0.0.1:10911".parse().map_err(std::io::Error::other)?,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.as_bytes(),
            topic: "TopicTest",
            properties: &props_text,
        };
        encode_record(&parts, &mut log).map_err(std::io::Error::other)?;
    }
    write("stored_message", "three", &log)?;
    write("store_recovery", "three", &log)?;

    let entries: Vec<BatchEntry> = (0..3)
        .map(|i| BatchEntry { flag: 0, body: format!("batch {i}").into_bytes().into(), properties: props.clone() })
        .collect();
    let mut batch = BytesMut::new();
    encode_batch(&entries, &mut batch).map_err(std::io::Error::other)?;
    write("batch", "three", &batch)?;

    write("sql92_filter", "and-or", b"(a > 10 AND b = 'x') OR c IS NULL OR d BETWEEN 1 AND 3 OR e IN ('p', 'q')")?;
    println!("seed corpus written under {}", root.display());
    Ok(())
}

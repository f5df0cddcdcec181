//! Shared fixtures for the store's behaviour tests: small-file configs and message builders.
#![allow(dead_code)] // each test binary uses a different subset

pub mod power_cut;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_remoting::message::properties::{encode_properties, keys, Properties};
use rmq_remoting::message::{tags_code, StoredMessage};
use rmq_store::{FlushMode, MessageStore, NewMessage, StoreConfig};

/// CommitLog file size used by the tests (forces frequent rolls).
pub const COMMIT_LOG_FILE_SIZE: u64 = 4096;

/// A config with 4 KiB CommitLog files, 10-entry ConsumeQueue files and IndexFiles of 64 slots
/// and 1000 entries under `dir`.
pub fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir, "10.0.0.9:10911".parse().expect("addr"));
    config.commit_log_file_size = COMMIT_LOG_FILE_SIZE;
    config.consume_queue_file_size = 200;
    config.max_hash_slot_num = 64;
    config.max_index_num = 1000;
    config.flush = FlushMode::Async { interval: Duration::from_secs(3600) };
    config
}

/// Opens a store over `dir` with [`config`].
pub fn open(dir: &Path) -> Arc<MessageStore> {
    MessageStore::open(config(dir)).expect("store opens")
}

/// A message with an optional `TAGS` property.
pub fn msg(topic: &str, queue_id: i32, body: &[u8], tags: Option<&str>) -> NewMessage {
    let mut props = Properties::new();
    props.insert(keys::UNIQ_KEY.into(), "0A000001000000000000000000000001".into());
    if let Some(tags) = tags {
        props.insert(keys::TAGS.into(), tags.into());
    }
    NewMessage {
        topic: topic.into(),
        queue_id,
        flag: 0,
        body: Bytes::copy_from_slice(body),
        properties: encode_properties(&props),
        tags_code: tags_code(tags),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "192.168.7.7:50000".parse().expect("addr"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// Decodes one raw record.
pub fn decode(record: &Bytes) -> StoredMessage {
    StoredMessage::decode(record).expect("valid record").0
}

/// Path of the CommitLog file starting at `offset`.
pub fn commit_log_file(dir: &Path, offset: u64) -> PathBuf {
    dir.join("commitlog").join(format!("{offset:020}"))
}

/// Reads everything in a queue from offset 0.
pub fn read_all(store: &MessageStore, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
    let result = store.read(topic, queue_id, 0, 10_000, usize::MAX, &|_| true);
    result.records.iter().map(decode).collect()
}

//! Transactional messages, as Apache's `TransactionalMessageService`: a prepared send is stored
//! as a half message in `RMQ_SYS_TRANS_HALF_TOPIC` (invisible to consumers); END_TRANSACTION
//! commits it (re-put to the real topic) or rolls it back, recording an op message in
//! `RMQ_SYS_TRANS_OP_HALF_TOPIC`; half messages left unresolved past `transactionTimeOut` are
//! re-appended and checked back with the producer group (CHECK_TRANSACTION_STATE, one-way), at
//! most `transactionCheckMax` times.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_remoting::message::{
    create_offset_msg_id, encode_properties, encode_record, keys, sys_flag, tags_code, Properties, RecordParts,
    StoredMessage,
};
use rmq_remoting::protocol::send::CheckTransactionStateRequest;
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_store::{NewMessage, ReadStatus};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::meta::now_ms;
use crate::runtime::Broker;

/// Where half messages wait.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where commit/rollback decisions are recorded.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";

/// Transaction settings (`transactionTimeOut`, `transactionCheckMax`, `transactionCheckInterval`).
#[derive(Debug, Clone)]
pub struct TransactionConfig {
    /// Age before a half message is checked.
    pub timeout: Duration,
    /// Checks before a half message is given up.
    pub check_max: i32,
    /// Time between check passes.
    pub check_interval: Duration,
}

/// In-memory view of resolved half messages.
#[derive(Default)]
pub struct Transactions {
    /// Half-topic queue offsets already committed or rolled back.
    resolved: Mutex<BTreeSet<i64>>,
    /// First half offset not yet known to be resolved or re-appended.
    check_from: AtomicI64,
    /// Op-topic offset read so far.
    op_read: AtomicI64,
}

impl Transactions {
    fn is_resolved(&self, half_offset: i64) -> bool {
        self.resolved.lock().unwrap_or_else(|e| e.into_inner()).contains(&half_offset)
    }

    fn mark(&self, half_offset: i64) {
        self.resolved.lock().unwrap_or_else(|e| e.into_inner()).insert(half_offset);
    }

    /// Forgets decisions below `offset`: the checker never looks there again, so the set stays
    /// as small as the window of unresolved half messages.
    fn forget_below(&self, offset: i64) {
        let mut resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        *resolved = resolved.split_off(&offset);
    }
}

/// Turns a prepared send into a half message: real topic and queue go to properties (which the
/// caller encodes afterwards), the message goes to the half topic as a plain (dispatchable) message.
pub fn park_half(msg: &mut NewMessage, props: &mut Properties) {
    props.insert(keys::REAL_TOPIC.to_owned(), std::mem::replace(&mut msg.topic, HALF_TOPIC.to_owned()));
    props.insert(keys::REAL_QID.to_owned(), msg.queue_id.to_string());
    msg.queue_id = 0;
    msg.sys_flag &= !sys_flag::TRANSACTION_MASK;
    msg.tags_code = 0;
}

/// Records a decision on the half message at `half_offset` in the op topic.
fn record_op(broker: &Broker, half_offset: i64) {
    broker.transactions.mark(half_offset);
    let mut props = Properties::new();
    props.insert(keys::TAGS.to_owned(), "d".to_owned());
    let op = NewMessage {
        topic: OP_TOPIC.to_owned(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from(format!("{half_offset},")),
        properties: encode_properties(&props),
        tags_code: tags_code(Some("d")),
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: broker.store.config().store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    if let Err(e) = broker.store.put(op) {
        warn!(half_offset, error = %e, "cannot record a transaction decision");
    }
}

/// The real topic of the half message at `commit_log_offset`, if there is one.
pub fn real_topic(broker: &Broker, commit_log_offset: i64) -> Option<String> {
    let record = broker.store.message_at(commit_log_offset)?;
    let (half, _) = StoredMessage::decode(&record).ok()?;
    (half.topic == HALF_TOPIC).then(|| half.properties.get(keys::REAL_TOPIC).cloned()).flatten()
}

/// Commits (`commit = true`) or rolls back the half message at `commit_log_offset`.
pub fn end(broker: &Broker, commit_log_offset: i64, producer_group: &str, commit: bool) -> Result<(), String> {
    let record = broker.store.message_at(commit_log_offset).ok_or("the half message was not found")?;
    let (half, _) = StoredMessage::decode(&record).map_err(|e| e.to_string())?;
    if half.topic != HALF_TOPIC {
        return Err("the offset does not point at a half message".into());
    }
    if half.properties.get(keys::PGROUP).is_some_and(|g| g != producer_group) {
        return Err("the producer group does not match the half message".into());
    }
    if broker.transactions.is_resolved(half.queue_offset) {
        return Ok(());
    }
    if commit {
        let mut props = half.properties.clone();
        let topic = props.remove(keys::REAL_TOPIC).unwrap_or_default();
        let queue_id = props.remove(keys::REAL_QID).and_then(|q| q.parse().ok()).unwrap_or(0);
        props.remove(keys::TRANSACTION_CHECK_TIMES);
        let msg = NewMessage {
            topic,
            queue_id,
            flag: half.flag,
            body: half.body.clone(),
            tags_code: tags_code(props.get(keys::TAGS).map(String::as_str)),
            properties: encode_properties(&props),
            sys_flag: (half.sys_flag & !sys_flag::TRANSACTION_MASK) | sys_flag::TRANSACTION_COMMIT,
            born_timestamp: half.born_timestamp,
            born_host: half.born_host,
            reconsume_times: half.reconsume_times,
            prepared_transaction_offset: commit_log_offset,
        };
        broker.store.put(msg).map_err(|e| e.to_string())?;
    }
    let real_topic = half.properties.get(keys::REAL_TOPIC).map_or("", String::as_str);
    broker.metrics.traffic.transaction_finished(real_topic, commit, (now_ms() - half.born_timestamp) / 1000);
    record_op(broker, half.queue_offset);
    Ok(())
}

/// Reads new op records so decisions made before a restart are known.
fn catch_up_ops(broker: &Broker) {
    let tx = &broker.transactions;
    loop {
        let from = tx.op_read.load(Ordering::Relaxed).max(broker.store.min_offset(OP_TOPIC, 0));
        let result = broker.store.read(OP_TOPIC, 0, from, 32, 1 << 20, &|_| true);
        if result.status != ReadStatus::Found {
            return;
        }
        for record in &result.records {
            if let Ok((op, _)) = StoredMessage::decode(record) {
                for offset in String::from_utf8_lossy(&op.body).split(',').filter_map(|s| s.trim().parse().ok()) {
                    tx.mark(offset);
                }
            }
        }
        tx.op_read.store(result.next_begin_offset, Ordering::Relaxed);
    }
}

/// Checks unresolved half messages every `check_interval` until `stop`.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(broker.config.transaction.check_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if broker.replication.writable().is_ok() {
                    check_pass(&broker).await;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn check_pass(broker: &Broker) {
    catch_up_ops(broker);
    let tx = &broker.transactions;
    let cfg = &broker.config.transaction;
    let mut offset = tx.check_from.load(Ordering::Relaxed).max(broker.store.min_offset(HALF_TOPIC, 0));
    loop {
        let result = broker.store.read(HALF_TOPIC, 0, offset, 32, 1 << 20, &|_| true);
        if result.status != ReadStatus::Found {
            break;
        }
        for record in &result.records {
            let Ok((half, _)) = StoredMessage::decode(record) else {
                offset += 1;
                continue;
            };
            if !tx.is_resolved(half.queue_offset) {
                let immunity = half
                    .properties
                    .get(keys::CHECK_IMMUNITY_TIME_IN_SECONDS)
                    .and_then(|s| s.parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(cfg.timeout);
                if now_ms() - half.store_timestamp < immunity.as_millis() as i64 {
                    tx.check_from.store(offset, Ordering::Relaxed);
                    tx.forget_below(offset);
                    return;
                }
                check_back(broker, &half).await;
            }
            offset = half.queue_offset + 1;
        }
    }
    tx.check_from.store(offset, Ordering::Relaxed);
    tx.forget_below(offset);
}

/// Where half messages that were checked `transactionCheckMax` times end up (Apache's
/// `TopicValidator.RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC`).
pub const CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";

fn park_unresolvable(broker: &Broker, half: &StoredMessage) -> Result<(), rmq_store::StoreError> {
    if broker.topics.ensure(CHECK_MAX_TIME_TOPIC, 1, rmq_remoting::protocol::body::perm::READ_WRITE).1 {
        broker.register_soon();
    }
    broker.store.put(NewMessage {
        topic: CHECK_MAX_TIME_TOPIC.to_owned(),
        queue_id: 0,
        flag: half.flag,
        body: half.body.clone(),
        properties: encode_properties(&half.properties),
        tags_code: 0,
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: 0,
    })?;
    Ok(())
}

/// Re-appends an unresolved half message (so its age restarts) and asks its producer group.
async fn check_back(broker: &Broker, half: &StoredMessage) {
    let checks = half.properties.get(keys::TRANSACTION_CHECK_TIMES).and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
    broker.transactions.mark(half.queue_offset);
    if checks >= broker.config.transaction.check_max {
        // As Apache's default check listener: kept aside in TRANS_CHECK_MAX_TIME_TOPIC, never delivered.
        let uniq = half.properties.get(keys::UNIQ_KEY);
        match park_unresolvable(broker, half) {
            Ok(()) => info!(?uniq, checks, "half message checked too often; moved to {CHECK_MAX_TIME_TOPIC}"),
            Err(e) => warn!(?uniq, error = %e, "half message checked too often; cannot keep it aside"),
        }
        return;
    }
    let mut props = half.properties.clone();
    props.insert(keys::TRANSACTION_CHECK_TIMES.to_owned(), (checks + 1).to_string());
    let again = NewMessage {
        topic: HALF_TOPIC.to_owned(),
        queue_id: 0,
        flag: half.flag,
        body: half.body.clone(),
        properties: encode_properties(&props),
        tags_code: 0,
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: 0,
    };
    let Ok(put) = broker.store.put(again) else {
        warn!("cannot re-append a half message for its check");
        return;
    };
    let Some(group) = props.get(keys::PGROUP).cloned() else { return };
    let connections = broker.clients.producer_channels(&group);
    let Some(conn) = connections.first() else {
        debug!(%group, "no producer online to check a half message");
        return;
    };
    let commit_log_offset = put.commit_log_offsets.first().copied().unwrap_or(0);
    let uniq = props.get(keys::UNIQ_KEY).cloned().unwrap_or_default();
    let header = CheckTransactionStateRequest {
        topic: props.get(keys::REAL_TOPIC).cloned(),
        tran_state_table_offset: put.first_queue_offset,
        commit_log_offset,
        msg_id: Some(uniq.clone()),
        transaction_id: Some(uniq),
        offset_msg_id: Some(create_offset_msg_id(broker.store.config().store_host, commit_log_offset)),
    };
    let body = client_view(half, &props, commit_log_offset, put.first_queue_offset, put.store_timestamp);
    let request = RemotingCommand::request(RequestCode::CheckTransactionState).with_header(&header).with_body(body);
    if let Err(e) = conn.oneway(request).await {
        debug!(%group, error = %e, "cannot send a transaction check");
    }
}

/// The record the producer sees in a check: the re-appended half message with its real topic
/// and queue restored.
fn client_view(half: &StoredMessage, props: &Properties, offset: i64, queue_offset: i64, store_ts: i64) -> Bytes {
    let topic = props.get(keys::REAL_TOPIC).cloned().unwrap_or_default();
    let queue_id = props.get(keys::REAL_QID).and_then(|q| q.parse().ok()).unwrap_or(0);
    let properties = encode_properties(props);
    let parts = RecordParts {
        queue_id,
        flag: half.flag,
        queue_offset,
        physical_offset: offset,
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_timestamp: store_ts,
        store_host: half.store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: 0,
        body: &half.body,
        topic: &topic,
        properties: &properties,
    };
    let mut out = BytesMut::new();
    if encode_record(&parts, &mut out).is_err() {
        return Bytes::new();
    }
    out.freeze()
}

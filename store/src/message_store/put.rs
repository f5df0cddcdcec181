//! Appending messages: validation, queue offset assignment, encoding under the put lock,
//! ConsumeQueue entries, index keys, the arrival notification, and waiting for durability
//! (a flush on the caller for the blocking puts, the group commit for [`MessageStore::append`]).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rmq_remoting::message::record::{encode_record, record_len, RecordParts, PROPERTIES_MAX_LEN};
use rmq_remoting::message::sys_flag;

use super::dispatch::is_path_safe_topic;
use super::MessageStore;
use crate::config::FlushMode;
use crate::consumequeue::CqEntry;
use crate::error::StoreError;
use crate::group_commit::Durable;
use crate::now_ms;

/// Longest topic the store accepts, in bytes (retry topics; topics above 127 use V2 records).
const TOPIC_MAX_BYTES: usize = 255;
/// Slack allowed for everything but the body in one record (Apache: maxMessageSize + 64 KiB).
const RECORD_OVERHEAD_MAX: usize = 64 * 1024;

/// A message to append. The store assigns PHYSICALOFFSET, QUEUEOFFSET, STORETIMESTAMP,
/// STOREHOST and the IPv6 SYSFLAG bits.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Topic (≤ 255 bytes).
    pub topic: String,
    /// Queue id (≥ 0).
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Body as it will be stored (≤ `max_message_size`).
    pub body: Bytes,
    /// Encoded properties string (≤ 32767 bytes).
    pub properties: String,
    /// ConsumeQueue tags code (tags hash, or delivery time in the schedule topic).
    pub tags_code: i64,
    /// SYSFLAG; its transaction type decides whether a queue offset is assigned.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Times re-consumed.
    pub reconsume_times: i32,
    /// CommitLog offset of the half message (committed transaction messages), else 0.
    pub prepared_transaction_offset: i64,
}

/// Where appended messages went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOk {
    /// CommitLog offset of each message, in order.
    pub commit_log_offsets: Vec<i64>,
    /// Queue offset of the first message (0 for PREPARED/ROLLBACK transaction messages).
    pub first_queue_offset: i64,
    /// STORETIMESTAMP shared by the messages.
    pub store_timestamp: i64,
    /// CommitLog offset just after the last message (what a slave must have to hold them).
    pub end_offset: i64,
}

impl MessageStore {
    /// Appends one message; under `SYNC_FLUSH` returns only once it is durable (flushing on the
    /// calling thread). Request handlers on an async runtime use [`MessageStore::append`].
    pub fn put(&self, msg: NewMessage) -> Result<PutOk, StoreError> {
        self.put_blocking(std::slice::from_ref(&msg))
    }

    /// Appends a batch: all to the same topic and queue, no transaction flags; they get
    /// consecutive queue offsets, one store timestamp, and land in one CommitLog file. Durable on
    /// return, like [`MessageStore::put`].
    pub fn put_batch(&self, msgs: Vec<NewMessage>) -> Result<PutOk, StoreError> {
        check_batch(&msgs)?;
        self.put_blocking(&msgs)
    }

    /// Appends one message without waiting for a flush: readers see it at once, and the
    /// [`Durable`] resolves when it is on disk (at once under `ASYNC_FLUSH`; under `SYNC_FLUSH`
    /// after the group commit's next flush, shared with every other put waiting then).
    pub fn append(&self, msg: NewMessage) -> Result<(PutOk, Durable), StoreError> {
        let ok = self.write(std::slice::from_ref(&msg))?;
        Ok((ok, self.durable_after_write()))
    }

    /// [`MessageStore::put_batch`] without waiting for a flush, like [`MessageStore::append`].
    pub fn append_batch(&self, msgs: Vec<NewMessage>) -> Result<(PutOk, Durable), StoreError> {
        check_batch(&msgs)?;
        let ok = self.write(&msgs)?;
        Ok((ok, self.durable_after_write()))
    }

    fn put_blocking(&self, msgs: &[NewMessage]) -> Result<PutOk, StoreError> {
        let ok = self.write(msgs)?;
        if self.config.flush == FlushMode::Sync {
            self.commit_log.flush()?;
        }
        Ok(ok)
    }

    fn durable_after_write(&self) -> Durable {
        match &self.group_commit {
            Some(group_commit) => group_commit.request(),
            None => Durable::ready(),
        }
    }

    pub(super) fn check_writable(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::ServiceUnavailable("message store is shut down".into()));
        }
        if self.disk.is_full() {
            return Err(StoreError::ServiceUnavailable(
                "service not available now. It may be caused by the broker's disk is full: store usage \
                 reached disk_space_warning_level_ratio, writes resume when cleaning frees space"
                    .into(),
            ));
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::ServiceUnavailable(
                "message store is not writable after a ConsumeQueue or index write error".into(),
            ));
        }
        Ok(())
    }

    fn validate(&self, msg: &NewMessage) -> Result<(), StoreError> {
        let illegal = |why: String| Err(StoreError::MessageIllegal(why));
        if !is_path_safe_topic(&msg.topic) || msg.topic.len() > TOPIC_MAX_BYTES {
            return illegal(format!("bad topic name (empty, unsafe or over {TOPIC_MAX_BYTES} bytes): {:?}", msg.topic));
        }
        if msg.queue_id < 0 {
            return illegal(format!("negative queue id {}", msg.queue_id));
        }
        if msg.body.len() > self.config.max_message_size {
            return illegal(format!("body of {} bytes exceeds {}", msg.body.len(), self.config.max_message_size));
        }
        if msg.properties.len() > PROPERTIES_MAX_LEN {
            return illegal(format!("properties of {} bytes exceed {PROPERTIES_MAX_LEN}", msg.properties.len()));
        }
        Ok(())
    }

    fn parts<'a>(
        &self,
        msg: &'a NewMessage,
        queue_offset: i64,
        physical_offset: i64,
        store_timestamp: i64,
    ) -> RecordParts<'a> {
        RecordParts {
            queue_id: msg.queue_id,
            flag: msg.flag,
            queue_offset,
            physical_offset,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            born_host: msg.born_host,
            store_timestamp,
            store_host: self.config.store_host,
            reconsume_times: msg.reconsume_times,
            prepared_transaction_offset: msg.prepared_transaction_offset,
            body: &msg.body,
            topic: &msg.topic,
            properties: &msg.properties,
        }
    }

    /// Validates, encodes and appends `msgs`, writes their ConsumeQueue entries and index keys,
    /// and wakes readers; flushing is the caller's.
    fn write(&self, msgs: &[NewMessage]) -> Result<PutOk, StoreError> {
        self.check_writable()?;
        let Some(first) = msgs.first() else {
            return Err(StoreError::MessageIllegal("no message".into()));
        };
        for msg in msgs {
            self.validate(msg)?;
        }
        let dispatch = sys_flag::is_dispatchable(first.sys_flag);
        let illegal = |e: rmq_remoting::message::RecordError| StoreError::MessageIllegal(e.to_string());
        let (put_ok, new_max) = {
            let mut state = self
                .put_lock
                .lock()
                .map_err(|_| StoreError::ServiceUnavailable("message store poisoned by a panic during a put".into()))?;
            self.check_writable()?;
            let queue = dispatch.then(|| self.queues.get_or_create(&first.topic, first.queue_id));
            let first_queue_offset = queue.as_ref().map_or(0, |q| q.max_offset());
            let queue_offset = |i: usize| if dispatch { first_queue_offset + i as i64 } else { 0 };
            let store_timestamp = now_ms().max(state.last_store_timestamp);
            let mut lens = Vec::with_capacity(msgs.len());
            for (i, msg) in msgs.iter().enumerate() {
                let len = record_len(&self.parts(msg, queue_offset(i), 0, store_timestamp)).map_err(illegal)?;
                if len > self.config.max_message_size + RECORD_OVERHEAD_MAX {
                    return Err(StoreError::MessageIllegal(format!("record of {len} bytes is too large")));
                }
                lens.push(len);
            }
            let start = self.commit_log.reserve(lens.iter().sum())?;
            state.last_store_timestamp = store_timestamp;
            state.buf.clear();
            let mut offsets = Vec::with_capacity(msgs.len());
            let mut physical_offset = start;
            for (i, msg) in msgs.iter().enumerate() {
                offsets.push(physical_offset);
                let parts = self.parts(msg, queue_offset(i), physical_offset, store_timestamp);
                physical_offset += encode_record(&parts, &mut state.buf).map_err(illegal)? as i64;
            }
            self.commit_log.append(&state.buf)?;
            if let Some(queue) = &queue {
                for (i, msg) in msgs.iter().enumerate() {
                    let entry =
                        CqEntry { commit_log_offset: offsets[i], size: lens[i] as i32, tags_code: msg.tags_code };
                    if let Err(e) = queue.put(queue_offset(i), entry) {
                        self.poisoned.store(true, Ordering::Release);
                        tracing::error!(error = %e, topic = %first.topic, queue_id = first.queue_id,
                            "ConsumeQueue write failed; the store refuses writes until reopened");
                        return Err(e);
                    }
                }
            }
            self.index_messages(msgs, &offsets, store_timestamp);
            self.durable.stored_through.store(store_timestamp, Ordering::Release);
            let new_max = queue.map(|_| first_queue_offset + msgs.len() as i64);
            (
                PutOk { commit_log_offsets: offsets, first_queue_offset, store_timestamp, end_offset: physical_offset },
                new_max,
            )
        };
        if let Some(new_max) = new_max {
            self.notify_arrival(&first.topic, first.queue_id, new_max);
        }
        Ok(put_ok)
    }

    /// Adds the appended messages' keys to the index (under the put lock). A failure does not
    /// fail this put, whose message is stored and consumable, but like Apache's index error
    /// flag it makes the store refuse later writes until a reopen rebuilds the index.
    fn index_messages(&self, msgs: &[NewMessage], offsets: &[i64], store_timestamp: i64) {
        let Some(index) = &self.index else { return };
        for (msg, offset) in msgs.iter().zip(offsets) {
            if let Err(e) = index.build(&msg.topic, &msg.properties, msg.sys_flag, *offset, store_timestamp) {
                self.poisoned.store(true, Ordering::Release);
                tracing::error!(error = %e, offset, "index write failed; the store refuses writes until reopened");
                return;
            }
        }
    }
}

fn check_batch(msgs: &[NewMessage]) -> Result<(), StoreError> {
    let Some(first) = msgs.first() else {
        return Err(StoreError::MessageIllegal("empty batch".into()));
    };
    if msgs.iter().any(|m| m.topic != first.topic || m.queue_id != first.queue_id) {
        return Err(StoreError::MessageIllegal("batch mixes topics or queues".into()));
    }
    if msgs.iter().any(|m| sys_flag::transaction_type(m.sys_flag) != sys_flag::TRANSACTION_NOT) {
        return Err(StoreError::MessageIllegal("batch messages cannot be transactional".into()));
    }
    Ok(())
}

//! Message tracing, as the Java client's `enableMsgTrace`: a traced producer records each send
//! (`Pub`), a traced push consumer each listener call (`SubBefore`, `SubAfter`), in Apache's
//! trace format ([`TraceRecord`]). Records are queued without waiting and sent in the background,
//! batched, by an internal producer to `RMQ_SYS_TRACE_TOPIC` (or a custom topic), where
//! `mqadmin queryMsgTraceById` finds them by message id. A full queue drops records; a failed
//! trace send is logged. Neither ever fails or slows the traced send or consumption.

mod consume;
mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

pub(crate) use consume::return_type;
pub use record::{PubTrace, SubAfterTrace, SubBeforeTrace, TraceMessageType, TraceRecord};

use crate::core::ClientOptions;
use crate::error::Result;
use crate::message::Message;
use crate::producer::Producer;

/// The default trace topic (Java `TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Records queued before new ones are dropped (Java: 2048).
const QUEUE: usize = 2048;
/// Records per trace message at most (Java `batchNum` ≤ 20).
const BATCH: usize = 20;
/// A record waits at most this long for its batch to fill.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Trace bodies are cut at this size (Java: 128000).
const MAX_BODY: usize = 128_000;

enum Command {
    /// Boxed: a record is large next to a flush request.
    Record {
        topic: String,
        record: Box<TraceRecord>,
    },
    Flush(oneshot::Sender<()>),
}

/// The trace dispatcher of one producer or consumer.
pub(crate) struct Tracer {
    tx: mpsc::Sender<Command>,
    producer: Producer,
    topic: String,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer").field("topic", &self.topic).finish()
    }
}

impl Tracer {
    /// Starts the internal producer (group `_INNER_TRACE_PRODUCER-<group>-<kind>`, as Java) and
    /// the background sender.
    ///
    /// Boxed with a declared `Send` future: building a producer may start a tracer, whose own
    /// producer is built here, and the compiler cannot infer `Send` through that cycle.
    pub fn start(
        options: &ClientOptions,
        group: &str,
        kind: &str,
        topic: String,
    ) -> Pin<Box<dyn Future<Output = Result<Arc<Tracer>>> + Send + 'static>> {
        let builder = Producer::builder()
            .name_server_source(options.name_servers.clone())
            .group(format!("_INNER_TRACE_PRODUCER-{group}-{kind}"))
            .send_timeout(Duration::from_secs(5));
        Box::pin(async move {
            let producer = builder.build().await?;
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(rx, producer.clone(), topic.clone()));
            Ok(Arc::new(Tracer { tx, producer, topic }))
        })
    }

    /// The trace topic; sends to it are never traced.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A new id for a listener call (Java `MessageClientIDSetter.createUniqID`).
    pub fn request_id(&self) -> String {
        self.producer.next_uniq_id()
    }

    /// Queues `record` about a message of `topic`; drops it when the queue is full.
    pub fn append(&self, topic: &str, record: TraceRecord) {
        if let Err(e) = self.tx.try_send(Command::Record { topic: topic.to_owned(), record: Box::new(record) }) {
            debug!(error = %e, "trace record dropped");
        }
    }

    /// Sends what is queued (waiting up to 5 s), then stops the internal producer. Boxed: the
    /// producer's shutdown stops its tracer, which is this.
    pub fn shutdown(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let (done, flushed) = oneshot::channel();
            if self.tx.send(Command::Flush(done)).await.is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(5), flushed).await;
            }
            self.producer.shutdown().await;
        })
    }
}

async fn run(mut rx: mpsc::Receiver<Command>, producer: Producer, trace_topic: String) {
    let mut pending: Vec<(String, TraceRecord)> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let wait = oldest.map_or(Duration::from_secs(3600), |t| FLUSH_INTERVAL.saturating_sub(t.elapsed()));
        let command = tokio::select! {
            c = rx.recv() => c,
            _ = tokio::time::sleep(wait) => {
                send_batch(&producer, &trace_topic, std::mem::take(&mut pending)).await;
                oldest = None;
                continue;
            }
        };
        match command {
            Some(Command::Record { topic, record }) => {
                pending.push((topic, *record));
                oldest.get_or_insert_with(Instant::now);
                if pending.len() >= BATCH {
                    send_batch(&producer, &trace_topic, std::mem::take(&mut pending)).await;
                    oldest = None;
                }
            }
            Some(Command::Flush(done)) => {
                send_batch(&producer, &trace_topic, std::mem::take(&mut pending)).await;
                oldest = None;
                let _ = done.send(());
            }
            None => {
                send_batch(&producer, &trace_topic, pending).await;
                return;
            }
        }
    }
}

/// Sends the records as trace messages, one or more per traced topic (as Java groups them),
/// each keyed by the message ids and keys it covers.
async fn send_batch(producer: &Producer, trace_topic: &str, records: Vec<(String, TraceRecord)>) {
    let mut by_topic: BTreeMap<String, Vec<TraceRecord>> = BTreeMap::new();
    for (topic, record) in records {
        by_topic.entry(topic).or_default().push(record);
    }
    for records in by_topic.into_values() {
        let mut body = String::new();
        let mut keys = BTreeSet::new();
        for record in records {
            record.encode_into(&mut body);
            keys.extend(record.index_keys());
            if body.len() >= MAX_BODY {
                send_one(producer, trace_topic, std::mem::take(&mut body), std::mem::take(&mut keys)).await;
            }
        }
        if !body.is_empty() {
            send_one(producer, trace_topic, body, keys).await;
        }
    }
}

async fn send_one(producer: &Producer, trace_topic: &str, body: String, keys: BTreeSet<String>) {
    let msg = Message::new(trace_topic, body).with_keys(keys);
    match producer.send(msg).await {
        Ok(sent) => debug!(msg_id = %sent.msg_id, "trace data sent"),
        Err(e) => warn!(error = %e, "sending trace data failed; these trace records are lost"),
    }
}

//! The small admin steps `bench/run.sh` needs around a run: wait for a broker's registration
//! (time to ready), create the benchmark topic, count the messages a topic holds.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use serde::Serialize;

use crate::cli::{CreateTopicArgs, ReadyArgs, StoredArgs};

/// Per-request timeout of the admin calls (the NameServer is local).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How long `create-topic` waits for the new topic's route and statistics.
const ROUTE_WAIT: Duration = Duration::from_secs(30);

/// When a broker was first seen registered.
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    /// Always `"ready"`.
    pub kind: &'static str,
    /// The broker waited for.
    pub broker_name: String,
    /// Milliseconds from `--since-epoch-ns` (the spawn) to the first poll that listed the broker.
    pub ready_ms: f64,
    /// NameServer polls made.
    pub polls: u64,
}

/// A topic's message count.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    /// Always `"stored"`.
    pub kind: &'static str,
    /// The topic.
    pub topic: String,
    /// Sum of the max offsets of its queues: messages ever stored (none are deleted within a run).
    pub messages: i64,
}

/// A created topic.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// Always `"topic"`.
    pub kind: &'static str,
    /// The topic.
    pub topic: String,
    /// Broker addresses it was created on.
    pub brokers: Vec<String>,
}

async fn admin(namesrv: &str) -> anyhow::Result<Admin> {
    Admin::builder()
        .name_server(namesrv)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .await
        .with_context(|| format!("NameServer address {namesrv}"))
}

/// Polls the NameServer's cluster info until `broker_name` has an address there.
pub async fn ready(args: ReadyArgs) -> anyhow::Result<Ready> {
    let now_ns = || SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let since = args.since_epoch_ns.unwrap_or_else(now_ns);
    let admin = admin(&args.cluster.namesrv).await?;
    let deadline = Instant::now() + args.timeout;
    let mut polls = 0;
    let mut last_error = String::from("never listed");
    loop {
        polls += 1;
        match admin.cluster_info().await {
            Ok(info) => {
                if info.broker_addr_table.get(&args.broker_name).is_some_and(|b| !b.broker_addrs.is_empty()) {
                    let ready_ms = now_ns().saturating_sub(since) as f64 / 1e6;
                    admin.shutdown();
                    return Ok(Ready { kind: "ready", broker_name: args.broker_name, ready_ms, polls });
                }
            }
            Err(e) => last_error = e.to_string(),
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "broker {} not registered with {} after {:?} ({polls} polls; last: {last_error})",
                args.broker_name,
                args.cluster.namesrv,
                args.timeout
            );
        }
        tokio::time::sleep(args.interval).await;
    }
}

/// Creates the topic on every master of the cluster, then waits until the NameServer routes it
/// and its brokers answer its statistics (so the first send finds it).
pub async fn create_topic(args: CreateTopicArgs) -> anyhow::Result<Created> {
    let admin = admin(&args.cluster.namesrv).await?;
    let spec = TopicSpec { read_queues: args.queues, write_queues: args.queues, ..TopicSpec::new(args.topic.clone()) };
    let brokers = admin
        .create_topic(&spec, &TopicTarget::Cluster(args.cluster_name.clone()))
        .await
        .with_context(|| format!("creating topic {} on cluster {}", args.topic, args.cluster_name))?;
    let deadline = Instant::now() + ROUTE_WAIT;
    loop {
        match admin.topic_status(&args.topic).await {
            Ok(queues) if queues.len() >= args.queues.max(1) as usize => break,
            Ok(_) | Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(queues) => anyhow::bail!("topic {} has {} queues, expected {}", args.topic, queues.len(), args.queues),
            Err(e) => return Err(e).with_context(|| format!("topic {} never became visible", args.topic)),
        }
    }
    admin.shutdown();
    Ok(Created { kind: "topic", topic: args.topic, brokers })
}

/// Sums the max offsets of the topic's queues.
pub async fn stored(args: StoredArgs) -> anyhow::Result<Stored> {
    let admin = admin(&args.cluster.namesrv).await?;
    let queues = admin.topic_status(&args.topic).await.with_context(|| format!("statistics of {}", args.topic))?;
    admin.shutdown();
    Ok(Stored { kind: "stored", topic: args.topic, messages: queues.iter().map(|q| q.max_offset).sum() })
}

impl std::fmt::Display for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "broker {} ready after {:.1} ms ({} polls)", self.broker_name, self.ready_ms, self.polls)
    }
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "topic {} holds {} messages", self.topic, self.messages)
    }
}

impl std::fmt::Display for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "topic {} created on {}", self.topic, self.brokers.join(", "))
    }
}

//! Swapping brokers on the same data: the real Apache RocketMQ 5.3.3 broker writes messages,
//! topics and committed offsets, stops, and our broker starts on the same store directory and
//! serves all of it (and the reverse: ours writes, Apache reads). Skipped when `RMQ_TEST_IMPLS`
//! excludes Apache.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rmq_client::admin::Admin;
use rmq_client::{ConsumeFrom, Message, MessageQueue, Producer, PullConsumer, ReceivedMessage};
use rmq_testkit::{impls, Cluster, Impl};

const MESSAGES: usize = 40;
const CONSUMED_BEFORE_SWAP: usize = 15;

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{nanos}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apache_store_is_served_by_rmq_and_rmq_store_by_apache() {
    if !impls().contains(&Impl::Apache) {
        println!("RMQ_TEST_IMPLS excludes apache: nothing to swap with");
        return;
    }
    swap(Impl::Apache, Impl::Rmq).await;
    swap(Impl::Rmq, Impl::Apache).await;
}

/// Everything the first broker left that the second must serve.
struct Written {
    topic: String,
    group: String,
    sent: BTreeMap<String, (String, String)>,
    committed: BTreeMap<MessageQueue, i64>,
    consumed: usize,
    max_offsets: BTreeMap<MessageQueue, i64>,
}

async fn swap(writer: Impl, reader: Impl) {
    let mut cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder(&format!("store_swap_{writer}_to_{reader}"), writer).broker("broker-a").start()
    })
    .await
    .expect("join")
    .expect("cluster");
    let ns = cluster.namesrv_addr();
    let written = write(&ns).await;

    let cluster = tokio::task::spawn_blocking(move || {
        let broker = cluster.broker_mut("broker-a");
        assert!(broker.stop_gracefully(), "{writer} broker stopped cleanly");
        broker.switch_impl(reader).expect("switch");
        broker.start().expect("the other broker starts on the same store");
        cluster
    })
    .await
    .expect("join");
    read(&ns, &written, &format!("{writer} → {reader}")).await;
    drop(cluster);
}

async fn write(ns: &str) -> Written {
    let topic = unique("Swap");
    let group = unique("cg_swap");
    let producer = Producer::builder().name_server(ns).group(unique("pg")).build().await.expect("producer");
    let mut sent = BTreeMap::new();
    for i in 0..MESSAGES {
        let body = format!("swap-{i}-{}", "x".repeat(i * 7));
        let key = format!("key-{i}");
        let r = producer
            .send(Message::new(&topic, body.clone()).with_tags("T").with_keys([&key]).with_property("i", i.to_string()))
            .await
            .expect("send");
        sent.insert(r.msg_id, (body, key));
    }
    producer.shutdown().await;

    let consumer = pull(ns, &group, false).await;
    consumer.subscribe(&topic, "*").await.expect("subscribe");
    let mut consumed: Vec<ReceivedMessage> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumed.len() < CONSUMED_BEFORE_SWAP {
        assert!(Instant::now() < deadline, "consumed only {}", consumed.len());
        consumed.extend(consumer.poll(Duration::from_millis(500)).await.expect("poll"));
    }
    consumer.commit().await;
    let mut committed = BTreeMap::new();
    for m in &consumed {
        let e = committed.entry(m.queue()).or_insert(0);
        *e = (*e).max(m.queue_offset + 1);
    }
    for (q, o) in &committed {
        assert_eq!(consumer.committed(q).await.expect("committed"), Some(*o));
    }
    consumer.shutdown().await;
    let admin = Admin::builder().name_server(ns).build().await.expect("admin");
    let max_offsets = offsets_by_queue(&topic, admin.topic_status(&topic).await.expect("status"));
    Written { topic, group, sent, committed, consumed: consumed.len(), max_offsets }
}

async fn pull(ns: &str, group: &str, auto: bool) -> PullConsumer {
    PullConsumer::builder()
        .name_server(ns)
        .group(group)
        .consume_from(ConsumeFrom::FirstOffset)
        .auto_commit(auto)
        .build()
        .await
        .expect("pull consumer")
}

async fn read(ns: &str, w: &Written, label: &str) {
    let admin = Admin::builder().name_server(ns).build().await.expect("admin");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match admin.topic_status(&w.topic).await {
            Ok(s) if !s.is_empty() => break s,
            other => assert!(Instant::now() < deadline, "{label}: topic not served: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let max_offsets = offsets_by_queue(&w.topic, status);
    assert_eq!(max_offsets, w.max_offsets, "{label}: queues and their max offsets survive the swap");

    // The committed offsets survived: the group resumes exactly after what it consumed.
    let resumed = pull(ns, &w.group, true).await;
    resumed.subscribe(&w.topic, "*").await.expect("subscribe");
    for (q, o) in &w.committed {
        assert_eq!(resumed.committed(q).await.expect("committed"), Some(*o), "{label}: committed offset of {q:?}");
    }
    let rest = poll_n(&resumed, MESSAGES - w.consumed, label).await;
    for m in &rest {
        let below = w.committed.get(&m.queue()).is_some_and(|c| m.queue_offset < *c);
        assert!(!below, "{label}: {:?}@{} was consumed before the swap", m.queue(), m.queue_offset);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let extra = resumed.poll(Duration::from_millis(500)).await.expect("poll");
    assert!(extra.is_empty(), "{label}: nothing beyond the remaining messages, got {}", extra.len());
    resumed.shutdown().await;

    // Every message is intact for a new group, and the key index still answers.
    let fresh = pull(ns, &unique("cg_fresh"), true).await;
    fresh.subscribe(&w.topic, "*").await.expect("subscribe");
    let all = poll_n(&fresh, MESSAGES, label).await;
    fresh.shutdown().await;
    let ids: BTreeSet<&String> = all.iter().map(|m| &m.msg_id).collect();
    assert_eq!(ids.len(), MESSAGES, "{label}: every message once");
    for m in &all {
        let (body, key) = w.sent.get(&m.msg_id).unwrap_or_else(|| panic!("{label}: unknown message {}", m.msg_id));
        assert_eq!(String::from_utf8_lossy(&m.body), *body, "{label}: body");
        assert_eq!(m.keys(), vec![key.as_str()], "{label}: keys");
        assert_eq!(m.tags(), Some("T"), "{label}: tags");
    }
    let found = admin.query_by_key(&w.topic, "key-7", 32, 0, i64::MAX).await.expect("query by key");
    assert!(!found.is_empty(), "{label}: the index finds key-7");
}

async fn poll_n(c: &PullConsumer, n: usize, label: &str) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "{label}: polled {} of {n}", got.len());
        got.extend(c.poll(Duration::from_millis(500)).await.expect("poll"));
    }
    got
}

fn offsets_by_queue(topic: &str, status: Vec<rmq_client::admin::topic::QueueStatus>) -> BTreeMap<MessageQueue, i64> {
    status
        .into_iter()
        .map(|s| {
            (MessageQueue { topic: topic.to_owned(), broker_name: s.broker_name, queue_id: s.queue_id }, s.max_offset)
        })
        .collect()
}

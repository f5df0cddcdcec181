//! The client against real clusters: our servers and, unless `RMQ_TEST_IMPLS` says otherwise,
//! the real Apache RocketMQ 5.3.3 NameServer + broker. One cluster per implementation; each
//! scenario uses its own topic and group.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{unique, wait_until, Received};
use rmq_client::{
    ClientError, ConsumeFrom, Message, OrderlyStatus, Producer, PullConsumer, PushConsumer, ReceivedMessage,
};
use rmq_testkit::{impls, Cluster, Impl};

const WAIT: Duration = Duration::from_secs(60);

fn start(imp: Impl) -> Cluster {
    Cluster::builder("client_against_both", imp).broker("broker-a").start().expect("cluster starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_scenarios_pass_against_rmq_and_apache() {
    for imp in impls() {
        let cluster = tokio::task::spawn_blocking(move || start(imp)).await.expect("join");
        let ns = cluster.namesrv_addr();
        println!("== {imp}: {ns}");
        send_and_receive_keep_body_keys_tags_and_properties(&ns).await;
        consumer_restart_resumes_from_committed_offset(&ns).await;
        orderly_consumer_sees_each_key_in_order(&ns).await;
        orderly_order_holds_while_a_consumer_joins_and_leaves(&ns).await;
        bad_input_gets_typed_errors(&ns).await;
        println!("== {imp}: all scenarios passed");
    }
}

async fn producer(ns: &str) -> Producer {
    Producer::builder().name_server(ns).group(unique("pg")).build().await.expect("producer")
}

async fn send_and_receive_keep_body_keys_tags_and_properties(ns: &str) {
    let topic = unique("RoundTrip");
    let producer = producer(ns).await;
    let big: String = (0..8192).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let mut sent = BTreeMap::new();
    for i in 0..20 {
        let body = if i == 7 { big.clone() } else { format!("body-{i}") };
        let msg = Message::new(&topic, body.clone())
            .with_tags(if i % 2 == 0 { "even" } else { "odd" })
            .with_keys([format!("key-{i}")])
            .with_property("index", i.to_string());
        let result = producer.send(msg).await.expect("send");
        sent.insert(result.msg_id.clone(), (i, body));
    }
    producer.send_batch(&[Message::new(&topic, "batch-1"), Message::new(&topic, "batch-2")]).await.expect("batch");

    let received = Received::default();
    let consumer = PushConsumer::builder()
        .name_server(ns)
        .group(unique("cg"))
        .subscribe(&topic, "even || odd")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_secs(1))
        .start(received.listener())
        .await
        .expect("consumer");
    wait_until(WAIT, "20 tagged messages", || {
        let r = received.clone();
        async move { r.all().iter().filter(|m| m.tags().is_some()).count() >= 20 }
    })
    .await;
    consumer.shutdown().await;
    for m in received.all().iter().filter(|m| m.tags().is_some()) {
        let (i, body) = sent.get(&m.msg_id).unwrap_or_else(|| panic!("unexpected message {}", m.msg_id));
        assert_eq!(String::from_utf8_lossy(&m.body), *body, "body of message {i}");
        assert_eq!(m.keys(), vec![format!("key-{i}")], "keys of message {i}");
        assert_eq!(m.tags(), Some(if i % 2 == 0 { "even" } else { "odd" }), "tags of message {i}");
        assert_eq!(m.property("index"), Some(i.to_string().as_str()), "property of message {i}");
        assert_eq!(m.topic, topic);
    }
    // Tag filtering: the untagged batch messages were not delivered to "even || odd".
    assert!(received.all().iter().all(|m| m.tags().is_some()));
    producer.shutdown().await;
}

async fn consumer_restart_resumes_from_committed_offset(ns: &str) {
    let topic = unique("Resume");
    let group = unique("cg_resume");
    let producer = producer(ns).await;
    for i in 0..40 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.expect("send");
    }
    let pull = |auto| {
        let (ns, group) = (ns.to_owned(), group.clone());
        async move {
            PullConsumer::builder()
                .name_server(ns)
                .group(group)
                .consume_from(ConsumeFrom::FirstOffset)
                .auto_commit(auto)
                .build()
                .await
                .expect("pull consumer")
        }
    };
    let first = pull(false).await;
    first.subscribe(&topic, "*").await.expect("subscribe");
    let seen = poll_at_least(&first, 10).await;
    first.commit().await;
    let mut committed: HashMap<_, i64> = HashMap::new();
    for m in &seen {
        let e = committed.entry(m.queue()).or_insert(0);
        *e = (*e).max(m.queue_offset + 1);
    }
    for (q, expected) in &committed {
        assert_eq!(first.committed(q).await.expect("committed"), Some(*expected), "committed offset of {q:?}");
    }
    first.shutdown().await;

    let second = pull(true).await;
    second.subscribe(&topic, "*").await.expect("subscribe");
    let rest = poll_at_least(&second, 40 - seen.len()).await;
    for m in &rest {
        if let Some(c) = committed.get(&m.queue()) {
            assert!(m.queue_offset >= *c, "{:?} offset {} replayed below the committed {c}", m.queue(), m.queue_offset);
        }
    }
    let mut bodies: Vec<String> =
        seen.iter().chain(&rest).map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 40, "every message consumed exactly once across the restart");

    // Seek moves one queue back: the next polls replay it from there, and only it.
    let queue = rest.first().or(seen.first()).map(ReceivedMessage::queue).expect("a queue with messages");
    second.seek(&queue, 0).await;
    let replay = poll_at_least(&second, 1).await;
    assert!(replay.iter().all(|m| m.queue() == queue), "only the sought queue replays");
    assert_eq!(replay.iter().map(|m| m.queue_offset).min(), Some(0), "replay starts at the sought offset");
    second.shutdown().await;
    producer.shutdown().await;
}

async fn poll_at_least(consumer: &PullConsumer, n: usize) -> Vec<ReceivedMessage> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(std::time::Instant::now() < deadline, "polled only {} of {n} messages", got.len());
        got.extend(consumer.poll(Duration::from_millis(500)).await.expect("poll"));
    }
    got
}

/// An orderly push consumer of `group` on `topic` from its first message, recording into
/// `received`, rebalancing every second.
async fn orderly_member(ns: &str, group: &str, topic: &str, received: &Received) -> Result<PushConsumer, ClientError> {
    let sink = received.clone();
    PushConsumer::builder()
        .name_server(ns)
        .group(group)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_secs(1))
        .start_orderly(move |msgs: Vec<ReceivedMessage>| {
            sink.push_all(&msgs);
            std::future::ready(OrderlyStatus::Success)
        })
        .await
}

/// The sequence numbers received per key, in arrival order, from bodies `key:number`.
fn per_key(received: &Received) -> BTreeMap<String, Vec<u32>> {
    let mut per_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for m in received.all() {
        let text = String::from_utf8_lossy(&m.body).into_owned();
        let (key, i) = text.split_once(':').expect("key:i");
        per_key.entry(key.to_owned()).or_default().push(i.parse().expect("number"));
    }
    per_key
}

async fn orderly_consumer_sees_each_key_in_order(ns: &str) {
    let topic = unique("Orderly");
    let producer = producer(ns).await;
    for i in 0..60 {
        let key = format!("order-{}", i % 5);
        producer.send_ordered(Message::new(&topic, format!("{key}:{i}")), &key).await.expect("ordered send");
    }
    let received = Received::default();
    let consumer = orderly_member(ns, &unique("cg_orderly"), &topic, &received).await.expect("orderly consumer");
    wait_until(WAIT, "60 ordered messages", || {
        let r = received.clone();
        async move { r.len() >= 60 }
    })
    .await;
    consumer.shutdown().await;
    let per_key = per_key(&received);
    for (key, seq) in per_key {
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "{key} out of order: {seq:?}");
        assert_eq!(seq.len(), 12, "{key}: {seq:?}");
    }
    producer.shutdown().await;
}

/// Two orderly consumers of one group while a second member joins and leaves mid-stream: per key,
/// no gap and no reordering; a message may come again only as part of a contiguous replay from
/// an earlier point (a queue that moved to another member after a rebalance).
async fn orderly_order_holds_while_a_consumer_joins_and_leaves(ns: &str) {
    const KEYS: u32 = 4;
    const PER_KEY: u32 = 60;
    let (topic, group) = (unique("OrderlyRebalance"), unique("cg_orderly_rb"));
    let producer = producer(ns).await;
    let received = Received::default();
    let member = || orderly_member(ns, &group, &topic, &received);
    let first = member().await.expect("first member");
    let mut second = None;
    for i in 0..KEYS * PER_KEY {
        let key = format!("k{}", i % KEYS);
        let body = format!("{key}:{}", i / KEYS);
        producer.send_ordered(Message::new(&topic, body), &key).await.expect("ordered send");
        if i == KEYS * PER_KEY / 3 {
            second = Some(member().await.expect("second member joins"));
        }
        if i == 2 * KEYS * PER_KEY / 3 {
            if let Some(leaving) = second.take() {
                leaving.shutdown().await;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let distinct = || {
        let r = received.clone();
        async move { r.all().iter().map(|m| m.body.clone()).collect::<std::collections::HashSet<_>>().len() }
    };
    wait_until(WAIT, "every ordered message", || {
        let d = distinct();
        async move { d.await >= (KEYS * PER_KEY) as usize }
    })
    .await;
    first.shutdown().await;
    let per_key = per_key(&received);
    for (key, seq) in per_key {
        let mut next = 0; // the lowest sequence number not seen yet
        for (i, s) in seq.iter().enumerate() {
            assert!(*s <= next, "{key}: gap before {s} (expected at most {next}): {seq:?}");
            if i > 0 && *s != seq[i - 1] + 1 {
                assert!(*s <= seq[i - 1], "{key}: reordered at position {i}: {seq:?}");
            }
            next = next.max(s + 1);
        }
        assert_eq!(next, PER_KEY, "{key}: not every message arrived: {seq:?}");
    }
    producer.shutdown().await;
}

async fn bad_input_gets_typed_errors(ns: &str) {
    let producer = producer(ns).await;
    let huge = Message::new(unique("Big"), vec![b'x'; 4 * 1024 * 1024 + 1]);
    assert!(matches!(producer.send(huge).await, Err(ClientError::MessageTooLarge { .. })));

    let consumer = PullConsumer::builder().name_server(ns).group(unique("cg_bad")).build().await.expect("consumer");
    let missing = consumer.subscribe("NoSuchTopic_ever", "*").await;
    assert!(matches!(missing, Err(ClientError::TopicNotFound(_))), "{missing:?}");
    consumer.shutdown().await;

    let bad_group = PushConsumer::builder().name_server(ns).group("bad group!").subscribe("t", "*");
    let err = bad_group.start(Received::default().listener()).await.expect_err("invalid group refused");
    assert!(matches!(err, ClientError::Config(_)), "{err}");
    assert!(err.to_string().contains("illegal character"), "{err}");

    let started = std::time::Instant::now();
    let unreachable = Producer::builder().name_server("127.0.0.1:1").send_timeout(Duration::from_secs(1)).build().await;
    let err = match unreachable {
        Ok(p) => p.send(Message::new("t", "x")).await.expect_err("no NameServer"),
        Err(e) => e,
    };
    assert!(matches!(err, ClientError::NameServerUnreachable { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "gave up after {:?}", started.elapsed());
    producer.shutdown().await;
}

//! Messaging features through the Rust client, against our servers and Apache RocketMQ 5.3.3:
//! retry then DLQ, delay levels, transactions with check-back, SQL92 filters, broadcast, and
//! replay after `resetOffsetByTime`. Delay levels are shortened to 1 s so retries are quick.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{unique, wait_until, Received};
use rmq_client::admin::Admin;
use rmq_client::{
    ConsumeFrom, ConsumeStatus, Message, MessageModel, Producer, PullConsumer, PushConsumer, ReceivedMessage,
    TransactionState,
};
use rmq_testkit::{impls, Cluster, Impl};

const WAIT: Duration = Duration::from_secs(90);

fn start(imp: Impl) -> Cluster {
    Cluster::builder("client_features", imp)
        .broker("broker-a")
        .broker_property("messageDelayLevel", vec!["1s"; 18].join(" "))
        .broker_property("enablePropertyFilter", "true")
        .broker_property("transactionTimeOut", "1000")
        .broker_property("transactionCheckInterval", "1000")
        .start()
        .expect("cluster starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn features_work_through_the_rust_client_on_rmq_and_apache() {
    for imp in impls() {
        let cluster = tokio::task::spawn_blocking(move || start(imp)).await.expect("join");
        let ns = cluster.namesrv_addr();
        let producer = Producer::builder().name_server(&ns).group(unique("pg")).build().await.expect("producer");
        retry_then_dead_letter(&ns, &producer).await;
        delay_level_holds_the_message_back(&ns, &producer).await;
        transactions_commit_roll_back_and_check_back(&ns).await;
        sql92_filter_delivers_only_matching(&ns, &producer).await;
        broadcast_reaches_every_consumer(&ns, &producer).await;
        reset_offset_by_time_replays(&ns, &producer).await;
        producer.shutdown().await;
        println!("== {imp}: feature scenarios passed");
    }
}

fn push(ns: &str, group: &str, topic: &str) -> rmq_client::consumer::PushConsumerBuilder {
    PushConsumer::builder()
        .name_server(ns)
        .group(group)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_secs(1))
}

async fn retry_then_dead_letter(ns: &str, producer: &Producer) {
    let topic = unique("Retry");
    let group = unique("cg_retry");
    let sent = producer.send(Message::new(&topic, "fail-me").with_keys(["k1"])).await.expect("send");
    let deliveries: Arc<Mutex<Vec<(Instant, ReceivedMessage)>>> = Arc::default();
    let sink = Arc::clone(&deliveries);
    let consumer = push(ns, &group, &topic)
        .max_reconsume_times(2)
        .start(move |msgs: Vec<ReceivedMessage>| {
            let now = Instant::now();
            sink.lock().expect("lock").extend(msgs.into_iter().map(|m| (now, m)));
            std::future::ready(ConsumeStatus::ReconsumeLater)
        })
        .await
        .expect("consumer");
    let probe = Arc::clone(&deliveries);
    wait_until(WAIT, "three deliveries", move || {
        let n = probe.lock().expect("lock").len();
        async move { n >= 3 }
    })
    .await;

    // Then the message sits in the DLQ with its id and body.
    let dlq = PullConsumer::builder()
        .name_server(ns)
        .group(unique("cg_dlq"))
        .consume_from(ConsumeFrom::FirstOffset)
        .build()
        .await
        .expect("dlq");
    let dlq_topic = format!("%DLQ%{group}");
    let deadline = Instant::now() + WAIT;
    let dead = loop {
        if let Ok(queues) = dlq.queues(&dlq_topic).await {
            dlq.assign(queues).await.expect("assign");
            let got = dlq.poll(Duration::from_secs(2)).await.expect("poll");
            if let Some(m) = got.into_iter().next() {
                break m;
            }
        }
        assert!(Instant::now() < deadline, "nothing in {dlq_topic}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    consumer.shutdown().await;
    dlq.shutdown().await;
    let d = deliveries.lock().expect("lock").clone();
    let times: Vec<i32> = d.iter().map(|(_, m)| m.reconsume_times).collect();
    assert_eq!(times, vec![0, 1, 2], "deliveries before the DLQ");
    assert!(d.iter().all(|(_, m)| m.msg_id == sent.msg_id && &m.body[..] == b"fail-me" && m.topic == topic));
    assert!(d[1].0 - d[0].0 >= Duration::from_millis(800), "the retry waited for its delay level");
    assert_eq!(dead.msg_id, sent.msg_id, "DLQ keeps the original message id");
    assert_eq!(&dead.body[..], b"fail-me");
}

async fn delay_level_holds_the_message_back(ns: &str, producer: &Producer) {
    let topic = unique("Delay");
    let received = Received::default();
    let consumer = push(ns, &unique("cg_delay"), &topic).start(received.listener()).await.expect("consumer");
    producer.send(Message::new(&topic, "now")).await.expect("warm-up");
    wait_until(WAIT, "warm-up message", || {
        let r = received.clone();
        async move { r.len() >= 1 }
    })
    .await;
    let sent_at = Instant::now();
    producer.send(Message::new(&topic, "later").with_delay_level(3)).await.expect("delayed send");
    wait_until(WAIT, "delayed message", || {
        let r = received.clone();
        async move { r.len() >= 2 }
    })
    .await;
    let waited = sent_at.elapsed();
    consumer.shutdown().await;
    assert!(waited >= Duration::from_millis(900), "delayed message arrived after {waited:?}");
}

async fn transactions_commit_roll_back_and_check_back(ns: &str) {
    let topic = unique("Tx");
    let producer = Producer::builder()
        .name_server(ns)
        .group(unique("pg_tx"))
        .build_transactional(|msg: ReceivedMessage| async move {
            // Like an application looking its transaction up: brokers may also check ones that
            // were already resolved (Apache writes its op records in batches), so answer for all.
            if &msg.body[..] == b"rollback" {
                TransactionState::Rollback
            } else {
                TransactionState::Commit
            }
        })
        .await
        .expect("transactional producer");
    for (body, state) in [
        ("commit", TransactionState::Commit),
        ("rollback", TransactionState::Rollback),
        ("unknown", TransactionState::Unknown),
    ] {
        let (_, decided) = producer
            .send_in_transaction(Message::new(&topic, body), move |_| async move { state })
            .await
            .expect("half");
        assert_eq!(decided, state);
    }
    let received = Received::default();
    let consumer = push(ns, &unique("cg_tx"), &topic).start(received.listener()).await.expect("consumer");
    wait_until(WAIT, "the committed and the checked-back messages", || {
        let r = received.clone();
        async move { r.len() >= 2 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    consumer.shutdown().await;
    producer.shutdown().await;
    let bodies: BTreeSet<String> =
        received.all().iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect();
    assert_eq!(bodies, ["commit".to_owned(), "unknown".to_owned()].into_iter().collect(), "rollback never visible");
}

async fn sql92_filter_delivers_only_matching(ns: &str, producer: &Producer) {
    let topic = unique("Sql");
    for i in 0..10 {
        producer.send(Message::new(&topic, format!("m{i}")).with_property("a", i.to_string())).await.expect("send");
    }
    let received = Received::default();
    let consumer = PushConsumer::builder()
        .name_server(ns)
        .group(unique("cg_sql"))
        .subscribe_sql(&topic, "a > 5")
        .consume_from(ConsumeFrom::FirstOffset)
        .rebalance_interval(Duration::from_secs(1))
        .start(received.listener())
        .await
        .expect("consumer");
    wait_until(WAIT, "4 matching messages", || {
        let r = received.clone();
        async move { r.len() >= 4 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let mut values: Vec<i32> =
        received.all().iter().map(|m| m.property("a").and_then(|a| a.parse().ok()).unwrap_or(-1)).collect();
    values.sort_unstable();
    assert_eq!(values, vec![6, 7, 8, 9]);
}

async fn broadcast_reaches_every_consumer(ns: &str, producer: &Producer) {
    let topic = unique("Bcast");
    producer.send(Message::new(&topic, "create")).await.expect("create topic");
    let group = unique("cg_bcast");
    let dir = std::env::temp_dir().join(unique("bcast-offsets"));
    let (a, b) = (Received::default(), Received::default());
    let mut consumers = Vec::new();
    for r in [&a, &b] {
        let c = push(ns, &group, &topic)
            .message_model(MessageModel::Broadcasting)
            .consume_from(ConsumeFrom::LastOffset)
            .offset_dir(&dir)
            .start(r.listener())
            .await
            .expect("broadcast consumer");
        consumers.push(c);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..6 {
        producer.send(Message::new(&topic, format!("b{i}"))).await.expect("send");
    }
    for r in [&a, &b] {
        wait_until(WAIT, "6 broadcast messages per consumer", || {
            let r = r.clone();
            async move { r.all().iter().filter(|m| m.body.starts_with(b"b")).count() >= 6 }
        })
        .await;
    }
    for c in consumers {
        c.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

async fn reset_offset_by_time_replays(ns: &str, producer: &Producer) {
    let topic = unique("Replay");
    let group = unique("cg_replay");
    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64) - 1000;
    for i in 0..5 {
        producer.send(Message::new(&topic, format!("r{i}"))).await.expect("send");
    }
    let received = Received::default();
    let consumer = push(ns, &group, &topic).start(received.listener()).await.expect("consumer");
    wait_until(WAIT, "first pass", || {
        let r = received.clone();
        async move { r.len() >= 5 }
    })
    .await;
    let admin = Admin::builder().name_server(ns).build().await.expect("admin");
    let reset = admin.reset_offset_by_time(&group, &topic, before, true).await;
    assert!(reset.is_ok(), "reset: {reset:?}");
    wait_until(WAIT, "replay after resetOffsetByTime", || {
        let r = received.clone();
        async move { r.len() >= 10 }
    })
    .await;
    consumer.shutdown().await;
    let mut bodies: Vec<String> =
        received.all().iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect();
    bodies.sort();
    assert_eq!(bodies.len(), 10);
    bodies.dedup();
    assert_eq!(bodies.len(), 5, "each message delivered twice: once, then replayed");
}

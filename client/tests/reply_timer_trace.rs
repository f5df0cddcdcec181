//! Request-reply, RocketMQ 5 timer messages and message tracing through the Rust client, against
//! our servers and Apache RocketMQ 5.3.3 (the broker creates `RMQ_SYS_TRACE_TOPIC` with
//! `traceTopicEnable=true`, as the Java suite's TraceTest configures it).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{unique, wait_until, Received};
use rmq_client::trace::{TraceMessageType, TraceRecord, DEFAULT_TRACE_TOPIC};
use rmq_client::{
    ClientError, ConsumeFrom, ConsumeStatus, Message, Producer, PullConsumer, PushConsumer, ReceivedMessage,
};
use rmq_testkit::{impls, Cluster, Impl};

const WAIT: Duration = Duration::from_secs(60);

fn start(imp: Impl) -> Cluster {
    Cluster::builder("client_reply_timer_trace", imp)
        .broker("broker-a")
        .broker_property("traceTopicEnable", "true")
        .start()
        .expect("cluster starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn request_reply_timers_and_tracing_work_on_rmq_and_apache() {
    for imp in impls() {
        let cluster = tokio::task::spawn_blocking(move || start(imp)).await.expect("join");
        let ns = cluster.namesrv_addr();
        requests_get_their_own_replies(&ns, cluster.cluster_name()).await;
        request_nobody_answers_times_out(&ns).await;
        timer_messages_arrive_when_due(&ns).await;
        traced_send_and_consume_leave_decodable_records(&ns).await;
        println!("== {imp}: request-reply, timer and trace scenarios passed");
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

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Creates `topic` with a first message and waits until `received` has it (the consumer owns
/// the queues from then on).
async fn warm_up(producer: &Producer, topic: &str, received: &Received) {
    producer.send(Message::new(topic, "warm-up")).await.expect("warm-up send");
    wait_until(WAIT, "the warm-up message", || {
        let r = received.clone();
        async move { r.all().iter().any(|m| &m.body[..] == b"warm-up") }
    })
    .await;
}

async fn requests_get_their_own_replies(ns: &str, cluster_name: &str) {
    let topic = unique("Request");
    let requester = Producer::builder().name_server(ns).group(unique("pg_req")).build().await.expect("requester");
    let replier = Producer::builder().name_server(ns).group(unique("pg_rep")).build().await.expect("replier");
    let received = Received::default();
    let (seen, answer) = (received.clone(), replier.clone());
    let consumer = push(ns, &unique("cg_req"), &topic)
        .start(move |msgs: Vec<ReceivedMessage>| {
            let (seen, answer) = (seen.clone(), answer.clone());
            async move {
                seen.push_all(&msgs);
                for m in msgs.iter().filter(|m| m.property("CORRELATION_ID").is_some()) {
                    let body = format!("re:{}", String::from_utf8_lossy(&m.body));
                    answer.reply_to(m, body).await.expect("reply sent");
                }
                ConsumeStatus::Success
            }
        })
        .await
        .expect("consumer");
    warm_up(&requester, &topic, &received).await;

    let asks = (0..3).map(|i| requester.request(Message::new(&topic, format!("q{i}")), Duration::from_secs(10)));
    let replies = futures::future::join_all(asks).await;
    for (i, reply) in replies.into_iter().enumerate() {
        let reply = reply.unwrap_or_else(|e| panic!("request {i} got no reply: {e}"));
        assert_eq!(String::from_utf8_lossy(&reply.body), format!("re:q{i}"), "each request gets its own reply");
        assert_eq!(reply.topic, format!("{cluster_name}_REPLY_TOPIC"));
        assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
        assert_eq!(reply.property("REPLY_TO_CLIENT"), Some(requester.client_id()));
        assert!(reply.property("ARRIVE_TIME").is_some());
    }
    let request = received.all().into_iter().find(|m| &m.body[..] == b"q0").expect("q0 consumed");
    assert_eq!(request.property("TTL"), Some("10000"), "the request carries its timeout");
    consumer.shutdown().await;
    requester.shutdown().await;
    replier.shutdown().await;
}

async fn request_nobody_answers_times_out(ns: &str) {
    let topic = unique("Unanswered");
    let requester = Producer::builder().name_server(ns).group(unique("pg_req")).build().await.expect("requester");
    requester.send(Message::new(&topic, "create")).await.expect("topic created");
    let started = Instant::now();
    let outcome = requester.request(Message::new(&topic, "anyone?"), Duration::from_secs(2)).await;
    let waited = started.elapsed();
    assert!(matches!(outcome, Err(ClientError::RequestTimeout { .. })), "got {outcome:?}");
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5), "timed out after {waited:?}");
    requester.shutdown().await;
}

async fn timer_messages_arrive_when_due(ns: &str) {
    let topic = unique("Timer");
    let producer = Producer::builder().name_server(ns).group(unique("pg_timer")).build().await.expect("producer");
    let arrivals: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let received = Received::default();
    let (sink, seen) = (Arc::clone(&arrivals), received.clone());
    let consumer = push(ns, &unique("cg_timer"), &topic)
        .start(move |msgs: Vec<ReceivedMessage>| {
            let now = now_ms();
            seen.push_all(&msgs);
            let mut a = sink.lock().expect("lock");
            a.extend(msgs.iter().map(|m| (String::from_utf8_lossy(&m.body).into_owned(), now)));
            std::future::ready(ConsumeStatus::Success)
        })
        .await
        .expect("consumer");
    warm_up(&producer, &topic, &received).await;

    let delay = Duration::from_secs(3);
    let mut due = Vec::new();
    for (name, msg) in [
        ("delay-ms", Message::new(&topic, "delay-ms").with_delay(delay)),
        ("delay-sec", Message::new(&topic, "delay-sec").with_delay_secs(3)),
        ("deliver-at", Message::new(&topic, "deliver-at").with_delivery_time(SystemTime::now() + delay)),
    ] {
        let before = now_ms();
        producer.send(msg).await.expect("timer send");
        due.push((name, before + 3000, now_ms() + 3000));
    }
    wait_until(WAIT, "three timer messages", || {
        let n = arrivals.lock().expect("lock").len();
        async move { n >= 4 }
    })
    .await;
    let got = arrivals.lock().expect("lock").clone();
    for (name, earliest_due, latest_due) in due {
        let at = got.iter().find(|(b, _)| b == name).map(|(_, t)| *t).expect("arrived");
        assert!(at >= earliest_due - 1000, "{name} arrived {} ms before its due time", earliest_due - at);
        assert!(at <= latest_due + 2000, "{name} arrived {} ms after its due time", at - latest_due);
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}

async fn traced_send_and_consume_leave_decodable_records(ns: &str) {
    let topic = unique("Traced");
    let (pg, cg) = (unique("pg_trace"), unique("cg_trace"));
    let producer = Producer::builder().name_server(ns).group(&pg).enable_trace().build().await.expect("producer");
    let received = Received::default();
    let consumer = push(ns, &cg, &topic).enable_trace().start(received.listener()).await.expect("consumer");
    let sent = producer.send(Message::new(&topic, "traced").with_tags("TagT").with_keys(["tk"])).await.expect("send");
    wait_until(WAIT, "the traced message", || {
        let (r, id) = (received.clone(), sent.msg_id.clone());
        async move { r.all().iter().any(|m| m.msg_id == id) }
    })
    .await;

    // Read the trace topic until the message's Pub, SubBefore and SubAfter records are there.
    let reader = PullConsumer::builder()
        .name_server(ns)
        .group(unique("cg_trace_reader"))
        .consume_from(ConsumeFrom::FirstOffset)
        .build()
        .await
        .expect("reader");
    let mut records: Vec<TraceRecord> = Vec::new();
    let deadline = Instant::now() + WAIT;
    let complete = |rs: &[TraceRecord]| {
        let mine: Vec<&TraceRecord> = rs.iter().filter(|r| r.msg_id() == sent.msg_id).collect();
        mine.iter().any(|r| matches!(r, TraceRecord::Pub(_)))
            && mine.iter().any(|r| matches!(r, TraceRecord::SubBefore(_)))
            && mine.iter().any(|r| matches!(r, TraceRecord::SubAfter(_)))
    };
    while !complete(&records) {
        assert!(Instant::now() < deadline, "trace records of {} never all arrived: {records:?}", sent.msg_id);
        if let Ok(queues) = reader.queues(DEFAULT_TRACE_TOPIC).await {
            if reader.assigned_queues().await.is_empty() {
                reader.assign(queues).await.expect("assign");
            }
            for m in reader.poll(Duration::from_secs(2)).await.expect("poll") {
                let decoded = TraceRecord::decode_all(&String::from_utf8_lossy(&m.body));
                if decoded.iter().any(|r| r.msg_id() == sent.msg_id) {
                    // mqadmin queryMsgTraceById finds trace messages by this key.
                    assert!(m.keys().contains(&sent.msg_id.as_str()), "trace message keyed by the id: {:?}", m.keys());
                }
                records.extend(decoded);
            }
        } else {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let mine: Vec<TraceRecord> = records.into_iter().filter(|r| r.msg_id() == sent.msg_id).collect();
    let p = mine.iter().find_map(|r| if let TraceRecord::Pub(x) = r { Some(x) } else { None }).expect("Pub");
    let before =
        mine.iter().find_map(|r| if let TraceRecord::SubBefore(x) = r { Some(x) } else { None }).expect("SubBefore");
    let after =
        mine.iter().find_map(|r| if let TraceRecord::SubAfter(x) = r { Some(x) } else { None }).expect("SubAfter");
    assert_eq!((p.topic.as_str(), p.group.as_str(), p.tags.as_str(), p.keys.as_str()), (&*topic, &*pg, "TagT", "tk"));
    assert_eq!(
        (p.msg_type, p.success, p.offset_msg_id.as_str()),
        (TraceMessageType::Normal, true, &*sent.offset_msg_id)
    );
    assert_eq!((before.group.as_str(), before.retry_times), (cg.as_str(), 0));
    assert_eq!((after.success, after.context_code, after.group.as_deref()), (true, 0, Some(cg.as_str())));
    assert_eq!(after.request_id, before.request_id, "SubBefore and SubAfter of one listener call share an id");
    consumer.shutdown().await;
    producer.shutdown().await;
    reader.shutdown().await;
}

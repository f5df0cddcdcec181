//! Helpers shared by the client's integration tests: waiting for conditions and collecting
//! consumed messages.

#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_client::{ConsumeStatus, ReceivedMessage};

/// Polls `cond` every 100 ms until it holds or `timeout` passes; panics with `what` on timeout.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Messages received by a listener, shared with the test.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<ReceivedMessage>>>);

impl Received {
    pub fn push_all(&self, msgs: &[ReceivedMessage]) {
        self.0.lock().expect("lock").extend_from_slice(msgs);
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }

    pub fn all(&self) -> Vec<ReceivedMessage> {
        self.0.lock().expect("lock").clone()
    }

    /// A concurrent listener that records and succeeds.
    pub fn listener(
        &self,
    ) -> impl Fn(Vec<ReceivedMessage>) -> std::future::Ready<ConsumeStatus> + Send + Sync + 'static {
        let me = self.clone();
        move |msgs| {
            me.push_all(&msgs);
            std::future::ready(ConsumeStatus::Success)
        }
    }
}

/// A unique name per test run (topics and groups must not collide between runs of one cluster).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// Creates `topic` with `queues` read/write queues on the broker at `broker_addr` (as mqadmin
/// `updateTopic -b` does), then waits until the NameServer route lists every broker given.
pub async fn create_topic(ns: &str, broker_addrs: &[String], topic: &str, queues: i32) {
    use rmq_remoting::protocol::admin::CreateTopicRequest;
    use rmq_remoting::rpc::{ClientConfig, RemotingClient};
    use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
    let client = RemotingClient::new(ClientConfig::default());
    for addr in broker_addrs {
        let header = CreateTopicRequest {
            topic: topic.to_owned(),
            default_topic: Some("TBW102".into()),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: Some("SINGLE_TAG".into()),
            topic_sys_flag: Some(0),
            order: Some(false),
            attributes: None,
        };
        let request = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(&header);
        let resp = client.invoke(addr, request, Duration::from_secs(5)).await.expect("create topic");
        assert_eq!(resp.response_code(), ResponseCode::Success, "create {topic} on {addr}: {:?}", resp.remark);
    }
    let probe =
        rmq_client::PullConsumer::builder().name_server(ns).group(unique("probe")).build().await.expect("probe");
    let expected = broker_addrs.len() * queues as usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(qs) = probe.queues(topic).await {
            if qs.len() == expected {
                break;
            }
        }
        assert!(Instant::now() < deadline, "route of {topic} never listed {expected} queues");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    probe.shutdown().await;
}

/// Sends `first` to `topic` until the route exists, then `n - 1` more (`<label>-<i>`), and
/// consumes them from the first offset with a fresh group; the messages received once `n` are.
/// `producer` and `consumer` add to the builders (TLS, credentials).
pub async fn send_and_consume(
    ns: &str,
    topic: &str,
    n: usize,
    label: &str,
    producer: impl FnOnce(rmq_client::ProducerBuilder) -> rmq_client::ProducerBuilder,
    consumer: impl FnOnce(rmq_client::consumer::PushConsumerBuilder) -> rmq_client::consumer::PushConsumerBuilder,
) -> Vec<ReceivedMessage> {
    use rmq_client::{ConsumeFrom, Message, Producer, PushConsumer};
    let sender = producer(Producer::builder().name_server(ns).group(unique("pg"))).build().await.expect("producer");
    wait_until(Duration::from_secs(30), &format!("a first {label} send"), || async {
        sender.send(Message::new(topic, "first")).await.is_ok()
    })
    .await;
    for i in 1..n {
        sender.send(Message::new(topic, format!("{label}-{i}"))).await.unwrap_or_else(|e| panic!("{label} send: {e}"));
    }
    let received = Received::default();
    let builder = PushConsumer::builder()
        .name_server(ns)
        .group(unique("cg"))
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset);
    let receiver = consumer(builder).start(received.listener()).await.expect("consumer");
    wait_until(Duration::from_secs(60), &format!("{n} {label} messages consumed"), || async { received.len() >= n })
        .await;
    receiver.shutdown().await;
    sender.shutdown().await;
    received.all()
}

//! Latency-based fault avoidance on our servers: when one of two broker groups hangs (SIGSTOP,
//! so requests time out rather than being refused), a producer retries on the other broker and
//! then stops choosing the hung one, so only the first send pays the timeout.

mod common;

use std::time::{Duration, Instant};

use common::unique;
use rmq_client::{Message, Producer};
use rmq_testkit::{Cluster, Impl};

const SEND_TIMEOUT: Duration = Duration::from_millis(800);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_stops_choosing_a_broker_that_timed_out() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::builder("client_fault_avoidance", Impl::Rmq).broker("broker-a").broker("broker-b").start()
    })
    .await
    .expect("join")
    .expect("cluster");
    let ns = cluster.namesrv_addr();
    let topic = unique("Faulty");
    let brokers: Vec<String> = cluster.brokers().map(|b| b.addr()).collect();
    common::create_topic(&ns, &brokers, &topic, 4).await;

    let producer = Producer::builder().name_server(&ns).send_timeout(SEND_TIMEOUT).build().await.expect("producer");
    let mut used = std::collections::BTreeSet::new();
    for i in 0..16 {
        let r = producer.send(Message::new(&topic, format!("warm-{i}"))).await.expect("send while healthy");
        used.insert(r.queue.broker_name);
    }
    assert_eq!(used.len(), 2, "round robin uses both brokers while they are healthy");

    cluster.broker("broker-b").pause();
    let mut slow = 0;
    for i in 0..30 {
        let started = Instant::now();
        let r = producer.send(Message::new(&topic, format!("m-{i}"))).await.expect("send retried on broker-a");
        assert_eq!(r.queue.broker_name, "broker-a", "send {i} landed on the hung broker");
        if started.elapsed() >= SEND_TIMEOUT {
            slow += 1;
        }
    }
    cluster.broker("broker-b").resume();
    assert!(slow <= 1, "{slow} of 30 sends waited for the hung broker; only the first should have");
    producer.shutdown().await;
}

//! Several consumers of one group on our servers: every allocation strategy hands each queue to
//! exactly one member, and a member leaving gives its queues to the others.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{unique, wait_until, Received};
use rmq_client::{Allocation, ConsumeFrom, Message, MessageQueue, Producer, PushConsumer};
use rmq_testkit::{Cluster, Impl};

async fn assignment(consumers: &[PushConsumer]) -> Vec<Vec<MessageQueue>> {
    let mut out = Vec::new();
    for c in consumers {
        out.push(c.assigned_queues().await.into_iter().filter(|q| !q.topic.starts_with("%RETRY%")).collect());
    }
    out
}

fn is_partition(parts: &[Vec<MessageQueue>], all: &BTreeSet<MessageQueue>) -> bool {
    let total: usize = parts.iter().map(Vec::len).sum();
    let union: BTreeSet<MessageQueue> = parts.iter().flatten().cloned().collect();
    total == all.len() && union == *all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_strategy_gives_each_queue_to_exactly_one_member() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::builder("client_rebalancing", Impl::Rmq).broker("broker-a").broker("broker-b").start()
    })
    .await
    .expect("join")
    .expect("cluster");
    let ns = cluster.namesrv_addr();
    let topic = unique("Shared");
    let brokers: Vec<String> = cluster.brokers().map(|b| b.addr()).collect();
    common::create_topic(&ns, &brokers, &topic, 5).await;
    let producer = Producer::builder().name_server(&ns).build().await.expect("producer");
    for i in 0..40 {
        producer.send(Message::new(&topic, format!("m{i}"))).await.expect("send");
    }
    let all: BTreeSet<MessageQueue> = producer_route_queues(&ns, &topic).await;
    assert_eq!(all.len(), 10, "5 queues on each of 2 brokers");

    for strategy in [Allocation::Average, Allocation::AverageByCircle, Allocation::ConsistentHash { virtual_nodes: 10 }]
    {
        let group = unique(&format!("cg_{}", strategy.name()));
        let mut consumers = Vec::new();
        let received = Received::default();
        for _ in 0..3 {
            let c = PushConsumer::builder()
                .name_server(&ns)
                .group(&group)
                .subscribe(&topic, "*")
                .allocation(strategy.clone())
                .consume_from(ConsumeFrom::FirstOffset)
                .rebalance_interval(Duration::from_millis(500))
                .start(received.listener())
                .await
                .expect("consumer");
            consumers.push(c);
        }
        // Every member sees all three (the assignment is exactly the strategy's answer for the
        // three client ids), and that answer is a partition of the queues.
        let mut ids: Vec<String> = consumers.iter().map(|c| c.client_id().to_owned()).collect();
        ids.sort();
        let sorted: Vec<MessageQueue> = all.iter().cloned().collect();
        let expected: Vec<Vec<MessageQueue>> =
            consumers.iter().map(|c| strategy.allocate(c.client_id(), &sorted, &ids)).collect();
        assert!(is_partition(&expected, &all), "{strategy:?} does not partition: {expected:?}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut parts = assignment(&consumers).await;
            parts.iter_mut().for_each(|p| p.sort());
            if parts == expected {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{strategy:?}: {parts:?} is not {expected:?} after 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        wait_until(Duration::from_secs(30), "all 40 messages", || {
            let r = received.clone();
            async move { r.all().iter().map(|m| m.msg_id.clone()).collect::<BTreeSet<_>>().len() >= 40 }
        })
        .await;

        // One member leaves: the remaining two share every queue again.
        let leaving = consumers.pop().expect("three consumers");
        leaving.shutdown().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let parts = assignment(&consumers).await;
            if is_partition(&parts, &all) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{strategy:?}: no partition after a leave: {parts:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for c in consumers {
            c.shutdown().await;
        }
    }
    producer.shutdown().await;
}

async fn producer_route_queues(ns: &str, topic: &str) -> BTreeSet<MessageQueue> {
    let c = rmq_client::PullConsumer::builder().name_server(ns).group(unique("probe")).build().await.expect("probe");
    let qs = c.queues(topic).await.expect("route").into_iter().collect();
    c.shutdown().await;
    qs
}

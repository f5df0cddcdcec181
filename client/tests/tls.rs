//! The Rust client over TLS (`.tls(ClientTls::insecure())`, the Java client's default test
//! mode): against a broker with `tls.server.mode=enforcing` it sends and consumes, while a
//! plaintext producer is refused. The NameServer keeps Apache's default (permissive).

mod common;

use std::time::Duration;

use common::{unique, wait_until, Received};
use rmq_client::{ClientTls, ConsumeFrom, Message, Producer, PushConsumer};
use rmq_testkit::{Cluster, Impl};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tls_client_works_against_an_enforcing_broker_and_a_plaintext_one_does_not() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::builder("client_tls", Impl::Rmq)
            .broker("broker-a")
            .broker_property("tls.server.mode", "enforcing")
            .start()
            .expect("cluster starts")
    })
    .await
    .expect("join");
    let ns = cluster.namesrv_addr();
    let topic = unique("TlsRust");
    let producer = Producer::builder()
        .name_server(&ns)
        .group(unique("pg"))
        .tls(ClientTls::insecure())
        .build()
        .await
        .expect("producer");
    wait_until(Duration::from_secs(30), "a first send over TLS", || async {
        producer.send(Message::new(&topic, "first")).await.is_ok()
    })
    .await;
    for i in 0..9 {
        producer.send(Message::new(&topic, format!("tls-{i}"))).await.expect("send over TLS");
    }
    let received = Received::default();
    let consumer = PushConsumer::builder()
        .name_server(&ns)
        .group(unique("cg"))
        .subscribe(&topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .tls(ClientTls::insecure())
        .start(received.listener())
        .await
        .expect("consumer");
    wait_until(Duration::from_secs(60), "10 messages consumed over TLS", || async { received.len() >= 10 }).await;
    consumer.shutdown().await;

    let plain = Producer::builder().name_server(&ns).group(unique("pg")).build().await.expect("producer");
    assert!(plain.send(Message::new(&topic, "plaintext")).await.is_err(), "plaintext is refused");
    plain.shutdown().await;
    producer.shutdown().await;
}

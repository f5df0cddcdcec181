//! The Rust client over TLS (`.tls(ClientTls::insecure())`, the Java client's default test
//! mode): against a broker with `tls.server.mode=enforcing` it sends and consumes, while a
//! plaintext producer is refused. The NameServer keeps Apache's default (permissive).

mod common;

use common::{send_and_consume, unique};
use rmq_client::{ClientTls, Message, Producer, ProducerBuilder};
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
    let tls = |p: ProducerBuilder| p.tls(ClientTls::insecure());
    let received = send_and_consume(&ns, &topic, 10, "tls", tls, |c| c.tls(ClientTls::insecure())).await;
    assert_eq!(received.len(), 10, "each message once");

    let plain = Producer::builder().name_server(&ns).group(unique("pg")).build().await.expect("producer");
    assert!(plain.send(Message::new(&topic, "plaintext")).await.is_err(), "plaintext is refused");
    plain.shutdown().await;
}

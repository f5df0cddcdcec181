//! The Rust client signs its requests as the Java client's `AclClientRPCHook` does: against a
//! broker with `aclEnable=true`, a producer and a consumer with an account's credentials send and
//! consume, a wrong secret is refused with NO_PERMISSION (16), and admin requests need the admin
//! account. rmq only: Apache 5.3.3 reads `plain_acl.yml` only through its ACL 2.0 migration.

mod common;

use std::time::Duration;

use common::{unique, wait_until, Received};
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use rmq_client::{ConsumeFrom, Credentials, Message, Producer, PushConsumer};
use rmq_remoting::ResponseCode;
use rmq_testkit::{Cluster, Impl};

const ACL: &str = "\
accounts:
  - accessKey: rustprod
    secretKey: rustprod-secret
    defaultTopicPerm: PUB
    defaultGroupPerm: DENY
  - accessKey: rustcons
    secretKey: rustcons-secret
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
  - accessKey: rustadmin
    secretKey: rustadmin-secret
    admin: true
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signed_requests_pass_the_acl_and_wrong_or_unprivileged_ones_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl_file = dir.path().join("plain_acl.yml");
    std::fs::write(&acl_file, ACL).expect("write ACL");
    let acl_path = acl_file.display().to_string();
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("client_acl", Impl::Rmq)
            .broker("broker-a")
            .broker_property("aclEnable", "true")
            .broker_property("aclFile", acl_path)
            .start()
            .expect("cluster starts")
    })
    .await
    .expect("join");
    let ns = cluster.namesrv_addr();
    let topic = unique("AclRust");

    let admin = |ak: &str, sk: &str| Admin::builder().name_server(&ns).credentials(Credentials::new(ak, sk)).build();
    let refused = admin("rustcons", "rustcons-secret")
        .await
        .expect("admin client")
        .create_topic(&TopicSpec::new(&topic), &TopicTarget::Cluster(cluster.cluster_name().to_owned()))
        .await
        .expect_err("a normal account may not create topics");
    assert!(refused.to_string().contains("needs an admin account"), "{refused}");
    admin("rustadmin", "rustadmin-secret")
        .await
        .expect("admin client")
        .create_topic(&TopicSpec::new(&topic), &TopicTarget::Cluster(cluster.cluster_name().to_owned()))
        .await
        .expect("the admin account creates the topic");

    let producer = Producer::builder()
        .name_server(&ns)
        .group(unique("pg"))
        .credentials(Credentials::new("rustprod", "rustprod-secret"))
        .build()
        .await
        .expect("producer");
    wait_until(Duration::from_secs(30), "the topic to be routed", || async {
        producer.send(Message::new(&topic, "first")).await.is_ok()
    })
    .await;
    for i in 0..9 {
        producer.send(Message::new(&topic, format!("signed-{i}"))).await.expect("signed send");
    }

    let received = Received::default();
    let consumer = PushConsumer::builder()
        .name_server(&ns)
        .group(unique("cg"))
        .subscribe(&topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .credentials(Credentials::new("rustcons", "rustcons-secret"))
        .start(received.listener())
        .await
        .expect("consumer");
    wait_until(Duration::from_secs(60), "10 signed messages consumed", || async { received.len() >= 10 }).await;
    consumer.shutdown().await;

    let wrong = Producer::builder()
        .name_server(&ns)
        .group(unique("pg"))
        .credentials(Credentials::new("rustprod", "not-the-secret"))
        .build()
        .await
        .expect("producer");
    let err = wrong.send(Message::new(&topic, "forged")).await.expect_err("a wrong secret is refused");
    assert_eq!(err.response_code(), Some(ResponseCode::NoPermission), "{err}");
    assert!(err.to_string().contains("check signature failed for User:rustprod"), "{err}");
    wrong.shutdown().await;
    producer.shutdown().await;
}

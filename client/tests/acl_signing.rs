//! The Rust client signs its requests as the Java client's `AclClientRPCHook` does: against a
//! broker with `aclEnable=true`, a producer and a consumer with an account's credentials send and
//! consume, a wrong secret is refused with NO_PERMISSION (16), and admin requests need the admin
//! account. rmq only: Apache 5.3.3 reads `plain_acl.yml` only through its ACL 2.0 migration.

mod common;

use common::{send_and_consume, unique};
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use rmq_client::consumer::PushConsumerBuilder;
use rmq_client::{Credentials, Message, Producer, ProducerBuilder};
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

    let signed = |p: ProducerBuilder| p.credentials(Credentials::new("rustprod", "rustprod-secret"));
    let consumer_account = |c: PushConsumerBuilder| c.credentials(Credentials::new("rustcons", "rustcons-secret"));
    let received = send_and_consume(&ns, &topic, 10, "signed", signed, consumer_account).await;
    assert_eq!(received.len(), 10, "each message once");

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
}

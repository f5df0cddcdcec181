//! A master and its slave with ACL on and TLS enforced on both: the slave's own client signs as
//! the account of `innerClientAuthenticationCredentials` and speaks TLS (Apache's default with
//! `tls.server.mode=enforcing`), so its metadata sync from the master passes, and a topic created
//! on the master appears on the slave.

use std::time::{Duration, Instant};

use rmq_remoting::acl::Credentials;
use rmq_remoting::protocol::admin::CreateTopicRequest;
use rmq_remoting::protocol::body::{from_fastjson, TopicConfigWrapper};
use rmq_remoting::rpc::tls::ClientTls;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::{Cluster, Impl};

const ACL: &str = "\
accounts:
  - accessKey: brokerapp
    secretKey: brokerapp-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
  - accessKey: adminapp
    secretKey: adminapp-secret
    admin: true
";

fn client(access_key: &str) -> RemotingClient {
    RemotingClient::new(ClientConfig {
        credentials: Some(Credentials::new(access_key, format!("{access_key}-secret"))),
        tls: Some(ClientTls::insecure()),
        ..ClientConfig::default()
    })
}

async fn topics(client: &RemotingClient, addr: &str) -> Vec<String> {
    let req = RemotingCommand::request(RequestCode::GetAllTopicConfig);
    let resp = client.invoke(addr, req, Duration::from_secs(5)).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let wrapper: TopicConfigWrapper = from_fastjson(&resp.body).expect("topic configs");
    wrapper.topic_config_table.into_keys().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_syncs_metadata_from_a_master_with_acl_and_enforced_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(&acl, ACL).expect("write ACL");
    let acl = acl.display().to_string();
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("secure_replication", Impl::Rmq)
            .broker("m")
            .slave("s1", "m", 1)
            .broker_property("aclEnable", "true")
            .broker_property("aclFile", acl)
            .broker_property("tls.server.mode", "enforcing")
            .broker_property(
                "innerClientAuthenticationCredentials",
                r#"{"accessKey":"brokerapp","secretKey":"brokerapp-secret"}"#,
            )
            .start()
    })
    .await
    .expect("join")
    .expect("cluster starts");
    let (master, slave) = (cluster.broker("m").addr(), cluster.broker("s1").addr());
    let admin = client("adminapp");

    let header = CreateTopicRequest {
        topic: "SyncedUnderAcl".into(),
        default_topic: None,
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: None,
        topic_sys_flag: None,
        order: None,
        attributes: None,
    };
    let create = RemotingCommand::request(RequestCode::UpdateAndCreateTopic).with_header(&header);
    let resp = admin.invoke(&master, create, Duration::from_secs(5)).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);

    let start = Instant::now();
    while !topics(&admin, &slave).await.iter().any(|t| t == "SyncedUnderAcl") {
        assert!(start.elapsed() < Duration::from_secs(30), "the slave never synced the master's topics");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("the slave had the new topic {:?} after its creation", start.elapsed());

    let plaintext = RemotingClient::new(ClientConfig::default());
    let refused =
        plaintext.invoke(&master, RemotingCommand::request(RequestCode::GetAllTopicConfig), Duration::from_secs(3));
    assert!(refused.await.is_err(), "a plaintext connection is refused when TLS is enforced");
}

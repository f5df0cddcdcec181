//! DELETE_TOPIC_IN_NAMESRV removes a topic from every cluster, or with `clusterName` only from
//! that cluster's brokers; REGISTER_TOPIC_IN_NAMESRV adds queue data for registered brokers.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};
use rmq_remoting::command_header;
use rmq_remoting::protocol::body::{to_json, QueueData, TopicList, TopicRouteData};
use rmq_remoting::protocol::namesrv::DeleteTopicFromNamesrvRequest;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV header, as a Java admin sends it.
    pub struct RegisterTopic { topic: String => "topic" }
}

fn delete(topic: &str, cluster: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(RequestCode::DeleteTopicInNamesrv)
        .with_header(&DeleteTopicFromNamesrvRequest { topic: topic.into(), cluster_name: cluster.map(str::to_owned) })
}

async fn two_clusters(client: &Client) {
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[("T", 4), ("U", 4)])).await;
    let mut b = Broker::master("broker-b", "10.0.0.2:10911", &[("T", 4)]);
    b.cluster = "OtherCluster".into();
    client.register(&b).await;
}

#[tokio::test]
async fn delete_topic_from_all_clusters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    two_clusters(&client).await;
    assert_eq!(client.call(delete("T", None)).await.response_code(), ResponseCode::Success);
    assert_eq!(client.route("T").await.expect_err("deleted").response_code(), ResponseCode::TopicNotExist);
    assert!(client.route("U").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn delete_topic_from_one_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    two_clusters(&client).await;
    client.call(delete("T", Some("DefaultCluster"))).await;
    let route = client.route("T").await.expect("still in OtherCluster");
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "broker-b");
    server.stop().await;
}

#[tokio::test]
async fn register_topic_adds_queues_for_known_brokers_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[])).await;
    let queue = |broker: &str| QueueData {
        broker_name: broker.into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_sys_flag: 1,
    };
    let register = |queues: Vec<QueueData>| {
        RemotingCommand::request(RequestCode::RegisterTopicInNamesrv)
            .with_header(&RegisterTopic { topic: "Unit".into() })
            .with_body(to_json(&TopicRouteData { queue_datas: queues, ..Default::default() }))
    };
    let refused = client.call(register(vec![queue("ghost")])).await;
    assert_eq!(refused.response_code(), ResponseCode::SystemError);
    let ok = client.call(register(vec![queue("broker-a")])).await;
    assert_eq!(ok.response_code(), ResponseCode::Success);
    assert_eq!(client.route("Unit").await.expect("route").queue_datas[0].read_queue_nums, 2);

    let units = client.call(RemotingCommand::request(RequestCode::GetUnitTopicList)).await;
    let units: TopicList = serde_json::from_slice(&units.body).expect("list");
    assert_eq!(units.topic_list, vec!["Unit".to_owned()]);
    let subs = client.call(RemotingCommand::request(RequestCode::GetHasUnitSubTopicList)).await;
    let subs: TopicList = serde_json::from_slice(&subs.body).expect("list");
    assert!(subs.topic_list.is_empty());
    server.stop().await;
}

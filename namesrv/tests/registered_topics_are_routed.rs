//! A registered master's topics appear in routes, cluster info and topic lists; unknown topics
//! are answered TOPIC_NOT_EXIST.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};
use rmq_remoting::protocol::body::{ClusterInfo, TopicList};
use rmq_remoting::protocol::namesrv::ClusterRequest;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test]
async fn registered_topics_appear_in_routes_and_cluster_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4), ("Other", 8)]);
    let response = client.register(&broker).await;
    assert_eq!(response.ext("masterAddr"), None, "a master is told no master");

    let route = client.route("TopicTest").await.expect("route");
    assert_eq!(route.queue_datas.len(), 1);
    let queue = &route.queue_datas[0];
    assert_eq!(
        (queue.broker_name.as_str(), queue.read_queue_nums, queue.write_queue_nums, queue.perm),
        ("broker-a", 4, 4, 6)
    );
    assert_eq!(route.broker_datas[0].cluster, "DefaultCluster");
    assert_eq!(route.broker_datas[0].broker_addrs.get(&0).map(String::as_str), Some("10.0.0.1:10911"));

    let info = client.call(RemotingCommand::request(RequestCode::GetBrokerClusterInfo)).await;
    let info: ClusterInfo = serde_json::from_slice(&info.body).expect("cluster json");
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs[&0], "10.0.0.1:10911");

    let all = client.call(RemotingCommand::request(RequestCode::GetAllTopicListFromNameserver)).await;
    let all: TopicList = serde_json::from_slice(&all.body).expect("topic list");
    assert_eq!(all.topic_list, vec!["Other".to_owned(), "TopicTest".to_owned()]);

    let by_cluster = client
        .call(
            RemotingCommand::request(RequestCode::GetTopicsByCluster)
                .with_header(&ClusterRequest { cluster: "DefaultCluster".into() }),
        )
        .await;
    let by_cluster: TopicList = serde_json::from_slice(&by_cluster.body).expect("topic list");
    assert_eq!(by_cluster.topic_list.len(), 2);

    let system = client.call(RemotingCommand::request(RequestCode::GetSystemTopicListFromNs)).await;
    let system: TopicList = serde_json::from_slice(&system.body).expect("topic list");
    assert_eq!(system.topic_list, vec!["DefaultCluster".to_owned(), "broker-a".to_owned()]);
    assert_eq!(system.broker_addr.as_deref(), Some("10.0.0.1:10911"));
    server.stop().await;
}

#[tokio::test]
async fn route_json_quotes_broker_ids_and_never_emits_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)])).await;
    let request = RemotingCommand::request(RequestCode::GetRouteinfoByTopic).with_header(
        &rmq_remoting::protocol::namesrv::GetRouteInfoRequest {
            topic: "TopicTest".into(),
            accept_standard_json_only: None,
        },
    );
    let response = client.call(request).await;
    let text = String::from_utf8(response.body.to_vec()).expect("utf8");
    assert!(text.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911"}"#), "{text}");
    assert!(text.contains(r#""filterServerTable":{}"#), "{text}");
    assert!(!text.contains("null"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_topic_is_answered_topic_not_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let err = client.route("Nope").await.expect_err("no route");
    assert_eq!(err.response_code(), ResponseCode::TopicNotExist);
    assert_eq!(err.remark.as_deref(), Some("No topic route info in name server for the topic: Nope"));
    server.stop().await;
}

#[tokio::test]
async fn topic_lists_can_be_disabled_by_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config_in(&dir);
    config.enable_all_topic_list = false;
    config.enable_topic_list = false;
    let server = start(config).await;
    let client = Client::to(&server);
    let all = client.call(RemotingCommand::request(RequestCode::GetAllTopicListFromNameserver)).await;
    assert_eq!((all.response_code(), all.remark.as_deref()), (ResponseCode::SystemError, Some("disable")));
    let by_cluster = client
        .call(
            RemotingCommand::request(RequestCode::GetTopicsByCluster)
                .with_header(&ClusterRequest { cluster: "c".into() }),
        )
        .await;
    assert_eq!(by_cluster.response_code(), ResponseCode::SystemError);
    server.stop().await;
}

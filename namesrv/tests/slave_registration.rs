//! A slave registration adds its address to the broker group but never rewrites topic queues;
//! the slave is told its master's address and HA address.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};

#[tokio::test]
async fn slave_registration_does_not_change_routes_but_appears_in_broker_addrs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)])).await;

    let mut slave = Broker::master("broker-a", "10.0.0.2:10911", &[("TopicTest", 16), ("SlaveOnly", 4)]);
    slave.id = 1;
    slave.version = 99;
    let response = client.register(&slave).await;
    assert_eq!(response.ext("masterAddr"), Some("10.0.0.1:10911"));
    assert_eq!(response.ext("haServerAddr"), Some("10.0.0.1:10911-ha"));

    let route = client.route("TopicTest").await.expect("route");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4, "the slave's queue count is ignored");
    let addrs = &route.broker_datas[0].broker_addrs;
    assert_eq!(addrs.get(&0).map(String::as_str), Some("10.0.0.1:10911"));
    assert_eq!(addrs.get(&1).map(String::as_str), Some("10.0.0.2:10911"));
    assert!(client.route("SlaveOnly").await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn master_changes_reach_routes_only_with_a_new_data_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let mut master = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)]);
    client.register(&master).await;
    master.topics = vec![("TopicTest".into(), 8)];
    client.register(&master).await;
    assert_eq!(client.route("TopicTest").await.expect("route").queue_datas[0].write_queue_nums, 4);
    master.version += 1;
    client.register(&master).await;
    assert_eq!(client.route("TopicTest").await.expect("route").queue_datas[0].write_queue_nums, 8);
    server.stop().await;
}

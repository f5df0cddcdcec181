//! UNREGISTER_BROKER removes the broker's address; when the group has no address left, its
//! queues leave every topic and topics without queues disappear.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};
use rmq_remoting::{RequestCode, ResponseCode};

#[tokio::test]
async fn unregister_removes_routes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let a = Broker::master("broker-a", "10.0.0.1:10911", &[("Shared", 4), ("OnlyA", 4)]);
    let b = Broker::master("broker-b", "10.0.0.2:10911", &[("Shared", 4)]);
    client.register(&a).await;
    client.register(&b).await;

    let response = client.call(a.identity_request(RequestCode::UnregisterBroker)).await;
    assert_eq!(response.response_code(), ResponseCode::Success);
    assert_eq!(client.route("OnlyA").await.expect_err("gone").response_code(), ResponseCode::TopicNotExist);
    let shared = client.route("Shared").await.expect("still served by b");
    assert_eq!(shared.queue_datas.len(), 1);
    assert_eq!(shared.queue_datas[0].broker_name, "broker-b");
    server.stop().await;
}

#[tokio::test]
async fn master_leaving_keeps_the_slave_in_the_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let master = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)]);
    let mut slave = Broker::master("broker-a", "10.0.0.2:10911", &[("TopicTest", 4)]);
    slave.id = 1;
    client.register(&master).await;
    client.register(&slave).await;
    client.call(master.identity_request(RequestCode::UnregisterBroker)).await;
    let route = client.route("TopicTest").await.expect("slave still serves reads");
    let addrs: Vec<i64> = route.broker_datas[0].broker_addrs.keys().copied().collect();
    assert_eq!(addrs, vec![1]);
    server.stop().await;
}

//! A broker that stops refreshing its registration expires and its routes disappear; a broker
//! that keeps refreshing (REGISTER_BROKER, QUERY_DATA_VERSION or BROKER_HEARTBEAT) stays.

mod fixtures;

use std::time::Duration;

use fixtures::{config_in, eventually, start, Broker, Client};
use rmq_remoting::protocol::body::{to_json, DataVersion};
use rmq_remoting::{RequestCode, ResponseCode};

fn fast_scan(dir: &tempfile::TempDir) -> rmq_namesrv::NamesrvConfig {
    let mut config = config_in(dir);
    config.scan_not_active_broker_interval = Duration::from_millis(50);
    config
}

#[tokio::test]
async fn broker_that_stops_heartbeating_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(fast_scan(&dir)).await;
    let client = Client::to(&server);
    let mut broker = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)]);
    broker.timeout_ms = Some(300);
    client.register(&broker).await;
    assert!(client.route("TopicTest").await.is_ok());
    let gone = eventually(Duration::from_secs(3), || async {
        client.route("TopicTest").await.is_err_and(|e| e.response_code() == ResponseCode::TopicNotExist)
    })
    .await;
    assert!(gone, "the route should disappear once the registration expires");
    let info = client.call(rmq_remoting::RemotingCommand::request(RequestCode::GetBrokerClusterInfo)).await;
    let info: rmq_remoting::protocol::body::ClusterInfo = serde_json::from_slice(&info.body).expect("json");
    assert!(info.broker_addr_table.is_empty() && info.cluster_addr_table.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn default_expiry_comes_from_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = fast_scan(&dir);
    config.broker_expired_timeout = Duration::from_millis(300);
    let server = start(config).await;
    let client = Client::to(&server);
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)])).await;
    let gone = eventually(Duration::from_secs(3), || async { client.route("TopicTest").await.is_err() }).await;
    assert!(gone);
    server.stop().await;
}

#[tokio::test]
async fn data_version_queries_and_heartbeats_keep_a_broker_alive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(fast_scan(&dir)).await;
    let client = Client::to(&server);
    let mut a = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicA", 4)]);
    a.timeout_ms = Some(400);
    let mut b = Broker::master("broker-b", "10.0.0.2:10911", &[("TopicB", 4)]);
    b.timeout_ms = Some(400);
    client.register(&a).await;
    client.register(&b).await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let query = a.identity_request(RequestCode::QueryDataVersion).with_body(to_json(&a.data_version()));
        let response = client.call(query).await;
        assert_eq!(response.response_code(), ResponseCode::Success);
        assert_eq!(response.ext("changed"), Some("false"));
        let stored: DataVersion = serde_json::from_slice(&response.body).expect("data version");
        assert_eq!(stored, a.data_version());
        let beat = client.call(b.identity_request(RequestCode::BrokerHeartbeat)).await;
        assert_eq!(beat.response_code(), ResponseCode::Success);
    }
    assert!(client.route("TopicA").await.is_ok(), "queried broker is alive after 800 ms");
    assert!(client.route("TopicB").await.is_ok(), "heartbeating broker is alive after 800 ms");

    let mut newer = a.data_version();
    newer.counter += 1;
    let query = a.identity_request(RequestCode::QueryDataVersion).with_body(to_json(&newer));
    assert_eq!(client.call(query).await.ext("changed"), Some("true"));
    server.stop().await;
}

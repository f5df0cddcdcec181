//! KV config: put, get, delete and list by namespace; persistence across a restart; the
//! ORDER_TOPIC_CONFIG namespace reaches brokers and (with orderMessageEnable) routes.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};
use rmq_remoting::protocol::body::KvTable;
use rmq_remoting::protocol::namesrv::{KvKeyRequest, KvNamespaceRequest, PutKvConfigRequest};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

fn put(ns: &str, key: &str, value: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::PutKvConfig).with_header(&PutKvConfigRequest {
        namespace: ns.into(),
        key: key.into(),
        value: value.into(),
    })
}

fn keyed(code: RequestCode, ns: &str, key: &str) -> RemotingCommand {
    RemotingCommand::request(code).with_header(&KvKeyRequest { namespace: ns.into(), key: key.into() })
}

fn list(ns: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::GetKvlistByNamespace)
        .with_header(&KvNamespaceRequest { namespace: ns.into() })
}

#[tokio::test]
async fn kv_put_get_delete_and_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    assert_eq!(client.call(put("ns", "k1", "v1")).await.response_code(), ResponseCode::Success);
    client.call(put("ns", "k2", "v2")).await;

    let got = client.call(keyed(RequestCode::GetKvConfig, "ns", "k1")).await;
    assert_eq!((got.response_code(), got.ext("value")), (ResponseCode::Success, Some("v1")));

    let table: KvTable = serde_json::from_slice(&client.call(list("ns")).await.body).expect("kv table");
    assert_eq!(table.table.len(), 2);
    assert_eq!(table.table["k2"], "v2");

    assert_eq!(
        client.call(keyed(RequestCode::DeleteKvConfig, "ns", "k1")).await.response_code(),
        ResponseCode::Success
    );
    let missing = client.call(keyed(RequestCode::GetKvConfig, "ns", "k1")).await;
    assert_eq!(missing.response_code(), ResponseCode::QueryNotFound);
    assert_eq!(missing.remark.as_deref(), Some("No config item, Namespace: ns Key: k1"));

    let empty = client.call(list("other")).await;
    assert_eq!(empty.response_code(), ResponseCode::QueryNotFound);
    server.stop().await;
}

#[tokio::test]
async fn kv_config_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    Client::to(&server).call(put("ns", "k", "kept")).await;
    server.stop().await;
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("kvConfig.json")).expect("file")).expect("json");
    assert_eq!(json["configTable"]["ns"]["k"], "kept");

    let server = start(config_in(&dir)).await;
    let got = Client::to(&server).call(keyed(RequestCode::GetKvConfig, "ns", "k")).await;
    assert_eq!(got.ext("value"), Some("kept"));
    server.stop().await;
}

#[tokio::test]
async fn order_topic_config_reaches_brokers_and_routes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config_in(&dir);
    config.order_message_enable = true;
    let server = start(config).await;
    let client = Client::to(&server);
    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[("Ordered", 4), ("Plain", 4)]);
    let response = client.register(&broker).await;
    assert!(response.body.is_empty(), "no order config yet, no body");

    client.call(put("ORDER_TOPIC_CONFIG", "Ordered", "broker-a:4")).await;
    let response = client.register(&broker).await;
    let table: KvTable = serde_json::from_slice(&response.body).expect("kv table");
    assert_eq!(table.table["Ordered"], "broker-a:4");

    let route = client.route("Ordered").await.expect("route");
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));
    assert_eq!(client.route("Plain").await.expect("route").order_topic_conf, None);
    server.stop().await;
}

#[tokio::test]
async fn order_topic_conf_is_omitted_unless_enabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    client.register(&Broker::master("broker-a", "10.0.0.1:10911", &[("Ordered", 4)])).await;
    client.call(put("ORDER_TOPIC_CONFIG", "Ordered", "broker-a:4")).await;
    assert_eq!(client.route("Ordered").await.expect("route").order_topic_conf, None);
    server.stop().await;
}

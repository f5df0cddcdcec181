//! WIPE_WRITE_PERM_OF_BROKER clears the write bit of every queue of a broker, and
//! ADD_WRITE_PERM_OF_BROKER restores read+write; both report how many topics they touched.

mod fixtures;

use fixtures::{config_in, start, Broker, Client};
use rmq_remoting::protocol::namesrv::BrokerNameRequest;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

fn perm_request(code: RequestCode, broker: &str) -> RemotingCommand {
    RemotingCommand::request(code).with_header(&BrokerNameRequest { broker_name: broker.into() })
}

#[tokio::test]
async fn wipe_and_add_write_perm_change_the_route_perm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[("T1", 4), ("T2", 4)]);
    client.register(&broker).await;
    client.register(&Broker::master("broker-b", "10.0.0.2:10911", &[("T1", 4)])).await;

    let wiped = client.call(perm_request(RequestCode::WipeWritePermOfBroker, "broker-a")).await;
    assert_eq!(wiped.response_code(), ResponseCode::Success);
    assert_eq!(wiped.ext("wipeTopicCount"), Some("2"));
    let route = client.route("T1").await.expect("route");
    for queue in &route.queue_datas {
        let expected = if queue.broker_name == "broker-a" { 4 } else { 6 };
        assert_eq!(queue.perm, expected, "{queue:?}");
    }

    // An unchanged re-registration does not undo the wipe.
    client.register(&broker).await;
    assert_eq!(client.route("T2").await.expect("route").queue_datas[0].perm, 4);

    let added = client.call(perm_request(RequestCode::AddWritePermOfBroker, "broker-a")).await;
    assert_eq!(added.ext("addTopicCount"), Some("2"));
    assert_eq!(client.route("T2").await.expect("route").queue_datas[0].perm, 6);

    let none = client.call(perm_request(RequestCode::WipeWritePermOfBroker, "nobody")).await;
    assert_eq!(none.ext("wipeTopicCount"), Some("0"));
    server.stop().await;
}

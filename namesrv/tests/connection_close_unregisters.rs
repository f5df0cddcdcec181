//! Closing the connection a broker registered on unregisters it at once, without waiting for
//! the expiry scan.

mod fixtures;

use std::time::Duration;

use fixtures::{config_in, eventually, start, Broker, Client};
use futures::{SinkExt, StreamExt};
use rmq_remoting::frame::FrameCodec;
use rmq_remoting::ResponseCode;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

#[tokio::test]
async fn closing_the_broker_connection_unregisters_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);

    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[("TopicTest", 4)]);
    let stream = TcpStream::connect(&server.addr).await.expect("connect");
    let mut framed = Framed::new(stream, FrameCodec::default());
    framed.send(broker.register_request()).await.expect("send");
    let response = framed.next().await.expect("answer").expect("frame");
    assert_eq!(response.response_code(), ResponseCode::Success);
    assert!(client.route("TopicTest").await.is_ok());

    // Another broker registered over the client's own connection is unaffected.
    client.register(&Broker::master("broker-b", "10.0.0.2:10911", &[("TopicTest", 4)])).await;

    drop(framed);
    let unregistered = eventually(Duration::from_secs(3), || async {
        client
            .route("TopicTest")
            .await
            .is_ok_and(|r| r.broker_datas.len() == 1 && r.broker_datas[0].broker_name == "broker-b")
    })
    .await;
    assert!(unregistered, "broker-a should leave the route when its connection closes");
    server.stop().await;
}

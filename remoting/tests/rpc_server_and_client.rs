//! The RPC layer over real loopback sockets: responses match requests by opaque, one-way
//! requests are never answered, and a saturated server answers SYSTEM_BUSY instead of queueing
//! without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::rpc::{serve, ClientConfig, Connection, Handler, RemotingClient, ServerConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpListener;

#[derive(Default)]
struct Echo {
    oneways: AtomicUsize,
}

impl Handler for Echo {
    async fn handle(&self, _conn: Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.is_oneway() {
            self.oneways.fetch_add(1, Ordering::SeqCst);
        }
        if req.request_code() == RequestCode::PullMessage {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Some(RemotingCommand::success(&req).with_body(req.body.clone()))
    }
}

async fn start(config: ServerConfig) -> (String, Arc<Echo>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handler = Arc::new(Echo::default());
    tokio::spawn(serve(listener, Arc::clone(&handler), config, std::future::pending()));
    (addr, handler)
}

#[tokio::test]
async fn concurrent_requests_get_their_own_responses() {
    let (addr, _) = start(ServerConfig::default()).await;
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let client = Arc::clone(&client);
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let req = RemotingCommand::request(RequestCode::HeartBeat).with_body(i.to_be_bytes().to_vec());
            let resp = client.invoke(&addr, req, Duration::from_secs(5)).await.expect("answer");
            assert_eq!(resp.body.as_ref(), &i.to_be_bytes());
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

#[tokio::test]
async fn oneway_requests_are_handled_but_never_answered() {
    let (addr, handler) = start(ServerConfig::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    client.invoke_oneway(&addr, RemotingCommand::request(RequestCode::UpdateConsumerOffset)).await.expect("sent");
    let resp = client
        .invoke(&addr, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(5))
        .await
        .expect("a later request is still answered");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    assert_eq!(handler.oneways.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn saturated_server_answers_system_busy() {
    let config = ServerConfig { max_concurrent: 1, max_wait: Duration::from_millis(50), ..Default::default() };
    let (addr, _) = start(config).await;
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    // Hold the only normal slot with a slow request (the echo handler sleeps on PULL codes,
    // which this server does not classify as long-running).
    let slow = {
        let client = Arc::clone(&client);
        let addr = addr.clone();
        tokio::spawn(async move {
            client.invoke(&addr, RemotingCommand::request(RequestCode::PullMessage), Duration::from_secs(5)).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = client
        .invoke(&addr, RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(5))
        .await
        .expect("answered");
    assert_eq!(busy.response_code(), ResponseCode::SystemBusy);
    assert_eq!(slow.await.expect("task").expect("slow answered").response_code(), ResponseCode::Success);
}

#[tokio::test]
async fn unreachable_peer_is_a_connect_error_not_a_hang() {
    let client = RemotingClient::new(ClientConfig { connect_timeout: Duration::from_secs(1), ..Default::default() });
    let started = std::time::Instant::now();
    let err = client
        .invoke("127.0.0.1:1", RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(2))
        .await
        .expect_err("nothing listens on port 1");
    assert!(started.elapsed() < Duration::from_secs(3), "{err}");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_the_others_served() {
    let (addr, _) = start(ServerConfig { max_connections: 2, ..ServerConfig::default() }).await;
    let first = RemotingClient::new(ClientConfig::default());
    let second = RemotingClient::new(ClientConfig::default());
    let third = RemotingClient::new(ClientConfig::default());
    let req = || RemotingCommand::request(RequestCode::HeartBeat);
    first.invoke(&addr, req(), Duration::from_secs(5)).await.expect("first connection served");
    second.invoke(&addr, req(), Duration::from_secs(5)).await.expect("second connection served");
    assert!(third.invoke(&addr, req(), Duration::from_secs(2)).await.is_err(), "the third is closed");
    second.close(&addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    third.invoke(&addr, req(), Duration::from_secs(5)).await.expect("served once a slot is free");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let (addr, _) = start(ServerConfig { idle_timeout: Duration::from_millis(300), ..ServerConfig::default() }).await;
    let client = RemotingClient::new(ClientConfig::default());
    let conn = client.connection(&addr).await.expect("connect");
    conn.request(RemotingCommand::request(RequestCode::HeartBeat), Duration::from_secs(5)).await.expect("served");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(conn.is_closed(), "an idle connection is closed by the server");
}

//! Every request code gets an answer (handled, or REQUEST_CODE_NOT_SUPPORTED) on the same
//! connection, even with no header and no body: nothing hangs, nothing crashes the connection.

use std::time::Duration;

use rmq_broker::{bind, run, Broker, BrokerConfig};
use rmq_remoting::config::Properties;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_is_answered_without_header_or_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let props = Properties::parse(&format!(
        "listenPort=0\nbindAddress=127.0.0.1\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\nmappedFileSizeCommitLog=1048576\n",
        dir.path().display()
    ))
    .expect("props");
    let config = BrokerConfig::from_properties(props).expect("config");
    let listeners = bind(&config).await.expect("bind");
    let addr = listeners.main.local_addr().expect("addr").to_string();
    let broker = Broker::open(config).expect("open");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(broker, listeners, async move {
        let _ = stopped.await;
    }));

    let client = RemotingClient::new(ClientConfig::default());
    let codes = RequestCode::ALL.iter().copied().chain([RequestCode::Unknown(12345)]);
    for code in codes {
        let req = RemotingCommand::request(code);
        let resp = client.invoke(&addr, req, Duration::from_secs(5)).await.unwrap_or_else(|e| panic!("{code:?}: {e}"));
        assert!(resp.is_response(), "{code:?}");
        if matches!(code, RequestCode::Unknown(_) | RequestCode::PopMessage | RequestCode::AuthCreateUser) {
            assert_eq!(resp.response_code(), ResponseCode::RequestCodeNotSupported, "{code:?}");
        }
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await.expect("shutdown in time").expect("joined");
}

//! Half messages stay invisible until committed, vanish when rolled back, and unresolved ones are
//! checked back with a live producer of the group, whose answer then commits them; END_TRANSACTION
//! for an unknown message is refused, and a repeated commit adds no duplicate.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::message::{decode_offset_msg_id, keys, sys_flag, StoredMessage};
use rmq_remoting::protocol::body::{to_json, HeartbeatData, ProducerData};
use rmq_remoting::protocol::send::{CheckTransactionStateRequest, SendMessageResponse};
use rmq_remoting::rpc::{ClientConfig, Connection, Handler, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::mpsc;

struct CheckCollector(mpsc::UnboundedSender<RemotingCommand>);

impl Handler for CheckCollector {
    async fn handle(&self, _conn: Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.0.send(req);
        None
    }
}

fn half(body: &[u8]) -> RemotingCommand {
    let mut req = send_request("TxTopic", 0, body, &[("TRAN_MSG", "true"), ("PGROUP", "TXG")]);
    req.ext_fields.insert("f", sys_flag::TRANSACTION_PREPARED.to_string());
    req
}

async fn visible(client: &RemotingClient<CheckCollector>, addr: &str) -> Vec<StoredMessage> {
    let resp = client.invoke(addr, pull_request("TxTopic", 0, 0, 32), TIMEOUT).await.expect("pull");
    if resp.response_code() != ResponseCode::Success {
        return Vec::new();
    }
    StoredMessage::decode_all(&resp.body).expect("records")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_rollback_and_check_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker =
        BrokerProcess::start(dir.path(), free_port(), "transactionTimeOut=500\ntransactionCheckInterval=200\n");
    let addr = broker.addr();
    let (tx, mut checks) = mpsc::unbounded_channel();
    let client = RemotingClient::with_handler(ClientConfig::default(), Arc::new(CheckCollector(tx)));
    let heartbeat = HeartbeatData {
        client_id: "127.0.0.1@tx".into(),
        producer_data_set: vec![ProducerData { group_name: "TXG".into() }],
        ..Default::default()
    };
    let hb = RemotingCommand::request(RequestCode::HeartBeat).with_body(to_json(&heartbeat));
    assert_eq!(client.invoke(&addr, hb, TIMEOUT).await.expect("heartbeat").response_code(), ResponseCode::Success);

    let send = |body: &'static [u8]| {
        let client = &client;
        let addr = addr.clone();
        async move {
            let resp = client.invoke(&addr, half(body), TIMEOUT).await.expect("send half");
            assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
            let h: SendMessageResponse = resp.header().expect("header");
            (decode_offset_msg_id(&h.msg_id).expect("offset id").1, h.queue_offset)
        }
    };

    // Committed: invisible until END_TRANSACTION, then visible as a COMMIT-type message.
    let (offset, queue_offset) = send(b"commit-me").await;
    assert!(visible(&client, &addr).await.is_empty(), "half message must be invisible");
    client
        .invoke_oneway(&addr, end_transaction("TxTopic", offset, queue_offset, sys_flag::TRANSACTION_COMMIT))
        .await
        .expect("end");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = visible(&client, &addr).await;
    while got.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        got = visible(&client, &addr).await;
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body.as_ref(), b"commit-me");
    assert_eq!(sys_flag::transaction_type(got[0].sys_flag), sys_flag::TRANSACTION_COMMIT);
    assert_eq!(got[0].prepared_transaction_offset, offset);

    // Rolled back: never visible.
    let (offset, queue_offset) = send(b"roll-me-back").await;
    client
        .invoke_oneway(&addr, end_transaction("TxTopic", offset, queue_offset, sys_flag::TRANSACTION_ROLLBACK))
        .await
        .expect("end");

    // Unresolved: the broker asks the producer, whose commit makes it visible.
    send(b"ask-me").await;
    let check =
        tokio::time::timeout(Duration::from_secs(10), checks.recv()).await.expect("a check arrives").expect("open");
    assert_eq!(check.request_code(), RequestCode::CheckTransactionState);
    assert!(check.is_oneway());
    let h: CheckTransactionStateRequest = check.header().expect("check header");
    let (msg, _) = StoredMessage::decode(&check.body).expect("check body is a record");
    assert_eq!(msg.body.as_ref(), b"ask-me");
    assert_eq!(msg.topic, "TxTopic", "the producer sees the real topic");
    assert_eq!(msg.properties.get(keys::PGROUP).map(String::as_str), Some("TXG"));
    client
        .invoke_oneway(
            &addr,
            end_transaction("TxTopic", h.commit_log_offset, h.tran_state_table_offset, sys_flag::TRANSACTION_COMMIT),
        )
        .await
        .expect("end after check");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let bodies: Vec<Vec<u8>> = visible(&client, &addr).await.iter().map(|m| m.body.to_vec()).collect();
        if bodies.len() == 2 {
            assert_eq!(bodies, vec![b"commit-me".to_vec(), b"ask-me".to_vec()], "rolled-back message never shows");
            break;
        }
        assert!(Instant::now() < deadline, "checked message not committed: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_message_never_resolved_goes_to_the_check_max_time_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(
        dir.path(),
        free_port(),
        "transactionTimeOut=100\ntransactionCheckInterval=100\ntransactionCheckMax=2\n",
    );
    let addr = broker.addr();
    let client = RemotingClient::new(ClientConfig::default());
    let resp = client.invoke(&addr, half(b"never-answered"), TIMEOUT).await.expect("half");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    // No producer is online to answer the checks: after transactionCheckMax checks the message
    // is kept aside, never delivered to TxTopic.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let pulled = client.invoke(&addr, pull_request("TRANS_CHECK_MAX_TIME_TOPIC", 0, 0, 32), TIMEOUT).await;
        let resp = pulled.expect("pull");
        if resp.response_code() == ResponseCode::Success {
            let msgs = StoredMessage::decode_all(&resp.body).expect("records");
            assert_eq!(msgs.len(), 1);
            assert_eq!(msgs[0].body.as_ref(), b"never-answered");
            break;
        }
        assert!(Instant::now() < deadline, "the half message never reached TRANS_CHECK_MAX_TIME_TOPIC");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let real = client.invoke(&addr, pull_request("TxTopic", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_ne!(real.response_code(), ResponseCode::Success, "never visible in its real topic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_transaction_for_an_unknown_message_is_refused_and_a_repeated_commit_adds_no_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "");
    let addr = broker.addr();
    let client = RemotingClient::new(ClientConfig::default());
    let unknown = client.invoke(&addr, end_transaction("TxTopic", 1 << 40, 0, sys_flag::TRANSACTION_COMMIT), TIMEOUT);
    let unknown = unknown.await.expect("answered");
    assert_eq!(unknown.response_code(), ResponseCode::SystemError, "unknown half message: {:?}", unknown.remark);

    let resp = client.invoke(&addr, half(b"once"), TIMEOUT).await.expect("send half");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let h: SendMessageResponse = resp.header().expect("header");
    let offset = decode_offset_msg_id(&h.msg_id).expect("offset id").1;
    let commit = || end_transaction("TxTopic", offset, h.queue_offset, sys_flag::TRANSACTION_COMMIT);
    let first = client.invoke(&addr, commit(), TIMEOUT).await.expect("commit");
    assert_eq!(first.response_code(), ResponseCode::Success, "{:?}", first.remark);
    let again = client.invoke(&addr, commit(), TIMEOUT).await.expect("second commit");
    // The half message is already resolved: answered SUCCESS (the client's retry is harmless) and
    // nothing is committed twice.
    assert_eq!(again.response_code(), ResponseCode::Success, "{:?}", again.remark);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resp = client.invoke(&addr, pull_request("TxTopic", 0, 0, 32), TIMEOUT).await.expect("pull");
    let visible = StoredMessage::decode_all(&resp.body).expect("records");
    assert_eq!(visible.len(), 1, "committed once, visible once");
}

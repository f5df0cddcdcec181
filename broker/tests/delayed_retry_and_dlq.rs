//! Delay levels hold a message back until its time; a consumer's send-back re-queues the message
//! to `%RETRY%<group>` after the level's delay, and to `%DLQ%<group>` after the maximum retries.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::message::{keys, StoredMessage};
use rmq_remoting::protocol::consumer::ConsumerSendMsgBackRequest;
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

async fn pull_all(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
    let resp = client.invoke(addr, pull_request(topic, queue_id, 0, 32), TIMEOUT).await.expect("pull");
    if resp.response_code() != ResponseCode::Success {
        return Vec::new();
    }
    StoredMessage::decode_all(&resp.body).expect("records")
}

async fn wait_for(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    within: Duration,
) -> Vec<StoredMessage> {
    let deadline = Instant::now() + within;
    loop {
        let got = pull_all(client, addr, topic, queue_id).await;
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn send_back(offset: i64, delay_level: i32, max: Option<i32>) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequest {
        offset,
        group: "CG".into(),
        delay_level,
        origin_msg_id: None,
        origin_topic: None,
        unit_mode: Some(false),
        max_reconsume_times: max,
    };
    RemotingCommand::request(RequestCode::ConsumerSendMsgBack).with_header(&header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_then_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "messageDelayLevel=1s 1s 1s 2s\n");
    let client = client();
    let addr = broker.addr();

    // A message with delay level 2 (1 s) is not visible at once, then arrives on its real queue.
    let resp = client
        .invoke(&addr, send_request("Delayed", 1, b"later", &[("DELAY", "2"), ("TAGS", "T")]), TIMEOUT)
        .await
        .expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let sent_at = Instant::now();
    assert!(pull_all(&client, &addr, "Delayed", 1).await.is_empty(), "delayed message visible too early");
    let got = wait_for(&client, &addr, "Delayed", 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "delayed message delivered");
    assert!(sent_at.elapsed() >= Duration::from_millis(800), "delivered after its delay");
    assert_eq!(got[0].body.as_ref(), b"later");
    assert_eq!(got[0].properties.get(keys::REAL_TOPIC).map(String::as_str), Some("Delayed"));
    assert!(!got[0].properties.contains_key(keys::DELAY));

    // The consumer fails it: send-back with level 0 means level 3 + reconsumeTimes (here 1 s).
    let resp = client.invoke(&addr, send_back(got[0].physical_offset, 0, None), TIMEOUT).await.expect("send back");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let retried = wait_for(&client, &addr, "%RETRY%CG", 0, Duration::from_secs(10)).await;
    assert_eq!(retried.len(), 1, "message re-queued to the retry topic");
    assert_eq!(retried[0].reconsume_times, 1);
    assert_eq!(retried[0].properties.get(keys::RETRY_TOPIC).map(String::as_str), Some("Delayed"));
    assert!(retried[0].properties.contains_key(keys::ORIGIN_MESSAGE_ID));

    // Retried as often as allowed: the next failure goes to the dead-letter queue, at once.
    let resp =
        client.invoke(&addr, send_back(retried[0].physical_offset, 0, Some(1)), TIMEOUT).await.expect("send back");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let dead = wait_for(&client, &addr, "%DLQ%CG", 0, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1, "message dead-lettered");
    assert_eq!(dead[0].body.as_ref(), b"later");
    assert_eq!(dead[0].reconsume_times, 2);

    // An unknown commit-log offset is an error, not a crash.
    let resp = client.invoke(&addr, send_back(1 << 40, 0, None), TIMEOUT).await.expect("send back");
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
}

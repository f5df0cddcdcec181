//! Long polling as Apache does it: a suspended pull that would be answered PULL_NOT_FOUND is
//! held until a message arrives, also on a queue that has never had a message (a consumer's
//! empty retry topic), instead of being answered at once and pulled again in a busy loop.

mod common;

use std::time::Duration;

use common::*;
use rmq_remoting::message::StoredMessage;
use rmq_remoting::protocol::consumer::{pull_flag, PullMessageRequest};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

/// A PULL_MESSAGE that may be held for `hold`.
fn suspended_pull(topic: &str, queue_id: i32, offset: i64, hold: Duration) -> RemotingCommand {
    let plain = pull_request(topic, queue_id, offset, 32);
    let mut header: PullMessageRequest = plain.header().expect("pull header");
    header.sys_flag |= pull_flag::SUSPEND;
    header.suspend_timeout_millis = Some(hold.as_millis() as i64);
    RemotingCommand::request(RequestCode::PullMessage).with_header(&header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_on_a_queue_never_written_waits_for_the_first_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "");
    let client = client();
    // The topic exists (created by a send to queue 0); queue 1 has never had a message.
    let resp = client.invoke(&broker.addr(), send_request("Held", 0, b"first", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);

    let addr = broker.addr();
    let held = tokio::spawn(async move {
        // A connection of its own: the send below must not queue behind the held pull.
        let pull = suspended_pull("Held", 1, 0, Duration::from_secs(8));
        common::client().invoke(&addr, pull, Duration::from_secs(15)).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "the pull on the empty queue was answered instead of held");

    let resp = client.invoke(&broker.addr(), send_request("Held", 1, b"arrived", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let answer = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("the held pull is answered soon after the arrival")
        .expect("pull task")
        .expect("pull answered");
    assert_eq!(answer.response_code(), ResponseCode::Success, "{:?}", answer.remark);
    let records = StoredMessage::decode_all(&answer.body).expect("records");
    assert_eq!(records.iter().map(|m| m.body.as_ref()).collect::<Vec<_>>(), vec![&b"arrived"[..]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_pull_on_an_empty_queue_is_answered_not_found_at_its_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "");
    let client = client();
    let resp = client.invoke(&broker.addr(), send_request("Quiet", 0, b"first", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);

    let started = std::time::Instant::now();
    let pull = suspended_pull("Quiet", 2, 0, Duration::from_millis(700));
    let answer = client.invoke(&broker.addr(), pull, TIMEOUT).await.expect("pull answered");
    assert_eq!(answer.response_code(), ResponseCode::PullNotFound, "{:?}", answer.remark);
    assert!(started.elapsed() >= Duration::from_millis(600), "answered after {:?}", started.elapsed());
}

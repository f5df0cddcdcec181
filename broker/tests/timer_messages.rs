//! RocketMQ 5 timer messages on the broker binary: a message with a timer property stays
//! invisible until due, then appears in its real topic; one that fell due while the broker was
//! stopped is delivered right after the restart, once; a delay over `timerMaxDelaySec` is refused.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::message::StoredMessage;
use rmq_remoting::ResponseCode;

async fn pull_bodies(client: &rmq_remoting::rpc::RemotingClient, addr: &str, topic: &str) -> Vec<String> {
    let resp = client.invoke(addr, pull_request(topic, 0, 0, 32), TIMEOUT).await.expect("pull");
    if resp.response_code() != ResponseCode::Success {
        return Vec::new();
    }
    let msgs = StoredMessage::decode_all(&resp.body).expect("records");
    msgs.iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()).collect()
}

async fn wait_for_bodies(client: &rmq_remoting::rpc::RemotingClient, addr: &str, topic: &str, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if pull_bodies(client, addr, topic).await.len() >= n {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "{topic}: fewer than {n} messages delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_messages_wait_until_due_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let broker = BrokerProcess::start(dir.path(), port, "");
    let client = client();
    let addr = broker.addr();

    let sent = Instant::now();
    let req = send_request("TimerT", 0, b"in-1500ms", &[("TIMER_DELAY_MS", "1500"), ("TAGS", "T")]);
    let resp = client.invoke(&addr, req, TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    assert!(pull_bodies(&client, &addr, "TimerT").await.is_empty(), "invisible before it is due");
    let arrived = wait_for_bodies(&client, &addr, "TimerT", 1).await;
    let waited = arrived - sent;
    assert!(waited >= Duration::from_millis(1400), "delivered after {waited:?}");
    assert!(waited <= Duration::from_millis(3500), "delivered after {waited:?}");

    let too_far = send_request("TimerT", 0, b"x", &[("TIMER_DELAY_SEC", "999999999")]);
    let resp = client.invoke(&addr, too_far, TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::MessageIllegal);

    // Due while the broker is down: delivered once, right after the restart.
    let due_in = |ms: u64| send_request("TimerR", 0, b"due-while-down", &[("TIMER_DELAY_MS", &ms.to_string())]);
    let resp = client.invoke(&addr, due_in(1000), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    broker.terminate();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let broker = BrokerProcess::start(dir.path(), port, "");
    let ready = Instant::now();
    let arrived = wait_for_bodies(&client, &addr, "TimerR", 1).await;
    assert!(arrived - ready <= Duration::from_secs(2), "delivered {:?} after the restart", arrived - ready);
    // And only once, even across another restart.
    broker.terminate();
    let _broker = BrokerProcess::start(dir.path(), port, "");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(pull_bodies(&client, &addr, "TimerR").await, vec!["due-while-down".to_owned()]);
    assert_eq!(pull_bodies(&client, &addr, "TimerT").await, vec!["in-1500ms".to_owned()]);
}

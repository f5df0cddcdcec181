//! Crash safety: a SYNC_FLUSH broker is killed with SIGKILL at random moments while several
//! producers send; after each restart every acknowledged message is in its queue at the offset it
//! was acknowledged with, in send order, and committed consumer offsets are back.
//!
//! CI runs 3 cycles; the long run is `RMQ_KILL_CYCLES=20 cargo test -p rmq-broker --test kill9_keeps_acknowledged`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rand::Rng;
use rmq_remoting::message::StoredMessage;
use rmq_remoting::protocol::consumer::{OffsetResponse, QueryConsumerOffsetRequest, UpdateConsumerOffsetRequest};
use rmq_remoting::protocol::send::SendMessageResponse;
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::Mutex;

const PRODUCERS: i32 = 3;
const TOPIC: &str = "Durable";

/// Acknowledged sends: queue → (queue offset → body).
type Acked = Arc<Mutex<BTreeMap<i32, BTreeMap<i64, String>>>>;

async fn produce(addr: String, producer: i32, cycle: usize, acked: Acked) {
    let client = client();
    for seq in 0.. {
        let body = format!("c{cycle:03}-p{producer}-{seq:06}");
        let req = send_request(TOPIC, producer, body.as_bytes(), &[("KEYS", &body)]);
        match client.invoke(&addr, req, Duration::from_secs(3)).await {
            Ok(resp) if resp.response_code() == ResponseCode::Success => {
                let h: SendMessageResponse = resp.header().expect("send header");
                acked.lock().await.entry(producer).or_default().insert(h.queue_offset, body);
            }
            _ => return,
        }
    }
}

async fn stored(client: &RemotingClient, addr: &str, queue: i32) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    loop {
        let resp = client.invoke(addr, pull_request(TOPIC, queue, offset, 32), TIMEOUT).await.expect("pull");
        if resp.response_code() != ResponseCode::Success {
            return out;
        }
        for m in StoredMessage::decode_all(&resp.body).expect("records") {
            out.insert(m.queue_offset, String::from_utf8_lossy(&m.body).into_owned());
            offset = m.queue_offset + 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let cycles: usize = std::env::var("RMQ_KILL_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let conf = "flushDiskType=SYNC_FLUSH\nflushConsumerOffsetInterval=500\n";
    let acked: Acked = Arc::default();
    let mut committed = BTreeMap::new();
    let mut total_acked = 0;
    for cycle in 0..cycles {
        let broker = BrokerProcess::start(dir.path(), port, conf);
        let addr = broker.addr();
        let client = client();

        // Everything acknowledged in earlier cycles is still there, at the same offsets.
        for (queue, expected) in acked.lock().await.iter() {
            let got = stored(&client, &addr, *queue).await;
            for (offset, body) in expected {
                assert_eq!(got.get(offset), Some(body), "cycle {cycle}: queue {queue} offset {offset} lost or changed");
            }
            let own: Vec<&String> = got.values().filter(|b| b.contains(&format!("-p{queue}-"))).collect();
            let mut sorted = own.clone();
            sorted.sort();
            assert_eq!(own, sorted, "cycle {cycle}: queue {queue} keeps send order");
        }
        // Committed offsets are back.
        for (queue, offset) in &committed {
            let header = QueryConsumerOffsetRequest {
                consumer_group: "CG".into(),
                topic: TOPIC.into(),
                queue_id: *queue,
                set_zero_if_not_found: None,
            };
            let req = RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(&header);
            let resp = client.invoke(&addr, req, TIMEOUT).await.expect("query offset");
            let h: OffsetResponse = resp.header().expect("offset header");
            assert_eq!(h.offset, *offset, "cycle {cycle}: committed offset of queue {queue}");
        }

        // Commit an offset per queue and give the broker time to persist it.
        for queue in 0..PRODUCERS {
            let offset = acked.lock().await.get(&queue).map_or(0, |m| m.len() as i64 / 2);
            let header = UpdateConsumerOffsetRequest {
                consumer_group: "CG".into(),
                topic: TOPIC.into(),
                queue_id: queue,
                commit_offset: offset,
            };
            let req = RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(&header);
            assert_eq!(
                client.invoke(&addr, req, TIMEOUT).await.expect("commit").response_code(),
                ResponseCode::Success
            );
            committed.insert(queue, offset);
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;

        // Producers send until the broker dies under them.
        let tasks: Vec<_> =
            (0..PRODUCERS).map(|p| tokio::spawn(produce(addr.clone(), p, cycle, Arc::clone(&acked)))).collect();
        let delay = rand::thread_rng().gen_range(200..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        broker.kill9();
        for t in tasks {
            t.await.expect("producer task");
        }
        let now: usize = acked.lock().await.values().map(BTreeMap::len).sum();
        assert!(now > total_acked, "cycle {cycle}: some sends were acknowledged");
        total_acked = now;
    }
    // Final check after the last kill.
    let broker = BrokerProcess::start(dir.path(), port, conf);
    let client = client();
    for (queue, expected) in acked.lock().await.iter() {
        let got = stored(&client, &broker.addr(), *queue).await;
        for (offset, body) in expected {
            assert_eq!(got.get(offset), Some(body), "after the last kill: queue {queue} offset {offset}");
        }
    }
    println!("kill -9 cycles: {cycles}, acknowledged messages checked: {total_acked}");
}

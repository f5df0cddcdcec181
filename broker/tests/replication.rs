//! Master/slave replication between real broker processes: a slave holds the master's messages
//! at the same CommitLog and queue offsets and serves them; a `SYNC_MASTER` with
//! `inSyncReplicas=2` answers SUCCESS only once a slave has the message, FLUSH_SLAVE_TIMEOUT when
//! no slave acknowledges in time, and a slave that comes back catches up from where it stopped.

mod common;

use std::time::{Duration, Instant};

use common::{client, pull_request, send_request};
use rmq_remoting::message::StoredMessage;
use rmq_remoting::protocol::consumer::{OffsetResponse, QueueRequest};
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::{Cluster, Impl};

const TOPIC: &str = "Replicated";
const QUEUES: i32 = 4;

type Props = &'static [(&'static str, &'static str)];

/// A master `m` and its slave `s1`, with `props` on both and `master_props` on the master.
async fn start(name: &'static str, props: Props, master_props: Props) -> Cluster {
    tokio::task::spawn_blocking(move || {
        let mut builder = Cluster::builder(name, Impl::Rmq).broker("m").slave("s1", "m", 1);
        for (k, v) in props {
            builder = builder.broker_property(*k, *v);
        }
        for (k, v) in master_props {
            builder = builder.broker_property_on("m", *k, *v);
        }
        builder.start()
    })
    .await
    .expect("join")
    .expect("cluster starts")
}

async fn send(client: &RemotingClient, addr: &str, queue_id: i32, body: &str) -> RemotingCommand {
    let req = send_request(TOPIC, queue_id, body.as_bytes(), &[("KEYS", body)]);
    client.invoke(addr, req, Duration::from_secs(10)).await.expect("send answered")
}

async fn max_offset(client: &RemotingClient, addr: &str, queue_id: i32) -> i64 {
    let header = QueueRequest { topic: TOPIC.into(), queue_id };
    let req = RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&header);
    let resp = client.invoke(addr, req, Duration::from_secs(5)).await.expect("max offset answered");
    resp.header::<OffsetResponse>().map_or(-1, |h| h.offset)
}

/// Waits until every queue's max offset on `slave` equals the master's.
async fn await_caught_up(client: &RemotingClient, master: &str, slave: &str) -> Duration {
    let start = Instant::now();
    loop {
        let mut behind = Vec::new();
        for q in 0..QUEUES {
            let (m, s) = (max_offset(client, master, q).await, max_offset(client, slave, q).await);
            if m != s {
                behind.push(format!("queue {q}: master {m}, slave {s}"));
            }
        }
        if behind.is_empty() {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "slave did not catch up: {behind:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything in a queue from offset 0. A slave learns the master's topics with its periodic
/// metadata sync (every 10 s), so until then it may not know the topic: retry for a while.
async fn pull_all(client: &RemotingClient, addr: &str, queue_id: i32) -> Vec<StoredMessage> {
    let (start, end) = (Instant::now(), max_offset(client, addr, queue_id).await);
    let mut all: Vec<StoredMessage> = Vec::new();
    while (all.len() as i64) < end {
        let req = pull_request(TOPIC, queue_id, all.len() as i64, 32);
        let resp = client.invoke(addr, req, Duration::from_secs(5)).await.expect("pull");
        if resp.response_code() == ResponseCode::Success {
            all.extend(StoredMessage::decode_all(&resp.body).expect("records"));
            continue;
        }
        assert!(start.elapsed() < Duration::from_secs(25), "pull from {addr}: {} {:?}", resp.code, resp.remark);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_serves_the_masters_messages_at_the_same_offsets() {
    let cluster = start("replication_same_offsets", &[("slaveReadEnable", "true")], &[]).await;
    let (master, slave) = (cluster.broker("m").addr(), cluster.broker("s1").addr());
    let client = client();
    for i in 0..200 {
        let resp = send(&client, &master, i % QUEUES, &format!("m-{i}")).await;
        assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    }
    let lag = await_caught_up(&client, &master, &slave).await;
    println!("slave caught up {lag:?} after the last send");
    for q in 0..QUEUES {
        let (from_master, from_slave) = (pull_all(&client, &master, q).await, pull_all(&client, &slave, q).await);
        assert_eq!(from_master.len(), 50);
        let key = |m: &StoredMessage| (m.body.clone(), m.queue_offset, m.physical_offset, m.store_timestamp);
        assert_eq!(
            from_master.iter().map(key).collect::<Vec<_>>(),
            from_slave.iter().map(key).collect::<Vec<_>>(),
            "queue {q}: same records at the same offsets"
        );
    }
    let refused = send(&client, &slave, 0, "to-the-slave").await;
    assert_ne!(refused.response_code(), ResponseCode::Success, "a slave refuses sends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_master_acknowledges_only_replicated_sends() {
    let mut cluster = start(
        "replication_sync_master",
        &[("slaveReadEnable", "true")],
        &[("brokerRole", "SYNC_MASTER"), ("inSyncReplicas", "2"), ("slaveTimeout", "1000")],
    )
    .await;
    let (master, slave) = (cluster.broker("m").addr(), cluster.broker("s1").addr());
    let client = client();
    for i in 0..20 {
        let resp = send(&client, &master, i % QUEUES, &format!("a-{i}")).await;
        assert_eq!(resp.response_code(), ResponseCode::Success, "replicated send: {:?}", resp.remark);
        // SUCCESS means the slave has it: no waiting needed.
        assert_eq!(max_offset(&client, &slave, i % QUEUES).await, max_offset(&client, &master, i % QUEUES).await);
    }
    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("s1").kill();
        cluster
    })
    .await
    .expect("join");
    let started = Instant::now();
    let resp = send(&client, &master, 0, "unreplicated").await;
    assert_eq!(resp.response_code(), ResponseCode::FlushSlaveTimeout, "no slave: {:?}", resp.remark);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited slaveTimeout");
    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("s1").start().expect("slave restarts");
        cluster
    })
    .await
    .expect("join");
    await_caught_up(&client, &master, &slave).await;
    let resp = send(&client, &master, 1, "replicated-again").await;
    assert_eq!(resp.response_code(), ResponseCode::Success, "slave back: {:?}", resp.remark);
    let slave_q0 = pull_all(&client, &slave, 0).await;
    assert!(slave_q0.iter().any(|m| m.body.as_ref() == b"unreplicated"), "the slave caught up the unacknowledged send");
    drop(cluster);
}

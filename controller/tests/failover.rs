//! The failover controller against real processes on loopback: two NameServers, one group of a
//! `SYNC_MASTER` (`inSyncReplicas=2`, `SYNC_FLUSH`) and two slaves, two controller replicas,
//! and a producer (the Rust client) sending under load.
//!
//! - `kill -9` of the master: a slave is master within seconds, the producer is acknowledged
//!   again, every acknowledged message is there, the old master comes back as a slave.
//! - `SIGSTOP` of the master past the timeout, failover, `SIGCONT`: the old master accepts no
//!   write, its CommitLog does not grow, and it rejoins as a slave of the new epoch.
//! - switchover under load: nothing acknowledged is lost, and a send fails at most with the
//!   retriable SERVICE_NOT_AVAILABLE of the fenced master until the client's route moves on.
//! - bad switchover requests get clear gRPC statuses; the leader election hands over when the
//!   leading replica dies.
//!
//! Each scenario prints its figures (failover time, user-visible gap, acknowledged, found, lost,
//! duplicated).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_admin_api::v1::failover_controller_client::FailoverControllerClient;
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{GroupsRequest, StatusReply, StatusRequest, SwitchoverRequest};
use rmq_client::admin::{TopicSpec, TopicTarget};
use rmq_client::{Admin, Message, MessageQueue, Producer, SendStatus};
use rmq_remoting::protocol::send::SendMessageRequestV2;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::{Cluster, Impl};
use tonic::Code;

const GROUP: &str = "m";
const TOPIC: &str = "FailoverTopic";
const FAILOVER_AFTER_MS: u64 = 1_500;

/// Starts the group with `controllers` controller replicas and creates [`TOPIC`] on every
/// member (so a promoted slave has it at once).
async fn start(name: &'static str, controllers: usize) -> Cluster {
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder(name, Impl::Rmq)
            .name_servers(2)
            .broker(GROUP)
            .slave("s1", GROUP, 1)
            .slave("s2", GROUP, 2)
            .broker_property_on(GROUP, "brokerRole", "SYNC_MASTER")
            .broker_property("inSyncReplicas", "2")
            .broker_property("flushDiskType", "SYNC_FLUSH")
            .broker_property("slaveReadEnable", "true")
            .broker_property("haHousekeepingInterval", "3000")
            .failover_controllers(controllers, FAILOVER_AFTER_MS)
            .start()
    })
    .await
    .expect("join")
    .expect("cluster starts");
    let admin = admin(&cluster).await;
    let spec = TopicSpec { read_queues: 4, write_queues: 4, ..TopicSpec::new(TOPIC) };
    for broker in cluster.brokers() {
        admin.create_topic(&spec, &TopicTarget::Broker(broker.addr())).await.expect("topic created");
    }
    cluster
}

async fn admin(cluster: &Cluster) -> Admin {
    Admin::builder().name_server(cluster.namesrv_addr()).build().await.expect("admin")
}

fn admin_addr(cluster: &Cluster, name: &str) -> String {
    cluster.broker(name).admin_addr().expect("admin port")
}

async fn status(addr: &str) -> Option<StatusReply> {
    let mut client = ReplicationAdminClient::connect(format!("http://{addr}")).await.ok()?;
    let call = client.status(StatusRequest {});
    tokio::time::timeout(Duration::from_millis(500), call).await.ok()?.ok().map(|r| r.into_inner())
}

/// Waits until one of `candidates` is a writable master above `epoch`; returns its name.
async fn await_new_master(cluster: &Cluster, candidates: &[&str], epoch: u64, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        for name in candidates {
            if let Some(s) = status(&admin_addr(cluster, name)).await {
                if s.role != "SLAVE" && s.writable && s.epoch > epoch {
                    return (*name).to_owned();
                }
            }
        }
        assert!(Instant::now() < deadline, "no slave became master within {timeout:?}\n{}", cluster.diagnostics());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until broker `name` is a slave under `epoch` or later.
async fn await_slave(cluster: &Cluster, name: &str, epoch: u64) -> StatusReply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = status(&admin_addr(cluster, name)).await {
            if s.role == "SLAVE" && s.epoch >= epoch && !s.fenced {
                return s;
            }
        }
        assert!(Instant::now() < deadline, "{name} never rejoined as a slave\n{}", cluster.diagnostics());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A producer sending numbered messages one after another, as an application would: a send
/// that fails after the client's own retries is tried again (a new message, same body).
struct Load {
    stop: Arc<AtomicBool>,
    /// msg id → (body, when acknowledged).
    acked: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    failed: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    async fn start(cluster: &Cluster) -> Load {
        let producer = Producer::builder()
            .name_server(cluster.namesrv_addr())
            .refresh_interval(Duration::from_secs(1))
            .send_timeout(Duration::from_secs(3))
            .build()
            .await
            .expect("producer");
        let (stop, acked, failed) = (Arc::default(), Arc::default(), Arc::default());
        let task = tokio::spawn({
            let (stop, acked, failed): (Arc<AtomicBool>, Arc<Mutex<HashMap<_, _>>>, Arc<Mutex<Vec<_>>>) =
                (Arc::clone(&stop), Arc::clone(&acked), Arc::clone(&failed));
            async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = format!("msg-{n}");
                    match producer.send(Message::new(TOPIC, body.clone())).await {
                        Ok(r) if r.status == SendStatus::SendOk => {
                            acked.lock().expect("lock").insert(r.msg_id, (body, Instant::now()));
                            n += 1;
                        }
                        Ok(r) => failed.lock().expect("lock").push(format!("{body}: {:?}", r.status)),
                        Err(e) => {
                            failed.lock().expect("lock").push(format!("{body}: {e}"));
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                producer.shutdown().await;
            }
        });
        Load { stop, acked, failed, task }
    }

    fn acked(&self) -> usize {
        self.acked.lock().expect("lock").len()
    }

    async fn await_acked(&self, n: usize, cluster: &Cluster) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} sends acknowledged\n{}",
                self.acked(),
                cluster.diagnostics()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The gap users saw around `t` (a kill or freeze): the longest time without any
    /// acknowledgement, from one second before `t` on.
    fn gap_around(&self, t: Instant) -> Duration {
        let since = t.checked_sub(Duration::from_secs(1)).unwrap_or(t);
        let mut acks: Vec<Instant> =
            self.acked.lock().expect("lock").values().map(|(_, at)| *at).filter(|at| *at >= since).collect();
        acks.sort_unstable();
        acks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
    }

    async fn stop(self) -> (HashMap<String, (String, Instant)>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("load task");
        let acked = std::mem::take(&mut *self.acked.lock().expect("lock"));
        let failed = std::mem::take(&mut *self.failed.lock().expect("lock"));
        (acked, failed)
    }
}

/// Every message id stored in [`TOPIC`], with how often it occurs, read from broker `master`
/// once the route names it the master.
async fn stored_ids(cluster: &Cluster, master: &str) -> HashMap<String, usize> {
    let admin = admin(cluster).await;
    let expected = cluster.broker(master).addr();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let route = admin.topic_route(TOPIC).await.expect("route");
        if route.broker_datas.iter().any(|b| b.broker_addrs.get(&0) == Some(&expected)) {
            break;
        }
        assert!(Instant::now() < deadline, "the route never named {master} the master: {route:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ids = HashMap::new();
    for queue_id in 0..4 {
        let mq = MessageQueue { topic: TOPIC.into(), broker_name: GROUP.into(), queue_id };
        let mut offset = 0;
        loop {
            let batch = admin.pull(&mq, offset, 32).await.expect("pull");
            if batch.messages.is_empty() {
                break;
            }
            for m in &batch.messages {
                *ids.entry(m.msg_id.clone()).or_insert(0) += 1;
            }
            offset = batch.next_begin_offset;
        }
    }
    ids
}

/// Checks every acknowledged message is stored and prints the scenario's figures.
async fn check_nothing_lost(
    scenario: &str,
    cluster: &Cluster,
    master: &str,
    acked: &HashMap<String, (String, Instant)>,
    failover: Option<Duration>,
    gap: Option<Duration>,
) {
    let stored = stored_ids(cluster, master).await;
    let lost: Vec<&String> = acked.keys().filter(|id| !stored.contains_key(*id)).collect();
    let duplicated = stored.values().filter(|n| **n > 1).count();
    println!(
        "{scenario}: failover {failover:?}, user-visible gap {gap:?}, acknowledged {}, stored {}, lost {}, duplicated {duplicated}",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{scenario}: {} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_master_promotes_a_slave_and_loses_nothing_acknowledged() {
    let mut cluster = start("failover_kill9", 2).await;
    let load = Load::start(&cluster).await;
    load.await_acked(200, &cluster).await;
    let killed_at = Instant::now();
    cluster.broker_mut(GROUP).kill();
    let new_master = await_new_master(&cluster, &["s1", "s2"], 0, Duration::from_secs(15)).await;
    let failover = killed_at.elapsed();
    load.await_acked(load.acked() + 100, &cluster).await;
    let gap = Some(load.gap_around(killed_at));
    let (acked, failed) = load.stop().await;
    check_nothing_lost("kill -9 master", &cluster, &new_master, &acked, Some(failover), gap).await;
    println!("sends that failed after the client's retries (tried again): {}", failed.len());

    // The old master comes back, learns the new epoch and follows the new master.
    let epoch = status(&admin_addr(&cluster, &new_master)).await.expect("new master status").epoch;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut(GROUP).start().expect("old master restarts");
        cluster
    })
    .await
    .expect("join");
    let rejoined = await_slave(&cluster, GROUP, epoch).await;
    assert!(rejoined.broker_id > 0, "the old master took BrokerId {}", rejoined.broker_id);
}

/// Kills whichever broker is master, `RMQ_FAILOVER_CYCLES` times in a row (default 2; the
/// documented long run uses 10), restarting each killed one so it rejoins as a slave; nothing
/// acknowledged may be lost over all cycles. Prints each cycle's figures and a summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn successive_failovers_lose_nothing_acknowledged() {
    let cycles: usize = std::env::var("RMQ_FAILOVER_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let mut cluster = start("failover_cycles", 1).await;
    let load = Load::start(&cluster).await;
    load.await_acked(100, &cluster).await;
    let mut master = GROUP.to_owned();
    let (mut failovers, mut gaps) = (Vec::new(), Vec::new());
    for cycle in 1..=cycles {
        let epoch = status(&admin_addr(&cluster, &master)).await.expect("master status").epoch;
        let others: Vec<&str> = ["m", "s1", "s2"].into_iter().filter(|n| *n != master).collect();
        let killed_at = Instant::now();
        cluster.broker_mut(&master).kill();
        let next = await_new_master(&cluster, &others, epoch, Duration::from_secs(15)).await;
        let failover = killed_at.elapsed();
        load.await_acked(load.acked() + 100, &cluster).await;
        let gap = load.gap_around(killed_at);
        println!("cycle {cycle}: killed {master}, {next} master after {failover:?}, user-visible gap {gap:?}");
        failovers.push(failover);
        gaps.push(gap);
        let new_epoch = status(&admin_addr(&cluster, &next)).await.expect("new master status").epoch;
        let killed = master.clone();
        cluster = tokio::task::spawn_blocking(move || {
            cluster.broker_mut(&killed).start().expect("killed master restarts");
            cluster
        })
        .await
        .expect("join");
        await_slave(&cluster, &master, new_epoch).await;
        master = next;
    }
    let (acked, _) = load.stop().await;
    failovers.sort_unstable();
    gaps.sort_unstable();
    let summary = |v: &[Duration]| format!("min {:?}, median {:?}, max {:?}", v[0], v[v.len() / 2], v[v.len() - 1]);
    println!("{cycles} failovers: failover time {}; user-visible gap {}", summary(&failovers), summary(&gaps));
    check_nothing_lost(&format!("{cycles} successive failovers"), &cluster, &master, &acked, None, None).await;
}

/// A SEND_MESSAGE_V2 straight to `addr`, bypassing routes.
async fn send_to(client: &RemotingClient, addr: &str, n: usize) -> ResponseCode {
    let header = SendMessageRequestV2 {
        producer_group: "direct".into(),
        topic: TOPIC.into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        born_timestamp: 1_700_000_000_000,
        ..Default::default()
    };
    let req = RemotingCommand::request(RequestCode::SendMessageV2)
        .with_header(&header)
        .with_body(format!("direct-{n}").into_bytes());
    match client.invoke(addr, req, Duration::from_secs(2)).await {
        Ok(resp) => resp.response_code(),
        Err(_) => ResponseCode::SystemError,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_master_accepts_no_write_after_the_failover_and_rejoins_as_slave() {
    let cluster = start("failover_sigstop", 1).await;
    let load = Load::start(&cluster).await;
    load.await_acked(100, &cluster).await;
    let old = admin_addr(&cluster, GROUP);
    let before = status(&old).await.expect("master status");
    let frozen_at = Instant::now();
    cluster.broker(GROUP).pause();
    let new_master = await_new_master(&cluster, &["s1", "s2"], before.epoch, Duration::from_secs(15)).await;
    let failover = frozen_at.elapsed();
    load.await_acked(load.acked() + 50, &cluster).await;
    let gap = Some(load.gap_around(frozen_at));

    // Thawed, the old master still believes it is master until told otherwise, but its lease
    // is gone: every direct send is refused.
    cluster.broker(GROUP).resume();
    let remoting = RemotingClient::new(ClientConfig::default());
    let old_addr = cluster.broker(GROUP).addr();
    let mut refused = 0;
    let until = Instant::now() + Duration::from_secs(2);
    let mut n = 0;
    while Instant::now() < until {
        let code = send_to(&remoting, &old_addr, n).await;
        n += 1;
        assert_ne!(code, ResponseCode::Success, "the thawed old master accepted a write");
        refused += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let epoch = status(&admin_addr(&cluster, &new_master)).await.expect("new master").epoch;
    let rejoined = await_slave(&cluster, GROUP, epoch).await;
    let (acked, _) = load.stop().await;
    println!("SIGSTOP master: {refused} direct sends to the thawed old master, all refused");
    check_nothing_lost("SIGSTOP master", &cluster, &new_master, &acked, Some(failover), gap).await;
    assert!(rejoined.broker_id > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switchover_under_load_loses_and_fails_nothing() {
    let cluster = start("failover_switchover", 1).await;
    let controller = format!("http://{}", cluster.controller_addrs()[0]);
    let mut api = FailoverControllerClient::connect(controller).await.expect("controller");
    // Bad requests first: each gets a clear status and changes nothing.
    let bad = |group: &str, broker_id| SwitchoverRequest { group: group.into(), broker_id };
    assert_eq!(api.switchover(bad("nope", -1)).await.expect_err("unknown group").code(), Code::NotFound);
    assert_eq!(api.switchover(bad(GROUP, 0)).await.expect_err("BrokerId 0").code(), Code::InvalidArgument);
    assert_eq!(api.switchover(bad(GROUP, 7)).await.expect_err("no BrokerId 7").code(), Code::NotFound);

    let load = Load::start(&cluster).await;
    load.await_acked(200, &cluster).await;
    let started = Instant::now();
    let reply = api.switchover(bad(GROUP, 2)).await.expect("switchover").into_inner();
    let took = started.elapsed();
    assert_eq!(reply.master, admin_addr(&cluster, "s2"));
    load.await_acked(load.acked() + 100, &cluster).await;
    let (acked, failed) = load.stop().await;
    check_nothing_lost("switchover", &cluster, "s2", &acked, Some(took), None).await;
    // The fenced master answers SERVICE_NOT_AVAILABLE until the client's route shows the new
    // master: retriable, and retried; nothing else may fail.
    let other: Vec<&String> = failed.iter().filter(|f| !f.contains("ServiceNotAvailable")).collect();
    assert!(other.is_empty(), "sends failed with a non-retriable error during a switchover: {other:?}");
    println!("switchover: {} sends answered SERVICE_NOT_AVAILABLE and were tried again", failed.len());
    let old = await_slave(&cluster, GROUP, reply.epoch).await;
    assert_eq!(old.broker_id, 2, "the old master takes the promoted slave's BrokerId");
    let groups = api.groups(GroupsRequest {}).await.expect("groups").into_inner();
    assert!(groups.leader);
    assert_eq!(groups.groups[0].master, admin_addr(&cluster, "s2"), "{groups:?}");
    assert!(groups.groups[0].failovers >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_controller_replica_leads_when_the_leader_dies() {
    let cluster = start("failover_election", 2).await;
    let addrs = cluster.controller_addrs();
    let leader_of = |addr: String| async move {
        let mut api = FailoverControllerClient::connect(format!("http://{addr}")).await.ok()?;
        Some(api.groups(GroupsRequest {}).await.ok()?.into_inner().leader)
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(leader_of(addrs[0].clone()).await, Some(true));
    assert_eq!(leader_of(addrs[1].clone()).await, Some(false));
    cluster.kill_controller(0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while leader_of(addrs[1].clone()).await != Some(true) {
        assert!(Instant::now() < deadline, "replica 1 never took the lead");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

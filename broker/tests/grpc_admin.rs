//! The gRPC admin API of real broker processes: `Status` reports each member's role, BrokerId,
//! offsets and, on the master, every slave's acknowledged offset and lag; on the slave whether it
//! receives from its master. `Promote` turns a caught-up slave into the master after its master
//! dies, and refuses a master, a stale epoch and a lagging slave without `force`. `Follow` makes
//! a former master restart in place, drop the tail only it had, and rejoin as a slave. `Fence`
//! stops a master's writes at once and refuses an epoch that is not new; `ConfirmEpoch` confirms
//! only the epoch the broker knows; promoting a fenced master gives its writes back.

mod common;

use std::time::{Duration, Instant};

use common::{client, send_request};
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{ConfirmEpochRequest, FenceRequest, FollowRequest, PromoteRequest, StatusReply, StatusRequest};
use rmq_remoting::protocol::body::{from_fastjson, ClusterInfo};
use rmq_remoting::protocol::send::SendMessageResponse;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::{Cluster, ClusterBuilder, Impl};
use tonic::Code;

/// A free loopback port for a broker's gRPC admin API.
fn grpc_port() -> u16 {
    rmq_testkit::ports::single_port().expect("a free loopback port")
}

/// A master `m` and its slave `s1` with gRPC admin ports (returned: master's, slave's), after
/// `configure` adds what the test needs.
async fn group(
    name: &'static str,
    configure: impl FnOnce(ClusterBuilder) -> ClusterBuilder + Send + 'static,
) -> (Cluster, u16, u16) {
    let (m_port, s_port) = (grpc_port(), grpc_port());
    let cluster = tokio::task::spawn_blocking(move || {
        let builder = Cluster::builder(name, Impl::Rmq)
            .broker("m")
            .slave("s1", "m", 1)
            .broker_property_on("m", "grpcAdminPort", m_port.to_string())
            .broker_property_on("s1", "grpcAdminPort", s_port.to_string());
        configure(builder).start()
    })
    .await
    .expect("join")
    .expect("cluster");
    (cluster, m_port, s_port)
}

/// Waits until the slave's CommitLog ends where the master's does.
async fn await_caught_up(m_port: u16, s_port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(s_port).await.max_offset != status(m_port).await.max_offset {
        assert!(Instant::now() < deadline, "slave never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status(port: u16) -> StatusReply {
    let mut admin = ReplicationAdminClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connects");
    admin.status(StatusRequest {}).await.expect("status").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_roles_offsets_and_slave_lag() {
    let (master_metrics, slave_metrics) = (grpc_port(), grpc_port());
    let (cluster, master_port, slave_port) = group("grpc_admin_status", move |b| {
        b.broker_property_on("m", "metricsPromExporterPort", master_metrics.to_string()).broker_property_on(
            "s1",
            "metricsPromExporterPort",
            slave_metrics.to_string(),
        )
    })
    .await;
    let remoting = client();
    for i in 0..50 {
        let req = send_request("GrpcStatus", i % 4, format!("m-{i}").as_bytes(), &[]);
        let resp = remoting.invoke(&cluster.broker("m").addr(), req, Duration::from_secs(5)).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let (master, slave) = loop {
        let (master, slave) = (status(master_port).await, status(slave_port).await);
        let caught_up = master.slaves.first().is_some_and(|s| s.lag_bytes == 0);
        if caught_up && slave.max_offset == master.max_offset {
            break (master, slave);
        }
        assert!(Instant::now() < deadline, "slave never caught up: {master:?} {slave:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((master.role.as_str(), master.broker_id, master.broker_name.as_str()), ("ASYNC_MASTER", 0, "m"));
    assert_eq!((slave.role.as_str(), slave.broker_id, slave.broker_name.as_str()), ("SLAVE", 1, "m"));
    assert!(master.max_offset > 0);
    assert_eq!(master.slaves.len(), 1);
    assert_eq!(master.slaves[0].acked_offset, master.max_offset);
    assert!(master.slaves[0].in_sync);
    assert_eq!(master.in_sync_replicas, 2);
    assert!(slave.receiving, "the slave receives from its master");

    // The same view as Prometheus gauges.
    let gauge = |port: u16, metric: &str| {
        let scraped = common::metrics::scrape(port);
        let sample = scraped.samples.iter().find(|s| s.metric == metric).unwrap_or_else(|| panic!("no {metric}"));
        match sample.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{metric}: {other:?}"),
        }
    };
    assert_eq!(gauge(master_metrics, "rocketmq_replication_in_sync_replicas"), 2.0);
    assert_eq!(gauge(master_metrics, "rocketmq_replication_lag_bytes"), 0.0);
    assert!(gauge(master_metrics, "rocketmq_storage_flush_behind_bytes") >= 0.0);
    assert_eq!(gauge(slave_metrics, "rocketmq_replication_receiving"), 1.0);
    assert_eq!(gauge(slave_metrics, "rocketmq_broker_ready"), 1.0, "a receiving slave is ready");
    drop(cluster);
}

async fn masters(ns: &str) -> std::collections::BTreeMap<i64, String> {
    let req = RemotingCommand::request(RequestCode::GetBrokerClusterInfo);
    let resp = client().invoke(ns, req, Duration::from_secs(5)).await.expect("cluster info");
    let info: ClusterInfo = from_fastjson(&resp.body).expect("cluster info body");
    info.broker_addr_table.get("m").map(|b| b.broker_addrs.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_makes_a_caught_up_slave_the_master_and_refuses_bad_requests() {
    let (mut cluster, master_port, slave_port) =
        group("grpc_admin_promote", |b| b.broker_property("autoCreateTopicEnable", "true")).await;
    let (ns, slave_addr) = (cluster.namesrv_addr(), cluster.broker("s1").addr());
    let remoting = client();
    for i in 0..20 {
        let req = send_request("Promoted", 0, format!("m-{i}").as_bytes(), &[]);
        let resp = remoting.invoke(&cluster.broker("m").addr(), req, Duration::from_secs(5)).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success);
    }
    await_caught_up(master_port, slave_port).await;
    let mut on_master = ReplicationAdminClient::connect(format!("http://127.0.0.1:{master_port}")).await.expect("c");
    let refused = on_master.promote(PromoteRequest { epoch: 1, min_offset: 0, force: false }).await;
    assert_eq!(refused.expect_err("a master").code(), Code::FailedPrecondition);

    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("m").kill();
        cluster
    })
    .await
    .expect("join");
    let mut on_slave = ReplicationAdminClient::connect(format!("http://127.0.0.1:{slave_port}")).await.expect("c");
    let have = status(slave_port).await.max_offset;
    let stale = on_slave.promote(PromoteRequest { epoch: 0, min_offset: 0, force: false }).await;
    assert_eq!(stale.expect_err("stale epoch").code(), Code::FailedPrecondition);
    let lagging = on_slave.promote(PromoteRequest { epoch: 1, min_offset: have + 1, force: false }).await;
    let lagging = lagging.expect_err("lagging without force");
    assert_eq!(lagging.code(), Code::FailedPrecondition);
    assert!(lagging.message().contains("force"), "{}", lagging.message());
    let promoted = on_slave.promote(PromoteRequest { epoch: 1, min_offset: have, force: false }).await;
    let promoted = promoted.expect("promoted").into_inner();
    assert_eq!((promoted.epoch, promoted.role.as_str()), (1, "ASYNC_MASTER"));
    let now = status(slave_port).await;
    assert_eq!((now.broker_id, now.epoch), (0, 1));

    let req = send_request("Promoted", 0, b"after-failover", &[]);
    let resp = remoting.invoke(&slave_addr, req, Duration::from_secs(5)).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "the new master takes writes: {:?}", resp.remark);
    let header: SendMessageResponse = resp.header().expect("send header");
    assert_eq!(header.queue_offset, 20, "queue offsets continue where the old master stopped");
    let deadline = Instant::now() + Duration::from_secs(10);
    while masters(&ns).await.get(&0) != Some(&slave_addr) {
        assert!(Instant::now() < deadline, "NameServer still routes to the old master: {:?}", masters(&ns).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Restarted with its unchanged slave broker.conf (a Kubernetes pod), it is still the master.
    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("s1").restart().expect("restart the promoted slave");
        cluster
    })
    .await
    .expect("join");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ReplicationAdminClient::connect(format!("http://127.0.0.1:{slave_port}")).await.is_err() {
        assert!(Instant::now() < deadline, "the restarted broker's admin API never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = status(slave_port).await;
    assert_eq!((again.broker_id, again.epoch, again.role.as_str()), (0, 1, "ASYNC_MASTER"));
    drop(cluster);
}

async fn queue_bodies(addr: &str, topic: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let req = common::pull_request(topic, 0, bodies.len() as i64, 32);
        let resp = client().invoke(addr, req, Duration::from_secs(5)).await.expect("pull");
        if resp.response_code() != ResponseCode::Success {
            return bodies;
        }
        let records = rmq_remoting::message::StoredMessage::decode_all(&resp.body).expect("records");
        bodies.extend(records.iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_former_master_told_to_follow_drops_its_divergent_tail_and_rejoins_as_a_slave() {
    let (mut cluster, m_port, s_port) =
        group("grpc_admin_rejoin", |b| b.broker_property("slaveReadEnable", "true")).await;
    let (m_addr, s_addr) = (cluster.broker("m").addr(), cluster.broker("s1").addr());
    let s_ha = format!("127.0.0.1:{}", cluster.broker("s1").ha_port());
    let send = |addr: String, body: String| async move {
        let resp =
            client().invoke(&addr, send_request("Rejoin", 0, body.as_bytes(), &[]), Duration::from_secs(5)).await;
        assert_eq!(resp.expect("send").response_code(), ResponseCode::Success, "{body}");
    };
    for i in 0..20 {
        send(m_addr.clone(), format!("shared-{i}")).await;
    }
    await_caught_up(m_port, s_port).await;
    // The slave dies; the master takes writes only it will have, then freezes.
    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("s1").kill();
        cluster
    })
    .await
    .expect("join");
    for i in 0..5 {
        send(m_addr.clone(), format!("divergent-{i}")).await;
    }
    cluster.broker("m").pause();
    cluster = tokio::task::spawn_blocking(move || {
        cluster.broker_mut("s1").start().expect("slave restarts");
        cluster
    })
    .await
    .expect("join");
    let mut on_s = ReplicationAdminClient::connect(format!("http://127.0.0.1:{s_port}")).await.expect("c");
    let have = status(s_port).await.max_offset;
    let promoted = on_s.promote(PromoteRequest { epoch: 1, min_offset: have, force: false }).await.expect("promote");
    let start = promoted.into_inner().max_offset;
    for i in 0..3 {
        send(s_addr.clone(), format!("new-master-{i}")).await;
    }
    cluster.broker("m").resume();

    let mut on_m = ReplicationAdminClient::connect(format!("http://127.0.0.1:{m_port}")).await.expect("c");
    let bad = FollowRequest {
        epoch: 1,
        broker_id: 0,
        master_addr: s_addr.clone(),
        master_ha_addr: s_ha.clone(),
        master_start_offset: start,
    };
    assert_eq!(on_m.follow(bad).await.expect_err("broker id 0").code(), Code::InvalidArgument);
    let follow = FollowRequest {
        epoch: 1,
        broker_id: 1,
        master_addr: s_addr.clone(),
        master_ha_addr: s_ha,
        master_start_offset: start,
    };
    assert!(on_m.follow(follow).await.expect("follow").into_inner().restarting, "a former master restarts to cut");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = match ReplicationAdminClient::connect(format!("http://127.0.0.1:{m_port}")).await {
            Ok(mut c) => c.status(StatusRequest {}).await.ok().map(|r| r.into_inner()),
            Err(_) => None,
        };
        let new_master = status(s_port).await;
        if let Some(now) = now.as_ref().filter(|n| n.role == "SLAVE" && n.max_offset == new_master.max_offset) {
            assert_eq!((now.broker_id, now.epoch), (1, 1));
            break;
        }
        assert!(Instant::now() < deadline, "the former master did not rejoin: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut expected: Vec<String> = (0..20).map(|i| format!("shared-{i}")).collect();
    expected.extend((0..3).map(|i| format!("new-master-{i}")));
    assert_eq!(queue_bodies(&s_addr, "Rejoin").await, expected, "the new master's queue");
    assert_eq!(queue_bodies(&m_addr, "Rejoin").await, expected, "the former master holds exactly the same");
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fence_stops_a_masters_writes_refuses_stale_epochs_and_promote_gives_them_back() {
    let (cluster, master_port, slave_port) =
        group("grpc_admin_fence", |b| b.broker_property("autoCreateTopicEnable", "true")).await;
    let (remoting, master) = (std::sync::Arc::new(client()), cluster.broker("m").addr());
    let send = |body: &'static str| {
        let (remoting, master) = (std::sync::Arc::clone(&remoting), master.clone());
        async move {
            let req = send_request("Fenced", 0, body.as_bytes(), &[]);
            remoting.invoke(&master, req, Duration::from_secs(5)).await.expect("send").response_code()
        }
    };
    assert_eq!(send("before").await, ResponseCode::Success);
    let mut on_master = ReplicationAdminClient::connect(format!("http://127.0.0.1:{master_port}")).await.expect("c");
    let mut on_slave = ReplicationAdminClient::connect(format!("http://127.0.0.1:{slave_port}")).await.expect("c");

    // Epoch confirmations: only for the epoch the peer knows.
    let same = on_slave.confirm_epoch(ConfirmEpochRequest { epoch: 0 }).await.expect("confirm").into_inner();
    assert!(same.ok);
    let other = on_slave.confirm_epoch(ConfirmEpochRequest { epoch: 5 }).await.expect("confirm").into_inner();
    assert_eq!((other.ok, other.epoch), (false, 0));

    let stale = on_master.fence(FenceRequest { epoch: 0 }).await.expect_err("epoch 0 is not new");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert!(stale.message().contains("stale"), "{}", stale.message());
    let fenced = on_master.fence(FenceRequest { epoch: 1 }).await.expect("fence").into_inner();
    let now = status(master_port).await;
    assert_eq!((fenced.epoch, fenced.max_offset), (1, now.max_offset), "the fence reports the final CommitLog end");
    assert!(now.fenced && !now.writable, "{now:?}");
    assert_eq!(send("while fenced").await, ResponseCode::ServiceNotAvailable);
    assert_eq!(status(master_port).await.max_offset, now.max_offset, "a fenced master stores nothing");
    let again = on_master.fence(FenceRequest { epoch: 1 }).await.expect_err("the same epoch twice");
    assert_eq!(again.code(), Code::FailedPrecondition);

    // A switchover that does not happen: promoting the fenced master at its epoch gives writes back.
    on_master.promote(PromoteRequest { epoch: 1, min_offset: 0, force: false }).await.expect("re-promoted");
    let now = status(master_port).await;
    assert!(!now.fenced && now.writable && now.epoch == 1, "{now:?}");
    assert_eq!(send("after").await, ResponseCode::Success);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_slave_stops_replicating_from_its_old_master() {
    let (cluster, master_port, slave_port) =
        group("grpc_admin_fenced_slave", |b| b.broker_property("autoCreateTopicEnable", "true")).await;
    let (remoting, master) = (client(), cluster.broker("m").addr());
    for i in 0..5 {
        let req = send_request("FencedSlave", 0, format!("before-{i}").as_bytes(), &[]);
        let resp = remoting.invoke(&master, req, Duration::from_secs(5)).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success);
    }
    await_caught_up(master_port, slave_port).await;
    let mut on_slave = ReplicationAdminClient::connect(format!("http://127.0.0.1:{slave_port}")).await.expect("c");
    let fenced = on_slave.fence(FenceRequest { epoch: 1 }).await.expect("fence").into_inner();
    // Whatever the old master writes from now on may be cut by the coming promotion: the
    // slave must neither store nor acknowledge it.
    for i in 0..5 {
        let req = send_request("FencedSlave", 0, format!("after-{i}").as_bytes(), &[]);
        let resp = remoting.invoke(&master, req, Duration::from_secs(5)).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success, "the (unfenced) master still writes");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (slave, master_now) = (status(slave_port).await, status(master_port).await);
    assert_eq!(slave.max_offset, fenced.max_offset, "the fenced slave kept replicating");
    assert!(master_now.max_offset > slave.max_offset);
    assert!(master_now.slaves.iter().all(|s| s.acked_offset <= fenced.max_offset), "{master_now:?}");
    drop(cluster);
}

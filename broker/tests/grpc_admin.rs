//! The gRPC admin API of real broker processes: `Status` reports each member's role, BrokerId,
//! offsets and, on the master, every slave's acknowledged offset and lag; on the slave whether it
//! receives from its master.

mod common;

use std::time::{Duration, Instant};

use common::{client, send_request};
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{StatusReply, StatusRequest};
use rmq_remoting::ResponseCode;
use rmq_testkit::{Cluster, Impl};

/// A free loopback port for a broker's gRPC admin API.
fn grpc_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn status(port: u16) -> StatusReply {
    let mut admin = ReplicationAdminClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connects");
    admin.status(StatusRequest {}).await.expect("status").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_roles_offsets_and_slave_lag() {
    let (master_port, slave_port) = (grpc_port(), grpc_port());
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("grpc_admin_status", Impl::Rmq)
            .broker("m")
            .slave("s1", "m", 1)
            .broker_property_on("m", "grpcAdminPort", master_port.to_string())
            .broker_property_on("s1", "grpcAdminPort", slave_port.to_string())
            .start()
    })
    .await
    .expect("join")
    .expect("cluster");
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
    drop(cluster);
}

//! Shared by the testkit's integration tests: an independent look at the NameServers' cluster info
//! (`GET_BROKER_CLUSTER_INFO`) through the remoting client, to check what the testkit claims.

use std::time::{Duration, Instant};

use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_testkit::Cluster;

/// The cluster-info body of every NameServer of `cluster`, in order.
pub async fn cluster_infos(cluster: &Cluster) -> Vec<String> {
    let client = RemotingClient::new(ClientConfig::default());
    let mut bodies = Vec::new();
    for addr in cluster.namesrv_addr().split(';') {
        let request = RemotingCommand::request(RequestCode::GetBrokerClusterInfo);
        let response = client
            .invoke(addr, request, Duration::from_secs(3))
            .await
            .unwrap_or_else(|e| panic!("GET_BROKER_CLUSTER_INFO from {addr}: {e}"));
        assert_eq!(response.code, 0, "GET_BROKER_CLUSTER_INFO from {addr}: {:?}", response.remark);
        bodies.push(String::from_utf8_lossy(&response.body).into_owned());
    }
    bodies
}

/// How many NameServers list `broker` with its address, cluster and name.
pub async fn listing_count(cluster: &Cluster, broker: &str) -> usize {
    let b = cluster.broker(broker);
    let (addr, name, cluster_name) = (format!("\"{}\"", b.addr()), format!("\"{}\"", b.name()), cluster.cluster_name());
    cluster_infos(cluster)
        .await
        .iter()
        .filter(|body| body.contains(&addr) && body.contains(&name) && body.contains(cluster_name))
        .count()
}

/// Polls `listing_count` every 100 ms until it equals `expected` or 10 s pass; returns the last count.
pub async fn await_listing_count(cluster: &Cluster, broker: &str, expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = listing_count(cluster, broker).await;
        if n == expected || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! `masterServiceAddress`: a group's master registers the address of a Service that routes to
//! whichever member is the master (here a TCP proxy standing in for the Kubernetes Service), its
//! slave registers its own, and clients reach the master through that address: topics are
//! created and messages sent and consumed over it, and the slave syncs from the master through it.
//! With a failover controller watching, the master reports that address as its own and the slave
//! follows it, so the controller finds nothing to re-point.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{send_and_consume, unique, wait_until};
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use rmq_testkit::{Cluster, Impl};
use tokio::net::{TcpListener, TcpStream};

/// Forwards every connection to `target`; counts them.
fn proxy(listener: TcpListener, target: String, accepted: Arc<AtomicUsize>) {
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::Relaxed);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_master_registers_its_service_address_and_clients_use_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let service = listener.local_addr().expect("addr").to_string();
    let service_key = service.clone();
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("master_service", Impl::Rmq)
            .broker("m")
            .slave("s1", "m", 1)
            .broker_property("masterServiceAddress", service_key)
            .failover_controllers(1, 4_000)
            .start()
            .expect("cluster starts")
    })
    .await
    .expect("join");
    let accepted = Arc::new(AtomicUsize::new(0));
    proxy(listener, cluster.broker("m").addr(), Arc::clone(&accepted));
    let ns = cluster.namesrv_addr();
    let admin = Admin::builder().name_server(&ns).build().await.expect("admin");

    let info = admin.cluster_info().await.expect("cluster info");
    let addrs = &info.broker_addr_table["m"].broker_addrs;
    assert_eq!(addrs.get(&0), Some(&service), "the master registers the Service's address: {addrs:?}");
    assert_eq!(addrs.get(&1), Some(&cluster.broker("s1").addr()), "the slave registers its own: {addrs:?}");

    let topic = unique("ViaService");
    let target = TopicTarget::Cluster(cluster.cluster_name().to_owned());
    admin.create_topic(&TopicSpec::new(&topic), &target).await.expect("topic created through the Service");
    send_and_consume(&ns, &topic, 10, "via-service", |p| p, |c| c).await;
    assert!(accepted.load(Ordering::Relaxed) > 0, "clients connected through the Service");

    // What the controller compares: the slave follows the address the master reports.
    let status = |addr: String| async move {
        let channel = rmq_admin_api::connect::channel(&addr, None, Duration::from_secs(3)).expect("channel");
        let mut client = rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient::new(channel);
        client.status(rmq_admin_api::v1::StatusRequest {}).await.expect("status").into_inner()
    };
    let master = status(cluster.broker("m").admin_addr().expect("admin port")).await;
    let follower = status(cluster.broker("s1").admin_addr().expect("admin port")).await;
    assert_eq!(master.addr, service, "the master reports the address it registers");
    assert_eq!(follower.master_addr, service, "the slave follows that address: nothing to re-point");

    // The slave's metadata sync (every 10 s) reaches the master through the Service too.
    let slave = cluster.broker("s1").addr();
    wait_until(Duration::from_secs(30), "the slave to sync the topic", || async {
        admin.broker_topic_config(&slave, &topic).await.ok().flatten().is_some()
    })
    .await;
}

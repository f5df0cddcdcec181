//! `brokerAdvertisedHost`: a broker reached through another address (a Kubernetes load balancer
//! with a DNS name) registers that name, and clients resolve it: here `localhost`, registered as
//! `localhost:<port>`, through which topics are created and messages sent and consumed. Message
//! ids cannot carry a name, so they keep `brokerIP1`.

mod common;

use common::{send_and_consume, unique};
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use rmq_testkit::{Cluster, Impl};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_registers_its_advertised_name_and_clients_resolve_it() {
    let cluster = tokio::task::spawn_blocking(|| {
        Cluster::builder("advertised_host", Impl::Rmq)
            .broker("b")
            .broker_property("brokerAdvertisedHost", "localhost")
            .start()
            .expect("cluster starts")
    })
    .await
    .expect("join");
    let ns = cluster.namesrv_addr();
    let advertised = format!("localhost:{}", cluster.broker("b").port());
    let admin = Admin::builder().name_server(&ns).build().await.expect("admin");
    let info = admin.cluster_info().await.expect("cluster info");
    assert_eq!(info.broker_addr_table["b"].broker_addrs.get(&0), Some(&advertised), "the name is registered");

    let topic = unique("ByName");
    let target = TopicTarget::Cluster(cluster.cluster_name().to_owned());
    admin.create_topic(&TopicSpec::new(&topic), &target).await.expect("topic created at the advertised name");
    let received = send_and_consume(&ns, &topic, 5, "by-name", |p| p, |c| c).await;
    let store_host = received[0].store_host.to_string();
    assert_eq!(store_host, cluster.broker("b").addr(), "message ids keep brokerIP1 and the port");
}

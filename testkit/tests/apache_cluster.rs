//! The real Apache RocketMQ 5.3.3 servers under the testkit (for every `Apache` in `impls()`): two
//! NameServers and a broker, registered with both; a graceful stop unregisters it; started again it is
//! registered again. Plain `#[test]`: the testkit's API is synchronous.

mod common;

use std::time::Instant;

use common::{await_listing_count, listing_count};
use rmq_testkit::{impls, Cluster, Impl};

#[test]
fn starts_apache_cluster_when_requested() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let apache: Vec<Impl> = impls().into_iter().filter(|i| *i == Impl::Apache).collect();
    if apache.is_empty() {
        eprintln!("skipped: RMQ_TEST_IMPLS excludes apache");
    }
    for imp in apache {
        let t = Instant::now();
        let mut cluster = Cluster::builder("starts_apache_cluster_when_requested", imp)
            .name_servers(2)
            .broker("broker-a")
            .start()
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "apache cluster (2 NameServers + 1 broker) ready in {:?} at {}",
            t.elapsed(),
            cluster.dir().display()
        );
        assert_eq!(rt.block_on(listing_count(&cluster, "broker-a")), 2, "{}", cluster.diagnostics());
        let broker = cluster.broker("broker-a");
        assert!(broker.store_dir().join("commitlog").is_dir(), "Apache broker did not use the configured store");
        let log = std::fs::read_to_string(broker.log_file()).expect("process.log");
        assert!(log.contains("org.apache.rocketmq.broker.BrokerStartup"), "not the Apache broker:\n{log}");

        let t = Instant::now();
        let graceful = cluster.broker_mut("broker-a").stop_gracefully();
        eprintln!("apache broker graceful stop took {:?} (graceful={graceful})", t.elapsed());
        assert!(graceful, "{}", cluster.diagnostics());
        assert_eq!(rt.block_on(await_listing_count(&cluster, "broker-a", 0)), 0, "still listed after SIGTERM");

        let t = Instant::now();
        cluster.broker_mut("broker-a").start().unwrap_or_else(|e| panic!("{e}"));
        eprintln!("apache broker start after stop took {:?}", t.elapsed());
        assert_eq!(rt.block_on(listing_count(&cluster, "broker-a")), 2, "{}", cluster.diagnostics());
    }
}

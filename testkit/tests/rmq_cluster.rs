//! Our binaries under the testkit: two NameServers and a broker, graceful stop (unregisters), start,
//! restart and crash, checked against the NameServers' cluster info. Runs from inside a tokio runtime on
//! purpose: the testkit's synchronous API must work there.

mod common;

use std::net::TcpStream;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use common::{await_listing_count, listing_count};
use rmq_testkit::{impls, Cluster, Impl, TestkitError};

#[tokio::test]
async fn starts_rmq_cluster_with_two_nameservers_and_restarts_broker() {
    if !impls().contains(&Impl::Rmq) {
        eprintln!("skipped: RMQ_TEST_IMPLS excludes rmq");
        return;
    }
    let t = Instant::now();
    let mut cluster = Cluster::builder("starts_rmq_cluster_with_two_nameservers_and_restarts_broker", Impl::Rmq)
        .name_servers(2)
        .broker("broker-a")
        .cluster_name("TestkitCluster")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("rmq cluster (2 NameServers + 1 broker) ready in {:?} at {}", t.elapsed(), cluster.dir().display());
    assert_eq!(cluster.namesrv_addr().split(';').count(), 2);
    assert!(cluster.namesrv_addr().split(';').all(|a| a.starts_with("127.0.0.1:")), "{}", cluster.namesrv_addr());
    assert_eq!(cluster.brokers().count(), 1);
    assert_eq!(listing_count(&cluster, "broker-a").await, 2, "{}", cluster.diagnostics());
    assert!(cluster.broker("broker-a").store_dir().join("commitlog").is_dir(), "store not created");
    let conf = std::fs::read_to_string(cluster.dir().join("broker-a").join("broker.conf")).expect("broker.conf");
    assert!(conf.contains(&format!("namesrvAddr={}\n", cluster.namesrv_addr())), "{conf}");

    // A graceful stop unregisters the broker from both NameServers.
    let t = Instant::now();
    assert!(cluster.broker_mut("broker-a").stop_gracefully(), "{}", cluster.diagnostics());
    eprintln!("graceful stop took {:?}", t.elapsed());
    assert!(!cluster.broker("broker-a").is_alive());
    assert_eq!(await_listing_count(&cluster, "broker-a", 0).await, 0, "still listed after SIGTERM");

    // Started again on the same port and store: registered with both again.
    let t = Instant::now();
    cluster.broker_mut("broker-a").start().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("start after stop took {:?}", t.elapsed());
    assert!(cluster.broker("broker-a").is_alive());
    assert_eq!(listing_count(&cluster, "broker-a").await, 2, "{}", cluster.diagnostics());

    let t = Instant::now();
    assert!(cluster.broker_mut("broker-a").restart().unwrap_or_else(|e| panic!("{e}")), "restart was not graceful");
    eprintln!("restart took {:?}", t.elapsed());
    assert_eq!(listing_count(&cluster, "broker-a").await, 2, "{}", cluster.diagnostics());

    // A crash closes the port at once; the broker recovers its store and registers again.
    cluster.broker_mut("broker-a").kill();
    assert!(!cluster.broker("broker-a").is_alive());
    assert!(TcpStream::connect(cluster.broker("broker-a").addr()).is_err(), "port still open after SIGKILL");
    cluster.broker_mut("broker-a").start().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listing_count(&cluster, "broker-a").await, 2, "{}", cluster.diagnostics());

    let log = std::fs::read_to_string(cluster.broker("broker-a").log_file()).expect("process.log");
    assert_eq!(log.matches("===== start #").count(), 4, "{log}");
    assert!(cluster.diagnostics().contains("----- broker-a (alive=true)"), "{}", cluster.diagnostics());

    let unknown = std::panic::catch_unwind(AssertUnwindSafe(|| cluster.broker("broker-x").addr()));
    let message = unknown.expect_err("unknown broker name accepted");
    assert_eq!(
        message.downcast_ref::<String>().map(String::as_str),
        Some("no broker named \"broker-x\" in this cluster (brokers: broker-a)")
    );
}

#[test]
fn broker_that_exits_at_startup_fails_with_its_log() {
    if !impls().contains(&Impl::Rmq) {
        eprintln!("skipped: RMQ_TEST_IMPLS excludes rmq");
        return;
    }
    let err = Cluster::builder("broker_that_exits_at_startup_fails_with_its_log", Impl::Rmq)
        .broker_property("maxMessageSize", "lots")
        .start()
        .expect_err("a broker with a malformed property started");
    let TestkitError::NotReady { message, diagnostics } = &err else { panic!("unexpected error: {err}") };
    assert!(message.contains("broker-a exited") && message.contains("before it was ready"), "{message}");
    assert!(diagnostics.contains("----- namesrv-0 (alive=true)"), "{diagnostics}");
    assert!(diagnostics.contains("----- broker-a (alive=false)"), "{diagnostics}");
    assert!(diagnostics.contains("maxMessageSize"), "the broker's complaint is missing:\n{diagnostics}");
}

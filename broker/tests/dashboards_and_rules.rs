//! The Grafana dashboards (`deploy/grafana/*.json`) and alert rules
//! (`deploy/prometheus/rules.yml`) refer only to metrics the real broker and NameServer binaries
//! serve (the operator's `rocketmq_operator_*` series are checked against a live operator by
//! `operator/tests/cluster.rs`): every PromQL expression is parsed with `promql-parser` (through
//! `rmq_testkit::observability`), its metric names are collected
//! and looked up in live scrapes taken after traffic. Every rule links an existing runbook entry.
//!
//! Needs the NameServer binary next to this test's (`cargo build -p rmq-namesrv`), or in
//! `RMQ_BIN_DIR`, as the testkit does. `promtool check rules` runs in `tests/check-rules.sh`
//! (a step of `tests/run-all.sh`), which builds promtool from the Go module proxy.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::{every_kind_of_traffic, http_get, scrape};
use common::*;
use rmq_testkit::observability::{all_exprs, metric_names, rules, unserved, Rule};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_rule_links_an_existing_runbook_entry() {
    let runbook = std::fs::read_to_string(workspace().join("docs/runbook.md")).expect("docs/runbook.md");
    let anchors: BTreeSet<String> = runbook.lines().filter_map(|l| l.strip_prefix("## ")).map(anchor).collect();
    let file = rules(&workspace());
    let alerts: Vec<&Rule> = file.groups.iter().flat_map(|g| &g.rules).collect();
    for wanted in ["RocketMQBrokerDown", "RocketMQNameServerDown", "RocketMQDiskNearlyFull"] {
        assert!(alerts.iter().any(|r| r.alert == wanted), "no {wanted} rule");
    }
    for rule in alerts {
        let url = rule.annotations.get("runbook_url").unwrap_or_else(|| panic!("{} has no runbook_url", rule.alert));
        let target = url.strip_prefix("docs/runbook.md#").unwrap_or_else(|| panic!("{}: {url}", rule.alert));
        assert!(anchors.contains(target), "{}: no `{target}` heading in docs/runbook.md ({anchors:?})", rule.alert);
    }
}

fn namesrv_binary() -> PathBuf {
    let dir = std::env::var_os("RMQ_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // target/<profile>/deps/<this test> → target/<profile>
        let exe = std::env::current_exe().expect("test exe");
        exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
    });
    let bin = dir.join("rmq-namesrv");
    assert!(bin.exists(), "{} is missing: run `cargo build -p rmq-namesrv` first", bin.display());
    bin
}

/// The NameServer binary with its metrics endpoint on `metrics_port`; killed on drop.
struct NamesrvProcess(Child);

impl Drop for NamesrvProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_namesrv(dir: &Path, port: u16, metrics_port: u16) -> NamesrvProcess {
    let conf = dir.join("namesrv.conf");
    let kv = dir.join("kvConfig.json");
    let text = format!(
        "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\nmetricsPromExporterPort={metrics_port}\n",
        kv.display()
    );
    std::fs::write(&conf, text).expect("namesrv conf");
    let log = std::fs::File::create(dir.join("namesrv.log")).expect("log");
    let child = Command::new(namesrv_binary())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn rmq-namesrv");
    let process = NamesrvProcess(child);
    wait_for_port(port);
    process
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Metric names of a scrape: every sample's name and every documented family.
fn served(port: u16) -> BTreeSet<String> {
    let scrape = scrape(port);
    scrape.samples.iter().map(|s| s.metric.clone()).chain(scrape.docs.keys().cloned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_rule_metric_is_served_by_a_live_broker_or_name_server() {
    let exprs = all_exprs(&workspace());
    let dir = tempfile::tempdir().expect("tempdir");
    let (namesrv_port, namesrv_metrics) = (free_port(), free_port());
    let namesrv = start_namesrv(dir.path(), namesrv_port, namesrv_metrics);
    // A master and its slave, so the replication gauges of both roles are served.
    let (broker_metrics, slave_metrics, ha_port) = (free_port(), free_port(), free_port());
    let conf = format!(
        "brokerClusterName=DashC\nnamesrvAddr=127.0.0.1:{namesrv_port}\nmetricsPromExporterPort={broker_metrics}\n\
         haListenPort={ha_port}\n"
    );
    let (master_dir, slave_dir) = (dir.path().join("master"), dir.path().join("slave"));
    std::fs::create_dir_all(&master_dir).expect("master dir");
    std::fs::create_dir_all(&slave_dir).expect("slave dir");
    let broker = BrokerProcess::start(&master_dir, free_port(), &conf);
    let slave_conf = format!(
        "brokerClusterName=DashC\nnamesrvAddr=127.0.0.1:{namesrv_port}\nmetricsPromExporterPort={slave_metrics}\n\
         brokerRole=SLAVE\nbrokerId=1\nhaMasterAddress=127.0.0.1:{ha_port}\nhaSendHeartbeatInterval=200\n"
    );
    let slave = BrokerProcess::start(&slave_dir, free_port(), &slave_conf);
    for metrics in [broker_metrics, slave_metrics] {
        wait_for_port(metrics);
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_get(metrics, "/readyz").0 != 200 {
            assert!(Instant::now() < deadline, "a broker did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    every_kind_of_traffic(&client(), &broker.addr()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !served(broker_metrics).contains("rocketmq_replication_lag_bytes") {
        assert!(Instant::now() < deadline, "the master never listed its slave's lag");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut live = served(broker_metrics);
    live.extend(served(slave_metrics));
    live.extend(served(namesrv_metrics));
    live.insert("up".into()); // Prometheus' own series for every scrape target
    let mut referenced = BTreeSet::new();
    let mut wanted = Vec::new();
    for (origin, expr) in &exprs {
        for name in metric_names(origin, expr) {
            // The operator's own series are checked against a live operator in operator/tests.
            if !name.starts_with("rocketmq_operator_") {
                wanted.push((origin.as_str(), name.clone()));
            }
            referenced.insert(name);
        }
    }
    let missing = unserved(wanted, &live);
    assert!(missing.is_empty(), "referenced but not served: {missing:#?}\nserved: {live:?}");
    for expected in [
        "rocketmq_namesrv_brokers",
        "rocketmq_send_to_dlq_messages_total",
        "rocketmq_storage_disk_usage_ratio",
        "rocketmq_replication_epoch",
        "rocketmq_replication_receiving",
        "rocketmq_broker_writable",
    ] {
        assert!(referenced.contains(expected), "{expected} is not used by any dashboard or rule");
    }
    drop(slave);
    drop(broker);
    drop(namesrv);
}

//! `/metrics`, `/healthz` and `/readyz` of the real broker binary, scraped over HTTP and parsed
//! with `prometheus-parse`: exact traffic counts after known sends and pulls, every broker metric
//! of Apache 5.3.3 served with Apache's type and labels, and readiness following registration.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::metrics::{every_kind_of_traffic, http_get, scrape};
use common::*;
use prometheus_parse::{Sample, Scrape, Value};
use rmq_remoting::message::StoredMessage;
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::ResponseCode;

fn find<'a>(s: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    s.samples.iter().find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
}

/// A counter's, gauge's or untyped sample's value (0 when the series does not exist yet).
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match find(s, metric, labels).map(|x| &x.value) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        None => 0.0,
        Some(other) => panic!("{metric} is not a single value: {other:?}"),
    }
}

fn start(dir: &std::path::Path, extra: &str) -> (BrokerProcess, u16) {
    let metrics_port = free_port();
    let conf = format!("brokerClusterName=MC\nmetricsPromExporterPort={metrics_port}\n{extra}");
    let broker = BrokerProcess::start(dir, free_port(), &conf);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", metrics_port)).is_err() {
        assert!(Instant::now() < deadline, "the metrics port was not opened");
        std::thread::sleep(Duration::from_millis(50));
    }
    (broker, metrics_port)
}

/// Pulls queue 0 of `topic` as group `CG` from `offset` to the end: (messages, bytes).
async fn pull_to_end(client: &RemotingClient, addr: &str, topic: &str) -> (u64, u64) {
    let (mut offset, mut count, mut bytes) = (0i64, 0u64, 0u64);
    loop {
        let resp = client.invoke(addr, pull_request(topic, 0, offset, 32), TIMEOUT).await.expect("pull");
        if resp.response_code() != ResponseCode::Success {
            return (count, bytes);
        }
        let records = StoredMessage::decode_all(&resp.body).expect("records");
        count += records.len() as u64;
        bytes += resp.body.len() as u64;
        offset = records.last().map(|m| m.queue_offset + 1).expect("a record");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_counters_rise_by_exactly_what_was_sent_and_pulled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (broker, port) = start(dir.path(), "");
    let (client, addr) = (client(), broker.addr());
    let topic = [("topic", "MetricsT"), ("cluster", "MC"), ("node_type", "broker"), ("node_id", "broker-test")];
    let typed = [topic.as_slice(), &[("message_type", "normal"), ("is_system", "false")]].concat();
    let before = scrape(port);

    for i in 0..1000 {
        let body = format!("message number {i}");
        let resp =
            client.invoke(&addr, send_request("MetricsT", 0, body.as_bytes(), &[]), TIMEOUT).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    }
    let (pulled, pulled_bytes) = pull_to_end(&client, &addr, "MetricsT").await;
    assert_eq!(pulled, 1000);
    let after = scrape(port);

    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert_eq!(delta("rocketmq_messages_in_total", &typed), 1000.0);
    // Apache counts stored bytes (`wroteBytes`); a pull returns the stored records byte for byte.
    assert_eq!(delta("rocketmq_throughput_in_total", &typed), pulled_bytes as f64);
    assert_eq!(delta("rocketmq_message_size_count", &typed), 1000.0);
    assert_eq!(delta("rocketmq_message_size_sum", &typed), pulled_bytes as f64);
    let out = [topic.as_slice(), &[("consumer_group", "CG"), ("is_system", "false")]].concat();
    assert_eq!(delta("rocketmq_messages_out_total", &out), 1000.0);
    assert_eq!(delta("rocketmq_throughput_out_total", &out), pulled_bytes as f64);
    let sends = [("request_code", "send_message_v2"), ("response_code", "success"), ("protocol_type", "remoting")];
    assert_eq!(delta("rocketmq_rpc_latency_milliseconds_count", &sends), 1000.0);
    let Some(Value::Histogram(buckets)) = find(&after, "rocketmq_message_size", &typed).map(|s| &s.value) else {
        panic!("rocketmq_message_size is not a histogram");
    };
    let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
    assert_eq!(bounds, [1024.0, 4096.0, 524_288.0, 1_048_576.0, 2_097_152.0, 4_194_304.0, f64::INFINITY]);
    drop(broker);
}

/// Apache RocketMQ 5.3.3 (tag `rocketmq-all-5.3.3`), `broker/src/main/java/org/apache/rocketmq/
/// broker/metrics/BrokerMetricsConstant.java` and the attributes `BrokerMetricsManager` and the
/// processors record: every broker metric as a Prometheus server scrapes it from Apache's PROM
/// exporter (OpenTelemetry appends declared units), its type and its labels beyond the constant
/// `cluster`, `node_type`, `node_id` and `otel_scope_name`.
const APACHE_BROKER_METRICS: &[(&str, &str, &[&str])] = &[
    ("rocketmq_processor_watermark", "gauge", &["processor"]),
    ("rocketmq_broker_permission", "gauge", &[]),
    ("rocketmq_topic_number", "gauge", &[]),
    ("rocketmq_consumer_group_number", "gauge", &[]),
    ("rocketmq_messages_in_total", "counter", &["topic", "message_type", "is_system"]),
    ("rocketmq_messages_out_total", "counter", &["topic", "consumer_group", "is_system"]),
    ("rocketmq_throughput_in_total", "counter", &["topic", "message_type", "is_system"]),
    ("rocketmq_throughput_out_total", "counter", &["topic", "consumer_group", "is_system"]),
    ("rocketmq_message_size", "histogram", &["topic", "message_type", "is_system"]),
    ("rocketmq_topic_create_execution_time_milliseconds", "histogram", &["invocation_status", "is_system"]),
    ("rocketmq_consumer_group_create_execution_time_milliseconds", "histogram", &["invocation_status"]),
    ("rocketmq_producer_connections", "gauge", &["language", "version", "protocol_type"]),
    (
        "rocketmq_consumer_connections",
        "gauge",
        &["consumer_group", "language", "version", "consume_mode", "protocol_type", "is_system"],
    ),
    ("rocketmq_consumer_lag_messages", "gauge", &["topic", "consumer_group", "is_retry", "is_system"]),
    ("rocketmq_consumer_lag_latency_milliseconds", "gauge", &["topic", "consumer_group", "is_retry", "is_system"]),
    ("rocketmq_consumer_inflight_messages", "gauge", &["topic", "consumer_group", "is_retry", "is_system"]),
    ("rocketmq_consumer_queueing_latency_milliseconds", "gauge", &["topic", "consumer_group", "is_retry", "is_system"]),
    ("rocketmq_consumer_ready_messages", "gauge", &["topic", "consumer_group", "is_retry", "is_system"]),
    ("rocketmq_send_to_dlq_messages_total", "counter", &["consumer_group", "topic", "is_system"]),
    ("rocketmq_commit_messages_total", "counter", &["topic"]),
    ("rocketmq_rollback_messages_total", "counter", &["topic"]),
    ("rocketmq_finish_message_latency_milliseconds", "histogram", &["topic"]),
    ("rocketmq_half_messages", "gauge", &["topic"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_apache_broker_metric_is_served_with_apaches_type_and_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (broker, port) = start(dir.path(), "");
    let client = client();
    every_kind_of_traffic(&client, &broker.addr()).await;
    let (_, text) = http_get(port, "/metrics");
    let scraped = scrape(port);
    for (name, kind, labels) in APACHE_BROKER_METRICS {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} is not served as a {kind}:\n{text}");
        let sample = scraped.samples.iter().find(|s| s.metric == *name).unwrap_or_else(|| panic!("no {name} sample"));
        let mut expected: BTreeSet<&str> = ["cluster", "node_type", "node_id", "otel_scope_name"].into();
        expected.extend(labels.iter());
        let served: BTreeSet<&str> = sample.labels.keys().map(String::as_str).collect();
        assert_eq!(served, expected, "labels of {name}");
    }
    let lag = [("topic", "AllT"), ("consumer_group", "CG")];
    assert_eq!(value(&scraped, "rocketmq_consumer_lag_messages", &lag), 3.0, "4 sent, 1 committed");
    assert_eq!(value(&scraped, "rocketmq_consumer_inflight_messages", &lag), 0.0, "pulled 1, committed 1");
    assert_eq!(value(&scraped, "rocketmq_consumer_ready_messages", &lag), 3.0);
    assert_eq!(value(&scraped, "rocketmq_half_messages", &[("topic", "TxT")]), 1.0, "one left unresolved");
    assert_eq!(value(&scraped, "rocketmq_commit_messages_total", &[("topic", "TxT")]), 1.0);
    assert_eq!(value(&scraped, "rocketmq_rollback_messages_total", &[("topic", "TxT")]), 1.0);
    let dlq = [("consumer_group", "CG"), ("topic", "AllT")];
    assert_eq!(value(&scraped, "rocketmq_send_to_dlq_messages_total", &dlq), 1.0);
    let tx = [("topic", "TxT"), ("message_type", "transaction")];
    assert_eq!(value(&scraped, "rocketmq_messages_in_total", &tx), 3.0);
    let java = [("consumer_group", "CG"), ("consume_mode", "push"), ("version", "v5_3_3")];
    assert_eq!(value(&scraped, "rocketmq_consumer_connections", &java), 1.0);
    assert_eq!(value(&scraped, "rocketmq_broker_role", &[("broker_id", "0"), ("role", "ASYNC_MASTER")]), 1.0);
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_once_registered_with_a_name_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let namesrv_port = free_port();
    let (broker, port) =
        start(dir.path(), &format!("namesrvAddr=127.0.0.1:{namesrv_port}\nregisterNameServerPeriod=10000\n"));
    assert_eq!(http_get(port, "/healthz").0, 200);
    let (status, body) = http_get(port, "/readyz");
    assert_eq!(status, 503, "no NameServer is up yet: {body}");
    assert_eq!(value(&scrape(port), "rocketmq_broker_ready", &[]), 0.0);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", namesrv_port)).await.expect("bind NameServer");
    let config = rmq_namesrv::NamesrvConfig { kv_config_path: dir.path().join("kvConfig.json"), ..Default::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let namesrv = tokio::spawn(rmq_namesrv::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(25);
    while http_get(port, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "not ready 25 s after the NameServer came up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value(&scrape(port), "rocketmq_broker_ready", &[]), 1.0);
    assert_eq!(http_get(port, "/healthz").0, 200);
    drop(broker);
    let _ = stop.send(());
    let _ = namesrv.await;
}

#[test]
fn port_zero_or_disable_turns_the_endpoint_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "metricsPromExporterPort=0\n");
    let other = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let disabled = BrokerProcess::start(
        other.path(),
        free_port(),
        &format!("metricsExporterType=DISABLE\nmetricsPromExporterPort={metrics_port}\n"),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(TcpStream::connect(("127.0.0.1", metrics_port)).is_err(), "DISABLE must not open the port");
    let log = std::fs::read_to_string(dir.path().join(format!("broker-{}.log", broker.port))).expect("log");
    assert!(!log.contains("serving /metrics"), "{log}");
    drop((broker, disabled));
}

//! `/metrics`, `/healthz` and `/readyz` of the real `rmq-namesrv` binary on
//! `metricsPromExporterPort`, scraped over HTTP and parsed with `prometheus-parse`: exact broker,
//! topic and request counts after known registrations; a taken port leaves the NameServer serving.

mod fixtures;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fixtures::{Broker, RPC_TIMEOUT};
use prometheus_parse::{Scrape, Value};
use rmq_remoting::protocol::namesrv::GetRouteInfoRequest;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

const BIN: &str = env!("CARGO_BIN_EXE_rmq-namesrv");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The binary, killed on drop; its stderr (the log) goes to `log`.
struct Namesrv {
    child: Child,
    port: u16,
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with `metricsPromExporterPort=metrics_port` and waits for "boot success".
fn start(dir: &std::path::Path, metrics_port: u16) -> Namesrv {
    let port = free_port();
    let conf = dir.join("namesrv.conf");
    let text = format!(
        "listenPort={port}\nbindAddress=127.0.0.1\nkvConfigPath={}\nmetricsPromExporterPort={metrics_port}\n",
        dir.join("kv.json").display()
    );
    std::fs::write(&conf, text).expect("write conf");
    let log = std::fs::File::create(dir.join("namesrv.log")).expect("log file");
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawns");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("reads");
    assert!(line.contains("boot success"), "{line}");
    Namesrv { child, port }
}

/// GET `path` on `port`: status code and body (HTTP/1.1, `Connection: close`).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    assert!(!head.to_ascii_lowercase().contains("chunked"), "unexpected chunked body");
    (status, body.to_owned())
}

fn scrape(port: u16) -> Scrape {
    let (status, body) = http_get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text exposition format")
}

/// The value of the single sample of `metric` with `labels` (panics if absent).
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric} {labels:?} sample"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric} is not a single value: {other:?}"),
    }
}

#[tokio::test]
async fn counts_registered_brokers_topics_and_requests_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let server = start(dir.path(), metrics_port);
    assert_eq!(http_get(metrics_port, "/healthz").0, 200);
    // "boot success" is printed just before the server loop starts and marks itself ready.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while http_get(metrics_port, "/readyz").0 != 200 {
        assert!(std::time::Instant::now() < deadline, "not ready 5 s after boot");
        std::thread::sleep(Duration::from_millis(10));
    }

    let before = scrape(metrics_port);
    assert_eq!(value(&before, "rocketmq_namesrv_ready", &[]), 1.0);
    assert_eq!(value(&before, "rocketmq_namesrv_topics", &[]), 0.0);
    assert!(before.samples.iter().all(|s| s.metric != "rocketmq_namesrv_brokers"), "no broker yet");

    let client = RemotingClient::new(ClientConfig::default());
    let addr = format!("127.0.0.1:{}", server.port);
    let a = Broker::master("broker-a", "10.0.0.1:10911", &[("T1", 4), ("T2", 4)]);
    let mut b = Broker::master("broker-b", "10.0.0.2:10911", &[("T2", 4), ("T3", 8)]);
    b.cluster = "Other".into();
    let mut a_slave = Broker::master("broker-a", "10.0.0.3:10911", &[("T1", 4)]);
    a_slave.id = 1;
    for broker in [&a, &b, &a_slave, &a] {
        let resp = client.invoke(&addr, broker.register_request(), RPC_TIMEOUT).await.expect("register");
        assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    }
    for topic in ["T1", "T3", "Missing"] {
        let route = RemotingCommand::request(RequestCode::GetRouteinfoByTopic)
            .with_header(&GetRouteInfoRequest { topic: topic.into(), accept_standard_json_only: None });
        client.invoke(&addr, route, RPC_TIMEOUT).await.expect("route");
    }

    let after = scrape(metrics_port);
    assert_eq!(value(&after, "rocketmq_namesrv_brokers", &[("cluster", "DefaultCluster")]), 2.0, "master + slave");
    assert_eq!(value(&after, "rocketmq_namesrv_brokers", &[("cluster", "Other")]), 1.0);
    assert_eq!(value(&after, "rocketmq_namesrv_topics", &[]), 3.0);
    assert_eq!(value(&after, "rocketmq_namesrv_requests_total", &[("request_code", "register_broker")]), 4.0);
    let routes = [("request_code", "get_routeinfo_by_topic")];
    assert_eq!(value(&after, "rocketmq_namesrv_requests_total", &routes), 3.0);
    assert_eq!(value(&after, "rocketmq_namesrv_ready", &[]), 1.0);
    let (_, text) = http_get(metrics_port, "/metrics");
    for (name, kind) in [
        ("rocketmq_namesrv_brokers", "gauge"),
        ("rocketmq_namesrv_topics", "gauge"),
        ("rocketmq_namesrv_requests_total", "counter"),
        ("rocketmq_namesrv_ready", "gauge"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} is not a {kind}:\n{text}");
    }
    drop(server);
}

#[tokio::test]
async fn a_taken_metrics_port_is_logged_and_the_name_server_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = start(dir.path(), taken.local_addr().expect("addr").port());
    let client = RemotingClient::new(ClientConfig::default());
    let addr = format!("127.0.0.1:{}", server.port);
    let a = Broker::master("broker-a", "10.0.0.1:10911", &[("T1", 4)]);
    let resp = client.invoke(&addr, a.register_request(), RPC_TIMEOUT).await.expect("register");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let log = std::fs::read_to_string(dir.path().join("namesrv.log")).expect("log");
    assert!(log.contains("cannot bind metricsPromExporterPort"), "{log}");
    drop(server);
}

#[test]
fn port_zero_turns_the_endpoint_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), 0);
    let log = std::fs::read_to_string(dir.path().join("namesrv.log")).expect("log");
    assert!(!log.contains("serving /metrics"), "{log}");
    drop(server);
}

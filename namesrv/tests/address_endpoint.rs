//! Apache's NameServer address endpoint on the real `rmq-namesrv` binary: `GET
//! /rocketmq/nsaddr` answers the list in `addressListFile`, re-read at every request; another
//! subgroup is 404, a missing or empty file 503; the port without a file refuses to start.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rmq-namesrv");

struct Namesrv(Child);

impl Drop for Namesrv {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn port() -> u16 {
    rmq_testkit::ports::single_port().expect("a free port")
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the address port");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, body.to_owned())
}

fn args(dir: &std::path::Path, address_port: u16, file: Option<&std::path::Path>) -> Vec<String> {
    let mut sets = vec![
        format!("listenPort={}", port()),
        "bindAddress=127.0.0.1".to_owned(),
        "metricsPromExporterPort=0".to_owned(),
        format!("kvConfigPath={}", dir.join("kv.json").display()),
        format!("addressServerPort={address_port}"),
    ];
    if let Some(file) = file {
        sets.push(format!("addressListFile={}", file.display()));
    }
    sets.into_iter().flat_map(|s| ["--set".to_owned(), s]).collect()
}

#[test]
fn the_address_list_is_served_as_the_file_says_at_each_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nsaddr");
    std::fs::write(&file, "ns-0.ns.default.svc:9876\nns-1.ns.default.svc:9876\n").expect("write");
    let address_port = port();
    let mut child = Command::new(BIN)
        .args(args(dir.path(), address_port, Some(&file)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("reads");
    let _server = Namesrv(child);
    assert!(line.contains("boot success"), "{line}");

    assert_eq!(
        http_get(address_port, "/rocketmq/nsaddr"),
        (200, "ns-0.ns.default.svc:9876;ns-1.ns.default.svc:9876".into())
    );
    // The Java client appends a query string when it has a unit name.
    assert_eq!(http_get(address_port, "/rocketmq/nsaddr?nofix=1").0, 200);
    std::fs::write(&file, "ns-0.ns.default.svc:9876;ns-1.ns.default.svc:9876;ns-2.ns.default.svc:9876")
        .expect("rewrite");
    let (status, body) = http_get(address_port, "/rocketmq/nsaddr");
    assert_eq!((status, body.matches(';').count()), (200, 2), "{body}");
    assert_eq!(http_get(address_port, "/rocketmq/other").0, 404);
    std::fs::write(&file, "\n").expect("empty");
    assert_eq!(http_get(address_port, "/rocketmq/nsaddr").0, 503);
    std::fs::remove_file(&file).expect("remove");
    assert_eq!(http_get(address_port, "/rocketmq/nsaddr").0, 503);
}

#[test]
fn the_address_port_without_a_list_file_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN).args(args(dir.path(), port(), None)).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("addressListFile"), "{stderr}");
}

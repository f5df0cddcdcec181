//! Test support: runs the real `rmq-broker` binary on free loopback ports with a temp store and
//! talks to it with the remoting client.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmq_remoting::message::encode_properties;
use rmq_remoting::protocol::consumer::PullMessageRequest;
use rmq_remoting::protocol::send::{EndTransactionRequest, SendMessageRequestV2};
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode};

pub mod metrics;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A free port whose neighbours `port - 2` (the VIP channel) and `port + 1` (HA) are free too and
/// were never handed out before in this test binary (tests run in parallel threads, and a port
/// that is merely free now may be some other test's broker's VIP port a moment later).
pub fn free_port() -> u16 {
    rmq_testkit::ports::broker_port().expect("free loopback ports")
}

/// A broker process.
pub struct BrokerProcess {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl BrokerProcess {
    /// Starts a broker with its store in `dir` (no NameServer) and waits until it accepts.
    pub fn start(dir: &Path, port: u16, extra: &str) -> BrokerProcess {
        let conf = dir.join("broker.conf");
        let mut f = std::fs::File::create(&conf).expect("conf");
        writeln!(
            f,
            "brokerName=broker-test\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nlistenPort={port}\n\
             storePathRootDir={}\nmappedFileSizeCommitLog=67108864\nhaListenPort=0\n{extra}",
            dir.join("store").display()
        )
        .expect("write conf");
        let log = std::fs::File::create(dir.join(format!("broker-{port}.log"))).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_rmq-broker"))
            .arg("-c")
            .arg(&conf)
            .env_remove("NAMESRV_ADDR")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn rmq-broker");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "broker did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        BrokerProcess { child, port, dir: dir.to_path_buf() }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// SIGTERM, then waits for exit; returns how long it took.
    pub fn terminate(mut self) -> Duration {
        let start = Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = start + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return start.elapsed();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("broker did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown hook runs, nothing is flushed by the broker.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Resident set size of the broker process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> RemotingClient {
    RemotingClient::new(ClientConfig::default())
}

/// A SEND_MESSAGE_V2 request.
pub fn send_request(topic: &str, queue_id: i32, body: &[u8], props: &[(&str, &str)]) -> RemotingCommand {
    let props = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let header = SendMessageRequestV2 {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: Some("TBW102".into()),
        default_topic_queue_nums: Some(4),
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(encode_properties(&props)),
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::SendMessageV2).with_header(&header).with_body(body.to_vec())
}

/// A non-blocking PULL_MESSAGE request with its own subscription.
pub fn pull_request(topic: &str, queue_id: i32, offset: i64, max: i32) -> RemotingCommand {
    let header = PullMessageRequest {
        consumer_group: "CG".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: max,
        sys_flag: rmq_remoting::protocol::consumer::pull_flag::SUBSCRIPTION,
        commit_offset: Some(0),
        suspend_timeout_millis: Some(0),
        subscription: Some("*".into()),
        sub_version: Some(0),
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
    };
    RemotingCommand::request(RequestCode::PullMessage).with_header(&header)
}

/// An END_TRANSACTION request of producer group `TXG` for a half message of `topic`.
pub fn end_transaction(topic: &str, commit_log_offset: i64, queue_offset: i64, state: i32) -> RemotingCommand {
    let header = EndTransactionRequest {
        topic: Some(topic.into()),
        producer_group: "TXG".into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        commit_or_rollback: state,
        from_transaction_check: Some(false),
        msg_id: "x".into(),
        transaction_id: None,
    };
    RemotingCommand::request(RequestCode::EndTransaction).with_header(&header)
}

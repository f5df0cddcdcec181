//! Abuse with real sockets against a real broker process: 10,000 connections opened and dropped,
//! a 2 GiB length prefix, a header that claims more than its frame has, a slowloris client, and a
//! million requests pipelined on one connection whose answers are never read, and a flood of
//! pulls (large answers) likewise unread. Throughout, a well-behaved client on its own connection
//! is answered within 1 s, the broker stays up, and its RSS stays under 512 MiB (the peak is
//! printed); a peer that does not read its answers is disconnected after the write timeout.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::frame::FrameCodec;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio_util::codec::Encoder;

const RSS_LIMIT_KIB: u64 = 512 * 1024;

/// Sends a request every 50 ms on its own connection and records the slowest answer.
struct Probe {
    stop: Arc<AtomicBool>,
    slowest_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<u64>,
}

impl Probe {
    fn start(addr: String) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let slowest_ms = Arc::new(AtomicU64::new(0));
        let (stop2, slowest2) = (Arc::clone(&stop), Arc::clone(&slowest_ms));
        let task = tokio::spawn(async move {
            let client = client();
            let mut answered = 0;
            while !stop2.load(Ordering::Relaxed) {
                let start = Instant::now();
                let req = RemotingCommand::request(RequestCode::GetBrokerRuntimeInfo);
                let resp = client.invoke(&addr, req, Duration::from_secs(5)).await.expect("the probe is answered");
                assert_eq!(resp.response_code(), ResponseCode::Success);
                slowest2.fetch_max(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                answered += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            answered
        });
        Probe { stop, slowest_ms, task }
    }

    /// Stops; returns (answers, slowest ms) of this phase and resets the record.
    async fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let answered = self.task.await.expect("probe task");
        (answered, self.slowest_ms.load(Ordering::Relaxed))
    }
}

fn frame(cmd: RemotingCommand) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    FrameCodec::new(usize::MAX).encode(cmd, &mut buf).expect("encode");
    buf.to_vec()
}

/// Whether the broker closes `stream` within `within` (reads until EOF or an error).
fn closed_within(mut stream: TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

struct Phase {
    name: &'static str,
    answered: u64,
    slowest_ms: u64,
    rss_kib: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_neither_crash_nor_starve_the_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let broker = BrokerProcess::start(
        dir.path(),
        port,
        "serverChannelMaxIdleTimeSeconds=2\nmaxInFlightPerConnection=64\nserverWriteTimeoutSeconds=3\n",
    );
    let addr = broker.addr();
    let mut phases = Vec::new();
    let mut record = |name, (answered, slowest_ms), rss_kib| {
        phases.push(Phase { name, answered, slowest_ms, rss_kib });
    };

    // 10,000 connections opened, held, then dropped.
    let connections = 10_000;
    let probe = Probe::start(addr.clone());
    let opening = Instant::now();
    let held = tokio::task::spawn_blocking(move || {
        (0..connections).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect")).collect::<Vec<_>>()
    })
    .await
    .expect("join");
    println!("{connections} connections opened in {:?}", opening.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = broker.rss_kib();
    drop(held);
    tokio::time::sleep(Duration::from_millis(500)).await;
    record("10,000 connections", probe.finish().await, rss.max(broker.rss_kib()));

    // A 2 GiB length prefix, and a header longer than its frame: each closes its connection.
    let probe = Probe::start(addr.clone());
    for _ in 0..100 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(&[0x80, 0, 0, 0, 0, 0, 0, 2, b'{', b'}']).expect("write");
        assert!(closed_within(s, Duration::from_secs(5)), "a 2 GiB length prefix closes the connection");
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(&[0, 0, 0, 12, 0, 0, 0x03, 0xE8, b'{', b'}', 0, 0, 0, 0, 0, 0]).expect("write");
        assert!(closed_within(s, Duration::from_secs(5)), "a header claiming 1000 bytes closes the connection");
    }
    record("bad lengths", probe.finish().await, broker.rss_kib());

    // Slowloris: a frame sent a byte at a time, slower than the idle timeout allows.
    let probe = Probe::start(addr.clone());
    let slow = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let bytes = frame(RemotingCommand::request(RequestCode::GetBrokerRuntimeInfo));
        let start = Instant::now();
        for b in bytes {
            if s.write_all(&[b]).is_err() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(300));
            let mut probe = [0u8; 1];
            s.set_nonblocking(true).expect("nonblocking");
            let closed = matches!(s.read(&mut probe), Ok(0));
            s.set_nonblocking(false).expect("blocking");
            if closed {
                return Some(start.elapsed());
            }
        }
        None
    });
    let cut_after = slow.await.expect("join").expect("the slowloris connection is closed");
    assert!(cut_after < Duration::from_secs(10), "closed after {cut_after:?}");
    record("slowloris", probe.finish().await, broker.rss_kib());

    // A million requests pipelined on one connection, answers never read.
    let probe = Probe::start(addr.clone());
    let flood = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_write_timeout(Some(Duration::from_secs(3))).expect("timeout");
        let one = frame(RemotingCommand::request(RequestCode::Unknown(9999)));
        let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
        let mut written = 0u64;
        while written < 1_000_000 {
            if s.write_all(&batch).is_err() {
                break; // the broker stopped reading: back-pressure, not buffering
            }
            written += 1000;
        }
        (written, s)
    });
    let (written, flooding) = flood.await.expect("join");
    let rss = broker.rss_kib();
    tokio::time::sleep(Duration::from_secs(1)).await;
    record("1M pipelined", probe.finish().await, rss.max(broker.rss_kib()));
    println!("pipelined requests written before back-pressure stopped the writer: {written}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(closed_within(flooding, Duration::from_secs(10)), "a peer that never reads is disconnected");

    // Pulls with 256 KiB answers pipelined on one connection, answers never read.
    for _ in 0..32 {
        let resp = client().invoke(&addr, send_request("Flood", 0, &[b'x'; 8192], &[]), TIMEOUT).await.expect("send");
        assert_eq!(resp.response_code(), ResponseCode::Success);
    }
    let probe = Probe::start(addr.clone());
    let pulls = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_write_timeout(Some(Duration::from_secs(3))).expect("timeout");
        let one = frame(pull_request("Flood", 0, 0, 32));
        let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 100).collect();
        let mut written = 0u64;
        while written < 200_000 && s.write_all(&batch).is_ok() {
            written += 100;
        }
        (written, s)
    });
    let mut rss = 0;
    while !pulls.is_finished() {
        rss = rss.max(broker.rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (written, flooding) = pulls.await.expect("join");
    rss = rss.max(broker.rss_kib());
    record("pull flood", probe.finish().await, rss);
    println!("pipelined pulls written before back-pressure stopped the writer: {written}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(closed_within(flooding, Duration::from_secs(10)), "a puller that never reads is disconnected");

    for p in &phases {
        println!(
            "{:20} probe answers {:4}, slowest {:4} ms, broker RSS {:6} KiB",
            p.name, p.answered, p.slowest_ms, p.rss_kib
        );
        assert!(p.answered > 0, "{}: the probe got no answer", p.name);
        assert!(p.slowest_ms < 1000, "{}: a well-behaved client waited {} ms", p.name, p.slowest_ms);
        assert!(p.rss_kib < RSS_LIMIT_KIB, "{}: broker RSS {} KiB", p.name, p.rss_kib);
    }
    let resp = client().invoke(&addr, send_request("AfterAbuse", 0, b"ok", &[]), TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "the broker still stores messages");
}

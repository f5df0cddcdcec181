//! Bad input gets a clear answer or a closed connection, never a crash, and the broker's memory
//! stays bounded while it is sent repeatedly.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

/// Writes raw bytes on a fresh connection and reports whether the broker closed it.
fn closes_connection(port: u16, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_errors_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let broker = BrokerProcess::start(dir.path(), port, "maxMessageSize=65536\n");
    let client = client();
    let addr = broker.addr();

    for round in 0..50 {
        // Unknown request code: REQUEST_CODE_NOT_SUPPORTED, and the connection stays usable.
        let resp =
            client.invoke(&addr, RemotingCommand::request(RequestCode::Unknown(9999)), TIMEOUT).await.expect("answer");
        assert_eq!(resp.response_code(), ResponseCode::RequestCodeNotSupported);

        // Over-limit message.
        let big = vec![b'x'; 65_537];
        let resp = client.invoke(&addr, send_request("Hostile", 0, &big, &[]), TIMEOUT).await.expect("answer");
        assert_eq!(resp.response_code(), ResponseCode::MessageIllegal, "{:?}", resp.remark);

        // Invalid topic name.
        let resp = client.invoke(&addr, send_request("bad topic!", 0, b"x", &[]), TIMEOUT).await.expect("answer");
        assert_ne!(resp.response_code(), ResponseCode::Success);
        assert!(resp.remark.unwrap_or_default().contains("topic"), "remark explains the topic problem");

        // Missing required header field.
        let mut req = send_request("Hostile", 0, b"x", &[]);
        req.ext_fields.remove("b");
        let resp = client.invoke(&addr, req, TIMEOUT).await.expect("answer");
        assert_eq!(resp.response_code(), ResponseCode::SystemError);
        assert!(resp.remark.unwrap_or_default().contains("'b'"));

        // Oversized frame (1 GiB announced) and a malformed header close only that connection.
        let mut frame = (1i32 << 30).to_be_bytes().to_vec();
        frame.extend_from_slice(&[0, 0, 0, 2, b'{', b'}']);
        assert!(closes_connection(port, &frame), "round {round}: oversized frame closes the connection");
        let garbage = [0, 0, 0, 10, 0, 0, 0, 6, b'n', b'o', b't', b'j', b's', b'n'];
        assert!(closes_connection(port, &garbage), "round {round}: malformed header closes the connection");

        // Still serving on the pooled connection.
        let resp = client.invoke(&addr, send_request("Hostile", 0, b"ok", &[]), TIMEOUT).await.expect("answer");
        assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    }
    let rss = broker.rss_kib();
    assert!(rss < 256 * 1024, "broker RSS {rss} KiB exceeds 256 MiB");
}

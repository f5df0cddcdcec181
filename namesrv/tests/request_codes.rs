//! Every request code is either handled or answered REQUEST_CODE_NOT_SUPPORTED, and a bad
//! request (unknown code, missing header field, wrong body CRC) gets an error response while
//! the connection stays usable.

mod fixtures;

use std::io::Write as _;

use fixtures::{config_in, start, Broker, Client};
use futures::{SinkExt, StreamExt};
use rmq_remoting::code::RequestFamily;
use rmq_remoting::frame::FrameCodec;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

#[tokio::test]
async fn unknown_code_is_not_supported_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let mut framed = Framed::new(TcpStream::connect(&server.addr).await.expect("connect"), FrameCodec::default());

    let unknown = RemotingCommand::request(RequestCode::Unknown(9999));
    let opaque = unknown.opaque;
    framed.send(unknown).await.expect("send");
    let response = framed.next().await.expect("answer").expect("frame");
    assert_eq!(response.response_code(), ResponseCode::RequestCodeNotSupported);
    assert_eq!(response.opaque, opaque);
    assert!(response.is_response());

    framed.send(RemotingCommand::request(RequestCode::GetBrokerClusterInfo)).await.expect("send");
    let response = framed.next().await.expect("answer").expect("frame");
    assert_eq!(response.response_code(), ResponseCode::Success);
    server.stop().await;
}

#[tokio::test]
async fn every_code_is_handled_or_deliberately_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    for code in RequestCode::ALL {
        let response = client.call(RemotingCommand::request(*code)).await;
        let handled = code.family() == RequestFamily::NameServer || *code == RequestCode::GetBrokerMemberGroup;
        let unsupported = response.response_code() == ResponseCode::RequestCodeNotSupported;
        assert_eq!(handled, !unsupported, "{code:?} answered {:?}", response.remark);
    }
    server.stop().await;
}

#[tokio::test]
async fn missing_required_header_field_gets_an_error_not_a_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let mut request = Broker::master("broker-a", "10.0.0.1:10911", &[("T", 4)]).register_request();
    request.ext_fields.remove("brokerName");
    let response = client.call(request).await;
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert!(response.remark.as_deref().is_some_and(|r| r.contains("brokerName")), "{:?}", response.remark);

    let route = client.call(RemotingCommand::request(RequestCode::GetRouteinfoByTopic)).await;
    assert_eq!(route.response_code(), ResponseCode::SystemError);
    assert!(route.remark.as_deref().is_some_and(|r| r.contains("topic")));
    server.stop().await;
}

#[tokio::test]
async fn register_with_wrong_crc_is_rejected_and_right_crc_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[("T", 4)]);
    let body = broker.register_body();
    let crc = (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32;

    let mut header = broker.register_header();
    header.body_crc32 = Some(crc ^ 1);
    let wrong = RemotingCommand::request(RequestCode::RegisterBroker).with_header(&header).with_body(body.clone());
    let response = client.call(wrong).await;
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert_eq!(response.remark.as_deref(), Some("crc32 not match"));
    assert!(client.route("T").await.is_err(), "a rejected registration changes nothing");

    header.body_crc32 = Some(crc);
    let right = RemotingCommand::request(RequestCode::RegisterBroker).with_header(&header).with_body(body);
    assert_eq!(client.call(right).await.response_code(), ResponseCode::Success);
    assert!(client.route("T").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn compressed_registration_is_understood() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);
    let chunk = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    let mut raw = Vec::new();
    chunk(&mut raw, br#"{"counter":1,"stateVersion":0,"timestamp":1}"#);
    raw.extend_from_slice(&1i32.to_be_bytes());
    chunk(&mut raw, b"Zipped 3 3 6 SINGLE_TAG");
    chunk(&mut raw, b"[]");
    raw.extend_from_slice(&0i32.to_be_bytes());
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&raw).expect("compress");
    let body = encoder.finish().expect("finish");

    let broker = Broker::master("broker-a", "10.0.0.1:10911", &[]);
    let mut header = broker.register_header();
    header.compressed = Some(true);
    header.body_crc32 = Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32);
    let request = RemotingCommand::request(RequestCode::RegisterBroker).with_header(&header).with_body(body);
    assert_eq!(client.call(request).await.response_code(), ResponseCode::Success);
    assert_eq!(client.route("Zipped").await.expect("route").queue_datas[0].write_queue_nums, 3);
    server.stop().await;
}

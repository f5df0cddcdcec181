//! A message sent to the broker binary comes back from a pull byte-for-byte, with the broker's
//! additions (UNIQ_KEY, CLUSTER), and survives a SIGTERM restart; shutdown is quick.

mod common;

use std::time::Duration;

use common::*;
use rmq_remoting::message::{decode_offset_msg_id, keys, StoredMessage};
use rmq_remoting::protocol::consumer::PullMessageResponse;
use rmq_remoting::protocol::consumer::QueryMessageRequest;
use rmq_remoting::protocol::send::SendMessageResponse;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_are_pulled_back_and_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let broker = BrokerProcess::start(dir.path(), port, "");
    let client = client();

    let mut sent = Vec::new();
    for i in 0..5 {
        let body = format!("hello-{i}");
        let req =
            send_request("RoundTrip", 0, body.as_bytes(), &[("TAGS", "TagA"), ("KEYS", "k1 k2"), ("color", "blue")]);
        let resp = client.invoke(&broker.addr(), req, TIMEOUT).await.expect("send answered");
        assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
        assert_eq!(resp.ext("MSG_REGION"), Some("DefaultRegion"));
        let h: SendMessageResponse = resp.header().expect("send response header");
        assert_eq!(h.queue_offset, i);
        let (host, _) = decode_offset_msg_id(&h.msg_id).expect("offset msg id");
        assert_eq!(host.port(), port);
        sent.push(body);
    }

    let check = |records: &[StoredMessage]| {
        assert_eq!(records.len(), sent.len());
        for (i, m) in records.iter().enumerate() {
            assert_eq!(m.body.as_ref(), sent[i].as_bytes());
            assert_eq!(m.queue_offset, i as i64);
            assert_eq!(m.properties.get(keys::TAGS).map(String::as_str), Some("TagA"));
            assert_eq!(m.properties.get("color").map(String::as_str), Some("blue"));
            assert!(m.properties.contains_key(keys::UNIQ_KEY));
            assert_eq!(m.properties.get(keys::CLUSTER).map(String::as_str), Some("DefaultCluster"));
        }
    };
    let resp = client.invoke(&broker.addr(), pull_request("RoundTrip", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let h: PullMessageResponse = resp.header().expect("pull header");
    assert_eq!(h.next_begin_offset, 5);
    check(&StoredMessage::decode_all(&resp.body).expect("records"));

    // The index finds them by a KEYS token and by UNIQ_KEY.
    let query = |key: &str, unique: bool| {
        let header = QueryMessageRequest {
            topic: "RoundTrip".into(),
            key: key.into(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
        };
        let mut req = RemotingCommand::request(RequestCode::QueryMessage).with_header(&header);
        req.ext_fields.insert("_UNIQUE_KEY_QUERY", unique.to_string());
        req
    };
    let resp = client.invoke(&broker.addr(), query("k2", false), TIMEOUT).await.expect("query");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let by_key = StoredMessage::decode_all(&resp.body).expect("records");
    assert_eq!(by_key.len(), sent.len());
    let uniq = by_key[2].properties.get(keys::UNIQ_KEY).cloned().expect("uniq key");
    let resp = client.invoke(&broker.addr(), query(&uniq, true), TIMEOUT).await.expect("query");
    let by_uniq = StoredMessage::decode_all(&resp.body).expect("records");
    assert_eq!(by_uniq.len(), 1);
    assert_eq!(by_uniq[0].body.as_ref(), sent[2].as_bytes());
    let resp = client.invoke(&broker.addr(), query("absent", false), TIMEOUT).await.expect("query");
    assert_eq!(resp.response_code(), ResponseCode::QueryNotFound);

    let took = broker.terminate();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");

    let broker = BrokerProcess::start(dir.path(), port, "");
    let client = common::client();
    let resp = client.invoke(&broker.addr(), pull_request("RoundTrip", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    check(&StoredMessage::decode_all(&resp.body).expect("records"));
    let resp = client.invoke(&broker.addr(), pull_request("RoundTrip", 0, 5, 32), TIMEOUT).await.expect("pull");
    assert_eq!(resp.response_code(), ResponseCode::PullNotFound);
}

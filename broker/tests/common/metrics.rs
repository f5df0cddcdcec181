//! Scraping the metrics endpoint over HTTP and driving every kind of traffic the broker metrics
//! describe (shared by the metrics tests).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use prometheus_parse::Scrape;
use rmq_remoting::message::{decode_offset_msg_id, sys_flag};
use rmq_remoting::protocol::body::{to_json, ConsumerData, HeartbeatData, ProducerData, SubscriptionData};
use rmq_remoting::protocol::consumer::ConsumerSendMsgBackRequest;
use rmq_remoting::protocol::send::SendMessageResponse;
use rmq_remoting::rpc::RemotingClient;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::{end_transaction, pull_request, send_request, TIMEOUT};

/// GET `path` on `port`: status code and body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    (status, if chunked { dechunk(body) } else { body.to_owned() })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

pub fn scrape(port: u16) -> Scrape {
    let (status, body) = http_get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    Scrape::parse(body.as_bytes().lines()).expect("Prometheus text exposition format")
}

fn heartbeat(topic: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: "127.0.0.1@metrics".into(),
        producer_data_set: vec![ProducerData { group_name: "TXG".into() }],
        consumer_data_set: vec![ConsumerData {
            group_name: "CG".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            message_model: "CLUSTERING".into(),
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            subscription_data_set: vec![SubscriptionData {
                topic: topic.into(),
                sub_string: "*".into(),
                expression_type: Some("TAG".into()),
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::HeartBeat).with_body(to_json(&data))
}

/// Drives every kind of traffic the broker metrics describe: sends and pulls, a consumer and a
/// producer heartbeat, a committed offset, transactions, a DLQ send-back, topic and group creation.
pub async fn every_kind_of_traffic(client: &RemotingClient, addr: &str) {
    let ok = |resp: RemotingCommand| assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    for i in 0..3 {
        ok(client.invoke(addr, send_request("AllT", 0, format!("m{i}").as_bytes(), &[]), TIMEOUT).await.expect("send"));
    }
    ok(client.invoke(addr, heartbeat("AllT"), TIMEOUT).await.expect("heartbeat"));
    ok(client.invoke(addr, pull_request("AllT", 0, 0, 1), TIMEOUT).await.expect("pull"));
    let commit = rmq_remoting::protocol::consumer::UpdateConsumerOffsetRequest {
        consumer_group: "CG".into(),
        topic: "AllT".into(),
        queue_id: 0,
        commit_offset: 1,
    };
    ok(client
        .invoke(addr, RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(&commit), TIMEOUT)
        .await
        .expect("commit"));
    for state in [sys_flag::TRANSACTION_COMMIT, sys_flag::TRANSACTION_ROLLBACK, -1] {
        let mut half = send_request("TxT", 0, b"tx", &[("TRAN_MSG", "true"), ("PGROUP", "TXG")]);
        half.ext_fields.insert("f", sys_flag::TRANSACTION_PREPARED.to_string());
        let resp = client.invoke(addr, half, TIMEOUT).await.expect("half");
        let h: SendMessageResponse = resp.header().expect("send header");
        let offset = decode_offset_msg_id(&h.msg_id).expect("offset id").1;
        if state >= 0 {
            ok(client.invoke(addr, end_transaction("TxT", offset, h.queue_offset, state), TIMEOUT).await.expect("end"));
        }
    }
    let resp = client.invoke(addr, send_request("AllT", 0, b"doomed", &[]), TIMEOUT).await.expect("send");
    let h: SendMessageResponse = resp.header().expect("send header");
    let back = ConsumerSendMsgBackRequest {
        offset: decode_offset_msg_id(&h.msg_id).expect("offset id").1,
        group: "CG".into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some("AllT".into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(0),
    };
    ok(client
        .invoke(addr, RemotingCommand::request(RequestCode::ConsumerSendMsgBack).with_header(&back), TIMEOUT)
        .await
        .expect("send back"));
    let mut create = RemotingCommand::request(RequestCode::UpdateAndCreateTopic);
    for (k, v) in [("topic", "NewT"), ("defaultTopic", "TBW102"), ("readQueueNums", "4"), ("writeQueueNums", "4")] {
        create.ext_fields.insert(k, v);
    }
    create.ext_fields.insert("perm", "6");
    create.ext_fields.insert("topicFilterType", "SINGLE_TAG");
    ok(client.invoke(addr, create, TIMEOUT).await.expect("create topic"));
    let group = serde_json::json!({"groupName": "NewG", "consumeEnable": true, "retryQueueNums": 1});
    let create_group = RemotingCommand::request(RequestCode::UpdateAndCreateSubscriptiongroup)
        .with_body(group.to_string().into_bytes());
    ok(client.invoke(addr, create_group, TIMEOUT).await.expect("create group"));
}

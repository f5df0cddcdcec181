//! ACL checks on topics a request does not name but reaches through the store: END_TRANSACTION
//! needs `PUB` on the half message's real topic (naming another topic does not help), and
//! VIEW_MESSAGE_BY_ID needs `SUB` on the topic of the record at the offset (its real topic for a
//! half message parked under the system topic).

mod common;

use common::*;
use rmq_remoting::acl::Credentials;
use rmq_remoting::message::{decode_offset_msg_id, sys_flag};
use rmq_remoting::protocol::consumer::ViewMessageRequest;
use rmq_remoting::protocol::send::SendMessageResponse;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

const ACL: &str = "\
accounts:
  - accessKey: ordersapp
    secretKey: ordersapp-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: [Orders=PUB|SUB]
  - accessKey: intruder
    secretKey: intruder-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: [Mine=PUB|SUB]
";

fn signed(access_key: &str) -> RemotingClient {
    let credentials = Credentials::new(access_key, format!("{access_key}-secret"));
    RemotingClient::new(ClientConfig { credentials: Some(credentials), ..ClientConfig::default() })
}

fn view(offset: i64) -> RemotingCommand {
    RemotingCommand::request(RequestCode::ViewMessageById).with_header(&ViewMessageRequest { topic: None, offset })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_ends_and_lookups_by_offset_need_a_permission_on_the_stored_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(&acl, ACL).expect("write ACL");
    let broker = BrokerProcess::start(dir.path(), free_port(), &format!("aclEnable=true\naclFile={}\n", acl.display()));
    let addr = broker.addr();
    let (orders, intruder) = (signed("ordersapp"), signed("intruder"));

    let mut half = send_request("Orders", 0, b"half", &[("TRAN_MSG", "true"), ("PGROUP", "TXG")]);
    half.ext_fields.insert("f", sys_flag::TRANSACTION_PREPARED.to_string());
    let resp = orders.invoke(&addr, half, TIMEOUT).await.expect("send half");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let h: SendMessageResponse = resp.header().expect("header");
    let (half_offset, queue_offset) = (decode_offset_msg_id(&h.msg_id).expect("offset id").1, h.queue_offset);

    // Naming a topic the intruder may publish to does not open someone else's half message.
    let forged = end_transaction("Mine", half_offset, queue_offset, sys_flag::TRANSACTION_COMMIT);
    let resp = intruder.invoke(&addr, forged, TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::NoPermission, "{:?}", resp.remark);
    assert!(resp.remark.as_deref().unwrap_or("").contains("Topic:Orders"), "{:?}", resp.remark);
    let resp = intruder.invoke(&addr, view(half_offset), TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::NoPermission, "the half topic is not the intruder's");
    let resp = orders.invoke(&addr, view(half_offset), TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "a half message counts as its real topic");

    let commit = end_transaction("Orders", half_offset, queue_offset, sys_flag::TRANSACTION_COMMIT);
    let resp = orders.invoke(&addr, commit, TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);

    let resp = orders.invoke(&addr, send_request("Orders", 0, b"plain", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let h: SendMessageResponse = resp.header().expect("header");
    let offset = decode_offset_msg_id(&h.msg_id).expect("offset id").1;
    let resp = intruder.invoke(&addr, view(offset), TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::NoPermission, "{:?}", resp.remark);
    assert!(resp.body.is_empty(), "a refusal carries no message");
    let resp = orders.invoke(&addr, view(offset), TIMEOUT).await.expect("answer");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
}

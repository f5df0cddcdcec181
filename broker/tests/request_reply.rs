//! Request-reply: a SEND_REPLY_MESSAGE_V2 is stored and pushed (PUSH_REPLY_MESSAGE_TO_CLIENT) to the
//! requester named in REPLY_TO_CLIENT; an offline requester is a clear error.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use rmq_remoting::message::decode_properties;
use rmq_remoting::protocol::body::{to_json, HeartbeatData, ProducerData};
use rmq_remoting::protocol::send::{ReplyMessageExtras, SendMessageRequest};
use rmq_remoting::rpc::{ClientConfig, Connection, Handler, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::mpsc;

struct Requester(mpsc::UnboundedSender<RemotingCommand>);

impl Handler for Requester {
    async fn handle(&self, _conn: Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let resp = RemotingCommand::success(&req);
        let _ = self.0.send(req);
        Some(resp)
    }
}

fn reply(to: &str) -> RemotingCommand {
    let mut req = send_request(
        "DefaultCluster_REPLY_TOPIC",
        0,
        b"pong",
        &[("MSG_TYPE", "reply"), ("REPLY_TO_CLIENT", to), ("CORRELATION_ID", "corr-1")],
    );
    req.code = RequestCode::SendReplyMessageV2.value();
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_is_pushed_to_the_requester() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "");
    let addr = broker.addr();
    let (tx, mut pushed) = mpsc::unbounded_channel();
    let requester = RemotingClient::with_handler(ClientConfig::default(), Arc::new(Requester(tx)));
    let heartbeat = HeartbeatData {
        client_id: "10.0.0.1@requester".into(),
        producer_data_set: vec![ProducerData { group_name: "RPC".into() }],
        ..Default::default()
    };
    let hb = RemotingCommand::request(RequestCode::HeartBeat).with_body(to_json(&heartbeat));
    assert_eq!(requester.invoke(&addr, hb, TIMEOUT).await.expect("hb").response_code(), ResponseCode::Success);

    let replier = client();
    let resp = replier.invoke(&addr, reply("10.0.0.1@requester"), TIMEOUT).await.expect("reply");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let push = tokio::time::timeout(Duration::from_secs(5), pushed.recv()).await.expect("pushed").expect("open");
    assert_eq!(push.request_code(), RequestCode::PushReplyMessageToClient);
    assert_eq!(push.body.as_ref(), b"pong");
    let h: SendMessageRequest = push.header().expect("reply header");
    assert_eq!(h.topic, "DefaultCluster_REPLY_TOPIC");
    let props = decode_properties(h.properties.as_deref().unwrap_or(""));
    assert_eq!(props.get("CORRELATION_ID").map(String::as_str), Some("corr-1"));
    let hosts: ReplyMessageExtras = push.header().expect("reply hosts");
    assert!(hosts.born_host.contains(':') && hosts.store_host.contains(':'));

    let resp = replier.invoke(&addr, reply("10.0.0.9@gone"), TIMEOUT).await.expect("reply");
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    assert!(resp.remark.unwrap_or_default().contains("not online"));
}

//! `resetOffsetByTime` as Apache 5.x does it (`useServerSideResetOffset`, on by default): the
//! broker records the new offsets even with no consumer online, the group's next pull of each
//! queue answers PULL_OFFSET_MOVED with the reset offset, stale commits are ignored until then,
//! and an unknown group is refused.

mod common;

use common::*;
use rmq_remoting::protocol::admin::ResetOffsetRequest;
use rmq_remoting::protocol::consumer::{
    OffsetResponse, PullMessageResponse, QueryConsumerOffsetRequest, UpdateConsumerOffsetRequest,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

fn reset(group: &str, timestamp: i64) -> RemotingCommand {
    let header = ResetOffsetRequest {
        topic: "ResetT".into(),
        group: group.into(),
        timestamp,
        is_force: Some(true),
        queue_id: None,
        offset: None,
    };
    RemotingCommand::request(RequestCode::InvokeBrokerToResetOffset).with_header(&header)
}

fn commit(offset: i64) -> RemotingCommand {
    let header = UpdateConsumerOffsetRequest {
        consumer_group: "CG".into(),
        topic: "ResetT".into(),
        queue_id: 0,
        commit_offset: offset,
    };
    RemotingCommand::request(RequestCode::UpdateConsumerOffset).with_header(&header)
}

fn query() -> RemotingCommand {
    let header = QueryConsumerOffsetRequest {
        consumer_group: "CG".into(),
        topic: "ResetT".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
    };
    RemotingCommand::request(RequestCode::QueryConsumerOffset).with_header(&header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_offset_is_applied_on_the_broker_and_handed_to_the_next_pull() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerProcess::start(dir.path(), free_port(), "");
    let client = client();
    let addr = broker.addr();
    for i in 0..6 {
        let resp = client.invoke(&addr, send_request("ResetT", 0, format!("m{i}").as_bytes(), &[]), TIMEOUT).await;
        assert_eq!(resp.expect("send").response_code(), ResponseCode::Success);
    }
    // The group exists (a pull creates it) and has consumed everything; nobody is online.
    let resp = client.invoke(&addr, pull_request("ResetT", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    assert_eq!(client.invoke(&addr, commit(6), TIMEOUT).await.expect("commit").response_code(), ResponseCode::Success);

    let unknown = client.invoke(&addr, reset("NoSuchGroup", 0), TIMEOUT).await.expect("reset answered");
    assert_eq!(unknown.response_code(), ResponseCode::SubscriptionGroupNotExist);

    let resp = client.invoke(&addr, reset("CG", 0), TIMEOUT).await.expect("reset answered");
    assert_eq!(resp.response_code(), ResponseCode::Success, "{:?}", resp.remark);
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    assert!(body.contains(r#""queueId":0,"topic":"ResetT"}:0"#), "{body}");

    // A stale commit from a consumer that has not seen the reset is ignored; queries see the reset.
    let stale = client.invoke(&addr, commit(6), TIMEOUT).await.expect("commit");
    assert_eq!(stale.response_code(), ResponseCode::Success);
    let q = client.invoke(&addr, query(), TIMEOUT).await.expect("query");
    assert_eq!(q.header::<OffsetResponse>().expect("offset").offset, 0);

    // The next pull from the old position is moved to the reset offset, once.
    let moved = client.invoke(&addr, pull_request("ResetT", 0, 6, 32), TIMEOUT).await.expect("pull");
    assert_eq!(moved.response_code(), ResponseCode::PullOffsetMoved);
    assert_eq!(moved.header::<PullMessageResponse>().expect("header").next_begin_offset, 0);
    let again = client.invoke(&addr, pull_request("ResetT", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_eq!(again.response_code(), ResponseCode::Success, "then the replay is served");
    assert_eq!(client.invoke(&addr, commit(3), TIMEOUT).await.expect("commit").response_code(), ResponseCode::Success);
    let q = client.invoke(&addr, query(), TIMEOUT).await.expect("query");
    assert_eq!(q.header::<OffsetResponse>().expect("offset").offset, 3, "commits count again after the pull");
}

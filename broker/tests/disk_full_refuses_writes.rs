//! Over the disk budget the broker refuses sends with SERVICE_NOT_AVAILABLE and a clear remark,
//! and keeps serving reads.

mod common;

use common::*;
use rmq_remoting::ResponseCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_refuses_sends_but_serves_pulls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // First fill a little data with no budget.
    let broker = BrokerProcess::start(dir.path(), port, "mappedFileSizeCommitLog=65536\n");
    let client = client();
    let resp = client.invoke(&broker.addr(), send_request("Full", 0, b"before", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    broker.terminate();

    // Restart with a budget far below what the store already uses.
    let broker = BrokerProcess::start(dir.path(), port, "mappedFileSizeCommitLog=65536\ndiskBudgetBytes=4096\n");
    let client = common::client();
    let resp = client.invoke(&broker.addr(), send_request("Full", 0, b"after", &[]), TIMEOUT).await.expect("send");
    assert_eq!(resp.response_code(), ResponseCode::ServiceNotAvailable, "{:?}", resp.remark);
    assert!(resp.remark.unwrap_or_default().contains("disk is full"));
    let resp = client.invoke(&broker.addr(), pull_request("Full", 0, 0, 32), TIMEOUT).await.expect("pull");
    assert_eq!(resp.response_code(), ResponseCode::Success, "reads keep working");
}

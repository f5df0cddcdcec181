//! GET_NAMESRV_CONFIG returns the effective configuration as properties text, and
//! UPDATE_NAMESRV_CONFIG changes it at run time (except keys on the black list).

mod fixtures;

use fixtures::{config_in, start, Client};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test]
async fn config_can_be_read_and_updated_at_run_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(config_in(&dir)).await;
    let client = Client::to(&server);

    let got = client.call(RemotingCommand::request(RequestCode::GetNamesrvConfig)).await;
    let text = String::from_utf8(got.body.to_vec()).expect("utf8");
    assert!(text.contains("enableAllTopicList=true"), "{text}");
    assert!(text.contains("scanNotActiveBrokerInterval=5000"), "{text}");

    let update = RemotingCommand::request(RequestCode::UpdateNamesrvConfig).with_body("enableAllTopicList=false\n");
    assert_eq!(client.call(update).await.response_code(), ResponseCode::Success);
    let all = client.call(RemotingCommand::request(RequestCode::GetAllTopicListFromNameserver)).await;
    assert_eq!(all.remark.as_deref(), Some("disable"));

    let blacklisted = RemotingCommand::request(RequestCode::UpdateNamesrvConfig).with_body("kvConfigPath=/tmp/x\n");
    assert_eq!(client.call(blacklisted).await.response_code(), ResponseCode::NoPermission);

    let malformed = RemotingCommand::request(RequestCode::UpdateNamesrvConfig).with_body("enableTopicList=maybe\n");
    let response = client.call(malformed).await;
    assert_eq!(response.response_code(), ResponseCode::SystemError);
    assert!(response.remark.as_deref().is_some_and(|r| r.contains("enableTopicList")));
    server.stop().await;
}

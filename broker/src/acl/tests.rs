//! The ACL decision for each kind of account, permission and address, and the file reload.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::acl::Credentials;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::*;

const FILE: &str = r#"
globalWhiteRemoteAddresses: ["10.0.0.*"]
accounts:
  - accessKey: producer1
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms: ["Orders=PUB", "Audit=PUB|SUB", "Secret=DENY"]
  - accessKey: consumer1
    secretKey: consumer-secret
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
    topicPerms: ["Secret=DENY"]
    groupPerms: ["payroll=DENY"]
  - accessKey: trusted1
    secretKey: trusted-secret
    whiteRemoteAddress: 192.168.7.*
  - accessKey: admin001
    secretKey: admin-secret
    admin: true
"#;

fn acl() -> Acl {
    Acl::from_rules(Rules::parse(FILE).expect("test file parses"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn signed(code: RequestCode, fields: &[(&str, &str)], ak: &str, sk: &str) -> RemotingCommand {
    let mut req = RemotingCommand::request(code);
    for (k, v) in fields {
        req.ext_fields.insert(*k, *v);
    }
    Credentials::new(ak, sk).sign(&mut req);
    req
}

fn send(topic: &str, ak: &str, sk: &str) -> RemotingCommand {
    signed(RequestCode::SendMessageV2, &[("a", "pg"), ("b", topic)], ak, sk)
}

fn pull(topic: &str, group: &str, ak: &str, sk: &str) -> RemotingCommand {
    signed(RequestCode::PullMessage, &[("topic", topic), ("consumerGroup", group)], ak, sk)
}

const PEER: &str = "127.0.0.1";

#[test]
fn a_signed_request_with_the_permission_passes() {
    let acl = acl();
    assert_eq!(acl.check(ip(PEER), &send("Orders", "producer1", "producer-secret")), Ok(()));
    assert_eq!(acl.check(ip(PEER), &pull("Orders", "billing", "consumer1", "consumer-secret")), Ok(()));
}

#[test]
fn an_unsigned_unknown_or_wrongly_signed_request_is_refused() {
    let acl = acl();
    let mut unsigned = RemotingCommand::request(RequestCode::SendMessageV2);
    unsigned.ext_fields.insert("b", "Orders");
    assert_eq!(acl.check(ip(PEER), &unsigned), Err(Refusal::NoAccessKey));
    assert_eq!(
        acl.check(ip(PEER), &send("Orders", "stranger", "producer-secret")),
        Err(Refusal::UnknownAccount("stranger".into()))
    );
    assert_eq!(
        acl.check(ip(PEER), &send("Orders", "producer1", "wrong-secret")),
        Err(Refusal::BadSignature("producer1".into()))
    );
}

#[test]
fn each_permission_kind_grants_what_it_names_and_deny_nothing() {
    let acl = acl();
    let (p, ps) = ("producer1", "producer-secret");
    // PUB: send yes, pull no.
    assert_eq!(acl.check(ip(PEER), &send("Orders", p, ps)), Ok(()));
    let refused = acl.check(ip(PEER), &pull("Orders", "billing", p, ps));
    assert!(matches!(refused, Err(Refusal::NoPermission { needed: Perm::SUB, .. })), "{refused:?}");
    // PUB|SUB: both (the group's default is DENY for producer1, so pull with its own group fails on the group).
    assert_eq!(acl.check(ip(PEER), &send("Audit", p, ps)), Ok(()));
    let on_group = acl.check(ip(PEER), &pull("Audit", "billing", p, ps));
    assert!(
        matches!(&on_group, Err(Refusal::NoPermission { resource: Resource::Group(g), held: Perm::DENY, .. }) if g == "billing"),
        "{on_group:?}"
    );
    // SUB (a default): pull yes, send no.
    let (c, cs) = ("consumer1", "consumer-secret");
    assert_eq!(acl.check(ip(PEER), &pull("Anything", "billing", c, cs)), Ok(()));
    assert!(acl.check(ip(PEER), &send("Anything", c, cs)).is_err());
    // DENY: an explicit entry beats the default.
    let denied = acl.check(ip(PEER), &pull("Secret", "billing", c, cs));
    let Err(refusal) = denied else { panic!("DENY must refuse") };
    assert_eq!(
        refusal.to_string(),
        "User:consumer1 has no permission to SUB Topic:Secret from 127.0.0.1: its permission there is DENY"
    );
    assert!(acl.check(ip(PEER), &pull("Orders", "payroll", c, cs)).is_err());
    // A default of DENY refuses topics without an entry.
    assert!(acl.check(ip(PEER), &send("Unlisted", p, ps)).is_err());
}

#[test]
fn a_consumer_sending_a_message_back_needs_sub_on_its_group() {
    let acl = acl();
    assert_eq!(acl.check(ip(PEER), &send("%RETRY%billing", "consumer1", "consumer-secret")), Ok(()));
    assert!(acl.check(ip(PEER), &send("%RETRY%payroll", "consumer1", "consumer-secret")).is_err());
}

#[test]
fn admin_requests_need_an_admin_account_which_may_do_everything() {
    let acl = acl();
    let create = |ak, sk| signed(RequestCode::UpdateAndCreateTopic, &[("topic", "New")], ak, sk);
    assert_eq!(
        acl.check(ip(PEER), &create("consumer1", "consumer-secret")),
        Err(Refusal::NotAdmin { access_key: "consumer1".into(), code: 17 })
    );
    assert_eq!(acl.check(ip(PEER), &create("admin001", "admin-secret")), Ok(()));
    assert_eq!(acl.check(ip(PEER), &pull("Secret", "payroll", "admin001", "admin-secret")), Ok(()));
}

#[test]
fn whitelisted_addresses_pass_without_a_signature() {
    let acl = acl();
    let unsigned = RemotingCommand::request(RequestCode::UpdateAndCreateTopic);
    assert_eq!(acl.check(ip("10.0.0.9"), &unsigned), Ok(()), "global whitelist");
    let mut named = unsigned.clone();
    named.ext_fields.insert(ACCESS_KEY, "trusted1");
    assert_eq!(acl.check(ip("192.168.7.20"), &named), Ok(()), "the account's whitelist");
    assert_eq!(acl.check(ip("192.168.8.20"), &named), Err(Refusal::BadSignature("trusted1".into())));
}

#[test]
fn anyone_signed_may_publish_traces() {
    let acl = acl();
    assert_eq!(acl.check(ip(PEER), &send(TRACE_TOPIC, "consumer1", "consumer-secret")), Ok(()));
}

#[tokio::test]
async fn a_changed_file_is_reloaded_and_an_invalid_one_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plain_acl.yml");
    std::fs::write(&path, FILE).expect("write");
    let acl = Arc::new(Acl::load(&path).expect("loads"));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(Arc::clone(&acl).watch(Duration::from_millis(20), stopped));
    let request = send("Orders", "newcomer", "newcomer-secret");
    assert!(acl.check(ip(PEER), &request).is_err());

    let added = FILE.replace(
        "accounts:\n",
        "accounts:\n  - accessKey: newcomer\n    secretKey: newcomer-secret\n    defaultTopicPerm: PUB\n",
    );
    std::fs::write(&path, added).expect("write");
    wait_until(|| acl.check(ip(PEER), &request).is_ok()).await;

    std::fs::write(&path, "accounts: [this is not an account").expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(acl.check(ip(PEER), &request), Ok(()), "an invalid file keeps the previous rules");
    let _ = stop.send(true);
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "condition not met within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_missing_or_invalid_file_is_an_error_naming_it() {
    let err = Acl::load(Path::new("/nonexistent/plain_acl.yml")).err().expect("missing file");
    assert!(err.contains("/nonexistent/plain_acl.yml"), "{err}");
}

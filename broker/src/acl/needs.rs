//! What a request needs from the ACL: nothing beyond a valid signature, an admin account, or a
//! permission on each topic and group it touches. The mapping follows Apache 4.x's
//! `PlainAccessValidator` (a retry topic `%RETRY%g` counts as group `g`) and adds the reads a
//! consumer makes (offsets, message lookups), which need `SUB` on their topic.

use rmq_remoting::protocol::body::{from_json, HeartbeatData, LockBatchRequest};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::rules::Perm;

const RETRY_PREFIX: &str = "%RETRY%";

/// A topic or a consumer/producer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A topic.
    Topic(String),
    /// A group.
    Group(String),
}

impl Resource {
    /// A topic field's resource: retry topics stand for their group.
    pub fn topic(name: &str) -> Resource {
        match name.strip_prefix(RETRY_PREFIX) {
            Some(group) => Resource::Group(group.to_owned()),
            None => Resource::Topic(name.to_owned()),
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Topic(name) => write!(f, "Topic:{name}"),
            Resource::Group(name) => write!(f, "Group:{name}"),
        }
    }
}

/// What a request needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Needs {
    /// Only a known account and a valid signature.
    Authenticated,
    /// An admin account.
    Admin,
    /// These permissions, every one.
    Perms(Vec<(Resource, Perm)>),
}

/// The needs of `req`; an error when its body, which names the resources, does not decode.
pub fn needs(req: &RemotingCommand) -> Result<Needs, String> {
    use RequestCode as C;
    let field = |key: &str| req.ext_fields.get(key).filter(|v| !v.is_empty());
    let mut perms = Vec::new();
    let mut need = |needed: Option<(Resource, Perm)>| perms.extend(needed);
    let topic = |key: &str, perm: Perm| field(key).map(|t| (Resource::topic(t), perm));
    let group = |key: &str, perm: Perm| field(key).map(|g| (Resource::Group(g.to_owned()), perm));
    match req.request_code() {
        C::SendMessage | C::SendReplyMessage => need(send_target(field("topic"))),
        C::SendMessageV2 | C::SendBatchMessage | C::SendReplyMessageV2 => need(send_target(field("b"))),
        // The processor also checks PUB on the half message's real topic.
        C::EndTransaction => need(topic("topic", Perm::PUB)),
        C::ConsumerSendMsgBack => need(group("group", Perm::SUB)),
        C::PullMessage | C::LitePullMessage | C::QueryConsumerOffset | C::UpdateConsumerOffset => {
            need(topic("topic", Perm::SUB));
            need(group("consumerGroup", Perm::SUB));
        }
        // VIEW_MESSAGE_BY_ID names no topic; its processor checks SUB on the record's topic.
        C::QueryMessage
        | C::ViewMessageById
        | C::GetMaxOffset
        | C::GetMinOffset
        | C::SearchOffsetByTimestamp
        | C::GetEarliestMsgStoretime => need(topic("topic", Perm::SUB)),
        C::UnregisterClient | C::GetConsumerListByGroup => need(group("consumerGroup", Perm::SUB)),
        C::HeartBeat => {
            let data: HeartbeatData = from_json(&req.body).map_err(|e| format!("bad heartbeat body: {e}"))?;
            for consumer in data.consumer_data_set {
                need(Some((Resource::Group(consumer.group_name), Perm::SUB)));
                for subscription in consumer.subscription_data_set {
                    need(Some((Resource::topic(&subscription.topic), Perm::SUB)));
                }
            }
        }
        C::LockBatchMq | C::UnlockBatchMq => {
            let body: LockBatchRequest = from_json(&req.body).map_err(|e| format!("bad lock body: {e}"))?;
            need(Some((Resource::Group(body.consumer_group), Perm::SUB)));
            for queue in body.mq_set {
                need(Some((Resource::topic(&queue.topic), Perm::SUB)));
            }
        }
        C::UpdateAndCreateTopic
        | C::UpdateAndCreateTopicList
        | C::UpdateAndCreateStaticTopic
        | C::DeleteTopicInBroker
        | C::UpdateAndCreateSubscriptiongroup
        | C::UpdateAndCreateSubscriptiongroupList
        | C::DeleteSubscriptiongroup
        | C::UpdateBrokerConfig
        | C::InvokeBrokerToResetOffset
        | C::ResetMasterFlushOffset
        | C::DeleteExpiredCommitlog
        | C::CleanExpiredConsumequeue
        | C::CleanUnusedTopic
        | C::UpdateAndGetGroupForbidden => return Ok(Needs::Admin),
        _ => {}
    }
    Ok(if perms.is_empty() { Needs::Authenticated } else { Needs::Perms(perms) })
}

/// A send needs `PUB` on its topic; a send to a retry topic is a consumer sending a message
/// back, which needs `SUB` on the group, like CONSUMER_SEND_MSG_BACK.
fn send_target(topic: Option<&str>) -> Option<(Resource, Perm)> {
    match Resource::topic(topic?) {
        group @ Resource::Group(_) => Some((group, Perm::SUB)),
        topic => Some((topic, Perm::PUB)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut req = RemotingCommand::request(code);
        for (k, v) in fields {
            req.ext_fields.insert(*k, *v);
        }
        req
    }

    #[test]
    fn a_send_needs_pub_on_its_topic_and_a_send_back_sub_on_the_group() {
        let send = request(RequestCode::SendMessageV2, &[("a", "pg"), ("b", "Orders")]);
        assert_eq!(needs(&send), Ok(Needs::Perms(vec![(Resource::Topic("Orders".into()), Perm::PUB)])));
        let back = request(RequestCode::SendMessageV2, &[("a", "pg"), ("b", "%RETRY%billing")]);
        assert_eq!(needs(&back), Ok(Needs::Perms(vec![(Resource::Group("billing".into()), Perm::SUB)])));
    }

    #[test]
    fn a_pull_needs_sub_on_topic_and_group() {
        let pull = request(RequestCode::PullMessage, &[("topic", "Orders"), ("consumerGroup", "billing")]);
        let expected =
            vec![(Resource::Topic("Orders".into()), Perm::SUB), (Resource::Group("billing".into()), Perm::SUB)];
        assert_eq!(needs(&pull), Ok(Needs::Perms(expected)));
    }

    #[test]
    fn a_consumer_heartbeat_needs_sub_on_its_group_and_subscriptions_and_a_producer_one_nothing() {
        let mut hb = request(RequestCode::HeartBeat, &[]);
        hb.body = br#"{"clientID":"c","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"billing","subscriptionDataSet":[{"topic":"Orders"},{"topic":"%RETRY%billing"}]}]}"#.to_vec().into();
        let expected = vec![
            (Resource::Group("billing".into()), Perm::SUB),
            (Resource::Topic("Orders".into()), Perm::SUB),
            (Resource::Group("billing".into()), Perm::SUB),
        ];
        assert_eq!(needs(&hb), Ok(Needs::Perms(expected)));
        hb.body = br#"{"clientID":"c","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[]}"#.to_vec().into();
        assert_eq!(needs(&hb), Ok(Needs::Authenticated));
        hb.body = b"{not json".to_vec().into();
        assert!(needs(&hb).is_err());
    }

    #[test]
    fn changing_topics_groups_or_broker_config_needs_an_admin() {
        for code in
            [RequestCode::UpdateAndCreateTopic, RequestCode::DeleteSubscriptiongroup, RequestCode::UpdateBrokerConfig]
        {
            assert_eq!(needs(&request(code, &[("topic", "Orders")])), Ok(Needs::Admin));
        }
    }

    #[test]
    fn reads_of_the_broker_need_only_a_valid_signature() {
        assert_eq!(needs(&request(RequestCode::GetBrokerRuntimeInfo, &[])), Ok(Needs::Authenticated));
        assert_eq!(needs(&request(RequestCode::ViewMessageById, &[("offset", "1")])), Ok(Needs::Authenticated));
    }
}

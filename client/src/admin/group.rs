//! A broker's whole metadata, as a new broker group is seeded with it: every topic it holds
//! (GET_ALL_TOPIC_CONFIG), every subscription group (GET_ALL_SUBSCRIPTIONGROUP_CONFIG), and
//! creating or updating a subscription group on one broker (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).

use rmq_remoting::protocol::body::{to_json, GroupConfig, GroupTableBody, TopicConfig, TopicConfigWrapper};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::{parse_body, Admin, AdminResult};

impl Admin {
    /// Every topic the broker at `addr` holds, system topics included, by name.
    pub async fn broker_topic_configs(&self, addr: &str) -> AdminResult<Vec<TopicConfig>> {
        let resp = self.call_ok(addr, RemotingCommand::request(RequestCode::GetAllTopicConfig)).await?;
        let wrapper: TopicConfigWrapper = parse_body(addr, &resp)?;
        Ok(wrapper.topic_config_table.into_values().collect())
    }

    /// Every subscription group the broker at `addr` holds, system groups included, by name.
    pub async fn broker_groups(&self, addr: &str) -> AdminResult<Vec<GroupConfig>> {
        let resp = self.call_ok(addr, RemotingCommand::request(RequestCode::GetAllSubscriptiongroupConfig)).await?;
        let table: GroupTableBody = parse_body(addr, &resp)?;
        Ok(table.subscription_group_table.into_values().collect())
    }

    /// Creates or updates the subscription group `group` on the broker at `addr`.
    pub async fn create_group(&self, addr: &str, group: &GroupConfig) -> AdminResult<()> {
        let request = RemotingCommand::request(RequestCode::UpdateAndCreateSubscriptiongroup).with_body(to_json(group));
        self.call_ok(addr, request).await?;
        Ok(())
    }
}

//! CHECK_CLIENT_CONFIG (46): a consumer with a non-TAG subscription asks whether the broker can
//! filter it before it starts.

use rmq_remoting::protocol::body::{from_json, SubscriptionData};
use rmq_remoting::{RemotingCommand, ResponseCode};
use serde::Deserialize;

use crate::filter::{FilterBuildError, MessageFilter};
use crate::runtime::Broker;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CheckClientRequest {
    subscription_data: Option<SubscriptionData>,
}

/// Handles CHECK_CLIENT_CONFIG.
pub fn check(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let Some(sub) = from_json::<CheckClientRequest>(&req.body).ok().and_then(|b| b.subscription_data) else {
        return RemotingCommand::success(req);
    };
    match MessageFilter::build(&sub.sub_string, sub.expression_type.as_deref(), broker.config.policy.property_filter) {
        Ok(_) => RemotingCommand::success(req),
        Err(e @ FilterBuildError::Disabled(_)) => RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
        Err(e) => RemotingCommand::error(req, ResponseCode::SubscriptionParseFailed, e.to_string()),
    }
}

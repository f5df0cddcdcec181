//! Topic, group and broker-config administration (the requests mqadmin sends): create/delete
//! topics, list topic and group configs, get/update broker config, create/delete groups.

use std::sync::atomic::Ordering;

use rmq_remoting::config::Properties;
use rmq_remoting::message::validate_topic;
use rmq_remoting::protocol::admin::{BrokerConfigResponse, CreateTopicRequest, DeleteGroupRequest, TopicRequest};
use rmq_remoting::protocol::body::{from_json, to_json, TopicConfig, TopicList};
use rmq_remoting::{RemotingCommand, ResponseCode};
use serde::Deserialize;
use tracing::{info, warn};

use super::bad_header;
use crate::meta::attributes;
use crate::meta::groups::GroupConfig;
use crate::meta::topics::send_allowed;
use crate::runtime::Broker;

fn check_topic_name(req: &RemotingCommand, topic: &str) -> Option<RemotingCommand> {
    if let Err(why) = validate_topic(topic) {
        return Some(RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("The specified topic is invalid: {why}"),
        ));
    }
    if !send_allowed(topic) {
        return Some(RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("The topic[{topic}] is conflict with system topic."),
        ));
    }
    None
}

/// UPDATE_AND_CREATE_TOPIC (17).
pub fn create_topic(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<CreateTopicRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if let Some(rejected) = check_topic_name(req, &h.topic) {
        return rejected;
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 || !(0..=7).contains(&h.perm) {
        return RemotingCommand::error(
            req,
            ResponseCode::InvalidParameter,
            "queue numbers must be positive and perm in 0..=7",
        );
    }
    let existing = broker.topics.get(&h.topic);
    let modification = h.attributes.as_deref().unwrap_or_default();
    let attributes = match attributes::alter(existing.as_ref().map(|t| &t.attributes), modification) {
        Ok(a) => a,
        Err(e) => {
            warn!(topic = %h.topic, modification, error = %e, "topic attributes refused");
            return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string());
        }
    };
    if attributes.get(attributes::MESSAGE_TYPE).is_some_and(|t| t == "MIXED") {
        return RemotingCommand::error(req, ResponseCode::InvalidParameter, "MIXED message type is not supported.");
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: h.topic_filter_type.unwrap_or_else(|| "SINGLE_TAG".into()),
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order.unwrap_or(false),
        attributes,
    };
    if existing.as_ref() == Some(&config) {
        return RemotingCommand::success(req);
    }
    info!(topic = %config.topic_name, queues = config.write_queue_nums, perm = config.perm, "topic created or updated");
    broker.topics.upsert(config);
    broker.register_soon();
    RemotingCommand::success(req)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TopicConfigList {
    topic_config_list: Vec<TopicConfig>,
}

/// UPDATE_AND_CREATE_TOPIC_LIST (18).
pub fn create_topic_list(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let list: TopicConfigList = match from_json(&req.body) {
        Ok(l) => l,
        Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, format!("bad topic list body: {e}")),
    };
    for tc in &list.topic_config_list {
        if let Some(rejected) = check_topic_name(req, &tc.topic_name) {
            return rejected;
        }
    }
    for tc in list.topic_config_list {
        broker.topics.upsert(tc);
    }
    broker.register_soon();
    RemotingCommand::success(req)
}

/// DELETE_TOPIC_IN_BROKER (215).
pub fn delete_topic(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<TopicRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if broker.topics.remove(&h.topic) {
        broker.store.delete_topic(&h.topic);
        broker.offsets.remove_topic(&h.topic);
        info!(topic = %h.topic, "topic deleted");
        broker.register_soon();
    }
    RemotingCommand::success(req)
}

/// GET_ALL_TOPIC_CONFIG (21): everything in one page.
pub fn all_topic_config(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::success(req).with_body(to_json(&broker.topics.snapshot()))
}

/// GET_TOPIC_CONFIG (351).
pub fn topic_config(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<TopicRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    match broker.topics.get(&h.topic) {
        Some(tc) => RemotingCommand::success(req).with_body(to_json(&tc)),
        None => RemotingCommand::error(
            req,
            ResponseCode::TopicNotExist,
            format!("No topic in this broker. topic: {}", h.topic),
        ),
    }
}

/// GET_BROKER_CONFIG (26): `key=value` lines plus the config version header.
pub fn broker_config(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let mut pairs: std::collections::BTreeMap<String, String> = broker.config.display.iter().cloned().collect();
    for (k, v) in broker.config_overrides.read().unwrap_or_else(|e| e.into_inner()).iter() {
        pairs.insert(k.clone(), v.clone());
    }
    let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let version = String::from_utf8_lossy(&to_json(&broker.topics.data_version())).into_owned();
    RemotingCommand::success(req)
        .with_header(&BrokerConfigResponse { version: Some(version) })
        .with_body(text.into_bytes())
}

/// UPDATE_BROKER_CONFIG (25): records the new values; `brokerPermission` applies at once.
pub fn update_broker_config(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let text = String::from_utf8_lossy(&req.body);
    let mut props = match Properties::parse(&text) {
        Ok(p) => p,
        Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
    };
    if let Some(raw) = props.raw("brokerPermission") {
        match raw.parse::<i32>() {
            Ok(p) if (0..=7).contains(&p) => {
                if broker.permission.swap(p, Ordering::Relaxed) != p {
                    // The NameServers must see the new permission in every queue's perm.
                    broker.topics.bump_version();
                    broker.register_soon();
                }
            }
            _ => {
                return RemotingCommand::error(
                    req,
                    ResponseCode::InvalidParameter,
                    format!("invalid brokerPermission '{raw}'"),
                )
            }
        }
    }
    let mut overrides = broker.config_overrides.write().unwrap_or_else(|e| e.into_inner());
    for (k, v) in props.iter() {
        info!(key = %k, value = %v, "broker config updated");
        overrides.retain(|(key, _)| key != k);
        overrides.push((k.clone(), v.clone()));
    }
    RemotingCommand::success(req)
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200).
pub fn create_group(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    match from_json::<GroupConfig>(&req.body) {
        Ok(group) if rmq_remoting::message::validate_group(&group.group_name).is_ok() => {
            broker.groups.upsert(group);
            RemotingCommand::success(req)
        }
        Ok(group) => RemotingCommand::error(
            req,
            ResponseCode::InvalidParameter,
            format!("invalid group name '{}'", group.group_name),
        ),
        Err(e) => RemotingCommand::error(req, ResponseCode::SystemError, format!("bad subscription group body: {e}")),
    }
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201).
pub fn all_group_config(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::success(req).with_body(to_json(&broker.groups.snapshot()))
}

/// DELETE_SUBSCRIPTIONGROUP (207).
pub fn delete_group(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<DeleteGroupRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    broker.groups.remove(&h.group_name);
    if h.clean_offset.unwrap_or(false) {
        broker.offsets.remove_group(&h.group_name);
    }
    RemotingCommand::success(req)
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305).
pub fn system_topics(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let topic_list = broker
        .topics
        .snapshot()
        .topic_config_table
        .into_keys()
        .filter(|t| !send_allowed(t) || t.starts_with("rmq_sys_") || t == "TBW102" || t == "BenchmarkTest")
        .collect();
    RemotingCommand::success(req).with_body(to_json(&TopicList { topic_list, broker_addr: None }))
}

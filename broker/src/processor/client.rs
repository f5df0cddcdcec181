//! Client management: HEART_BEAT (34) registers producers and consumers (creating the group and
//! its `%RETRY%` topic), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38), and the one-way
//! NOTIFY_CONSUMER_IDS_CHANGED (40) sent to a group when its membership changes.

use std::time::Instant;

use rmq_remoting::protocol::body::{from_json, perm, to_json, ConsumerIdList, HeartbeatData};
use rmq_remoting::protocol::consumer::{ConsumerGroupHeader, UnregisterClientRequest};
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, info};

use super::bad_header;
use crate::clients::ClientChannel;
use crate::meta::topics::retry_topic;
use crate::runtime::Broker;

fn channel(conn: &Connection, req: &RemotingCommand, client_id: &str) -> ClientChannel {
    ClientChannel {
        conn: conn.clone(),
        client_id: client_id.to_owned(),
        language: req.language,
        version: req.version,
        last_seen: Instant::now(),
    }
}

/// Handles a heartbeat.
pub async fn heartbeat(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let data: HeartbeatData = match from_json(&req.body) {
        Ok(d) => d,
        Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, format!("bad heartbeat body: {e}")),
    };
    let mut topics_created = false;
    let mut changed_groups = Vec::new();
    for consumer in &data.consumer_data_set {
        let Some(group) = broker.groups.find_or_create(&consumer.group_name, broker.config.policy.auto_create_group)
        else {
            debug!(group = %consumer.group_name, "heartbeat from an unknown group; consumer not registered");
            continue;
        };
        let (_, created) =
            broker.topics.ensure(&retry_topic(&group.group_name), group.retry_queue_nums.max(1), perm::READ_WRITE);
        topics_created |= created;
        if broker.clients.register_consumer(channel(conn, req, &data.client_id), consumer) {
            info!(group = %consumer.group_name, client = %data.client_id, "consumer group changed");
            if consumer.message_model != "BROADCASTING" && group.notify_consumer_ids_changed_enable {
                changed_groups.push(consumer.group_name.clone());
            }
        }
    }
    for producer in &data.producer_data_set {
        broker.clients.register_producer(&producer.group_name, channel(conn, req, &data.client_id));
    }
    if topics_created {
        broker.register_soon();
    }
    for group in changed_groups {
        notify_consumer_ids_changed(broker, &group).await;
    }
    let mut resp = RemotingCommand::success(req);
    resp.ext_fields.insert("IS_SUPPORT_HEART_BEAT_V2", "true");
    resp.ext_fields.insert("IS_SUB_CHANGE", "true");
    resp
}

/// Handles UNREGISTER_CLIENT.
pub async fn unregister(broker: &Broker, conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    let header = match req.header::<UnregisterClientRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if let Some(group) = header.producer_group.as_deref() {
        broker.clients.unregister_producer(group, conn.id());
    }
    if let Some(group) = header.consumer_group.as_deref() {
        if broker.clients.unregister_consumer(group, conn.id()) {
            notify_consumer_ids_changed(broker, group).await;
        }
    }
    RemotingCommand::success(req)
}

/// Handles GET_CONSUMER_LIST_BY_GROUP.
pub fn consumer_list(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let header = match req.header::<ConsumerGroupHeader>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let ids = broker.clients.consumer_ids(&header.consumer_group);
    if ids.is_empty() {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("no consumer for this group, {}", header.consumer_group),
        );
    }
    RemotingCommand::success(req).with_body(to_json(&ConsumerIdList { consumer_id_list: ids }))
}

/// Tells every member of a clustering group to rebalance now (one-way).
pub async fn notify_consumer_ids_changed(broker: &Broker, group: &str) {
    let (connections, clustering) = broker.clients.consumer_connections(group);
    if !clustering {
        return;
    }
    let header = ConsumerGroupHeader { consumer_group: group.to_owned() };
    for conn in connections {
        let note = RemotingCommand::request(RequestCode::NotifyConsumerIdsChanged).with_header(&header);
        if let Err(e) = conn.oneway(note).await {
            debug!(%group, error = %e, "cannot notify consumer");
        }
    }
}

//! Read-only views for tools: runtime info, topic and consume statistics, connections and the
//! group/topic relations.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use rmq_remoting::protocol::admin::{GetConsumeStatsRequest, ProducerGroupHeader, TopicRequest};
use rmq_remoting::protocol::body::{
    to_json, ConsumeStats, GroupList, KvTable, MessageQueue, OffsetWrapper, TopicList, TopicOffset, TopicStatsTable,
};
use rmq_remoting::protocol::consumer::ConsumerGroupHeader;
use rmq_remoting::{RemotingCommand, ResponseCode};

use super::bad_header;
use crate::meta::now_ms;
use crate::runtime::Broker;

/// GET_BROKER_RUNTIME_INFO (28). Every value mqadmin parses as a number is numeric.
pub fn runtime_info(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let put = broker.stats.put_total.load(Ordering::Relaxed).to_string();
    let get = broker.stats.get_total.load(Ordering::Relaxed).to_string();
    let store = &broker.store;
    let mut table = HashMap::new();
    let mut set = |k: &str, v: String| {
        table.insert(k.to_owned(), v);
    };
    set("brokerVersionDesc", "V5_3_3".into());
    set("brokerVersion", rmq_remoting::command::CURRENT_VERSION.to_string());
    set("brokerActive", "true".into());
    set("bootTimestamp", broker.boot_ms.to_string());
    set("runtime", format!("[ {} ms ]", now_ms() - broker.boot_ms));
    for key in ["msgPutTotalYesterdayMorning", "msgPutTotalTodayMorning"] {
        set(key, "0".into());
    }
    for key in ["msgGetTotalYesterdayMorning", "msgGetTotalTodayMorning"] {
        set(key, "0".into());
    }
    set("msgPutTotalTodayNow", put);
    set("msgGetTotalTodayNow", get);
    for key in [
        "putTps",
        "getFoundTps",
        "getMissTps",
        "getTotalTps",
        "getTransferredTps",
        "sendThreadPoolQueueHeadWaitTimeMills",
    ] {
        set(key, "0.0 0.0 0.0".into());
    }
    for key in [
        "dispatchBehindBytes",
        "pageCacheLockTimeMills",
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueSize",
        "remainHowManyDataToFlush",
        "timerReadBehind",
        "timerOffsetBehind",
        "timerCongestNum",
        "timerEnqueueTps",
        "timerDequeueTps",
    ] {
        set(key, "0".into());
    }
    set("sendThreadPoolQueueCapacity", "10000".into());
    set("pullThreadPoolQueueCapacity", "100000".into());
    set("earliestMessageTimeStamp", broker.boot_ms.to_string());
    set("startAcceptSendRequestTimeStamp", "0".into());
    set("commitLogMinOffset", store.commit_log_min_offset().to_string());
    set("commitLogMaxOffset", store.commit_log_max_offset().to_string());
    set("commitLogDiskRatio", "0.0".into());
    set("consumeQueueDiskRatio", "0.0".into());
    set("commitLogDirCapacity", format!("Total : {}", broker.config.commit_log_dir.display()));
    RemotingCommand::success(req).with_body(to_json(&KvTable { table }))
}

fn queue_count(broker: &Broker, topic: &str) -> i32 {
    broker.topics.get(topic).map(|t| t.read_queue_nums.max(t.write_queue_nums)).unwrap_or(0)
}

fn last_store_time(broker: &Broker, topic: &str, queue_id: i32, next_offset: i64) -> i64 {
    if next_offset <= 0 {
        return 0;
    }
    broker.store.store_time(topic, queue_id, next_offset - 1).unwrap_or(0)
}

/// GET_TOPIC_STATS_INFO (202).
pub fn topic_stats(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<TopicRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    if broker.topics.get(&h.topic).is_none() {
        return RemotingCommand::error(req, ResponseCode::TopicNotExist, format!("topic[{}] not exist", h.topic));
    }
    let offset_table = (0..queue_count(broker, &h.topic))
        .map(|queue_id| {
            let max = broker.store.max_offset(&h.topic, queue_id);
            let mq = MessageQueue { topic: h.topic.clone(), broker_name: broker.config.broker_name.clone(), queue_id };
            let offsets = TopicOffset {
                min_offset: broker.store.min_offset(&h.topic, queue_id),
                max_offset: max,
                last_update_timestamp: last_store_time(broker, &h.topic, queue_id, max),
            };
            (mq, offsets)
        })
        .collect();
    RemotingCommand::success(req).with_body(TopicStatsTable { offset_table }.to_json())
}

/// GET_CONSUME_STATS (208): per-queue broker and consumer offsets of a group.
pub fn consume_stats(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<GetConsumeStatsRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let topics: BTreeSet<String> = match h.topic.filter(|t| !t.is_empty()) {
        Some(t) => BTreeSet::from([t]),
        None => broker
            .offsets
            .topics_of_group(&h.consumer_group)
            .into_iter()
            .chain(broker.clients.topics_of_group(&h.consumer_group))
            .collect(),
    };
    let mut offset_table = Vec::new();
    for topic in topics.iter().filter(|t| broker.topics.get(t).is_some()) {
        for queue_id in 0..queue_count(broker, topic) {
            let broker_offset = broker.store.max_offset(topic, queue_id);
            let consumer_offset = broker.offsets.get(&h.consumer_group, topic, queue_id).unwrap_or(0).max(0);
            let mq = MessageQueue { topic: topic.clone(), broker_name: broker.config.broker_name.clone(), queue_id };
            let wrapper = OffsetWrapper {
                broker_offset,
                consumer_offset,
                pull_offset: consumer_offset,
                last_timestamp: last_store_time(broker, topic, queue_id, consumer_offset),
            };
            offset_table.push((mq, wrapper));
        }
    }
    RemotingCommand::success(req).with_body(ConsumeStats { offset_table, consume_tps: 0.0 }.to_json())
}

/// GET_CONSUMER_CONNECTION_LIST (203).
pub fn consumer_connections(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ConsumerGroupHeader>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    match broker.clients.consumer_connection(&h.consumer_group) {
        Some(body) => RemotingCommand::success(req).with_body(to_json(&body)),
        None => RemotingCommand::error(
            req,
            ResponseCode::ConsumerNotOnline,
            format!("the consumer group[{}] not online", h.consumer_group),
        ),
    }
}

/// GET_PRODUCER_CONNECTION_LIST (204).
pub fn producer_connections(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<ProducerGroupHeader>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let body = broker.clients.producer_connection(&h.producer_group);
    if body.connection_set.is_empty() {
        return RemotingCommand::error(
            req,
            ResponseCode::SystemError,
            format!("the producer group[{}] not exist", h.producer_group),
        );
    }
    RemotingCommand::success(req).with_body(to_json(&body))
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300).
pub fn topic_consumed_by(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let h = match req.header::<TopicRequest>() {
        Ok(h) => h,
        Err(e) => return bad_header(req, e),
    };
    let groups: BTreeSet<String> = broker
        .offsets
        .groups_of_topic(&h.topic)
        .into_iter()
        .chain(broker.clients.groups_subscribing(&h.topic))
        .collect();
    RemotingCommand::success(req).with_body(to_json(&GroupList { group_list: groups.into_iter().collect() }))
}

/// QUERY_TOPICS_BY_CONSUMER (343).
pub fn topics_of_consumer(broker: &Broker, req: &RemotingCommand) -> RemotingCommand {
    let group = req.ext("group").unwrap_or_default().to_owned();
    let topics: BTreeSet<String> =
        broker.offsets.topics_of_group(&group).into_iter().chain(broker.clients.topics_of_group(&group)).collect();
    RemotingCommand::success(req)
        .with_body(to_json(&TopicList { topic_list: topics.into_iter().collect(), broker_addr: None }))
}

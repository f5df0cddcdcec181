//! Headers of the broker admin requests mqadmin sends: topics, groups, stats, connections.

use crate::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17) request header.
    pub struct CreateTopicRequest {
        topic: String => "topic",
        default_topic: Option<String> => "defaultTopic",
        read_queue_nums: i32 => "readQueueNums",
        write_queue_nums: i32 => "writeQueueNums",
        perm: i32 => "perm",
        topic_filter_type: Option<String> => "topicFilterType",
        topic_sys_flag: Option<i32> => "topicSysFlag",
        order: Option<bool> => "order",
        attributes: Option<String> => "attributes",
    }
}

command_header! {
    /// A request naming one topic (215 DELETE_TOPIC_IN_BROKER, 202 GET_TOPIC_STATS_INFO,
    /// 300 QUERY_TOPIC_CONSUME_BY_WHO).
    pub struct TopicRequest { topic: String => "topic" }
}

command_header! {
    /// GET_CONSUME_STATS (208) request header.
    pub struct GetConsumeStatsRequest {
        consumer_group: String => "consumerGroup",
        topic: Option<String> => "topic",
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) request header.
    pub struct ProducerGroupHeader { producer_group: String => "producerGroup" }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207) request header.
    pub struct DeleteGroupRequest { group_name: String => "groupName", clean_offset: Option<bool> => "cleanOffset" }
}

command_header! {
    /// GET_BROKER_CONFIG (26) response header: the config DataVersion as JSON.
    pub struct BrokerConfigResponse { version: Option<String> => "version" }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220) header.
    pub struct ResetOffsetRequest {
        topic: String => "topic",
        group: String => "group",
        timestamp: i64 => "timestamp",
        is_force: Option<bool> => "isForce",
        queue_id: Option<i32> => "queueId",
        offset: Option<i64> => "offset",
    }
}

//! Headers of the consume path: pull, offsets, consumer lists, queries by offset/time/id/key.

use crate::command_header;

/// `PullSysFlag` bits of a pull request.
pub mod pull_flag {
    /// Persist `commitOffset` for the group.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// The request carries its own subscription expression.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Legacy class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Lite pull.
    pub const LITE_PULL: i32 = 0x10;
}

command_header! {
    /// PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361) request header.
    pub struct PullMessageRequest {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        max_msg_nums: i32 => "maxMsgNums",
        sys_flag: i32 => "sysFlag",
        commit_offset: Option<i64> => "commitOffset",
        suspend_timeout_millis: Option<i64> => "suspendTimeoutMillis",
        subscription: Option<String> => "subscription",
        sub_version: Option<i64> => "subVersion",
        expression_type: Option<String> => "expressionType",
        max_msg_bytes: Option<i32> => "maxMsgBytes",
    }
}

command_header! {
    /// Pull response header; all four fields are required by the Java client on every pull answer.
    pub struct PullMessageResponse {
        suggest_which_broker_id: i64 => "suggestWhichBrokerId",
        next_begin_offset: i64 => "nextBeginOffset",
        min_offset: i64 => "minOffset",
        max_offset: i64 => "maxOffset",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request header.
    pub struct QueryConsumerOffsetRequest {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request header.
    pub struct UpdateConsumerOffsetRequest {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        commit_offset: i64 => "commitOffset",
    }
}

command_header! {
    /// A response carrying one `offset` (14, 29, 30, 31).
    pub struct OffsetResponse { offset: i64 => "offset" }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) and NOTIFY_CONSUMER_IDS_CHANGED (40) header.
    pub struct ConsumerGroupHeader { consumer_group: String => "consumerGroup" }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request header.
    pub struct UnregisterClientRequest {
        client_id: String => "clientID",
        producer_group: Option<String> => "producerGroup",
        consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32) header.
    pub struct QueueRequest { topic: String => "topic", queue_id: i32 => "queueId" }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response header.
    pub struct TimestampResponse { timestamp: i64 => "timestamp" }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request header.
    pub struct SearchOffsetRequest {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        timestamp: i64 => "timestamp",
        boundary_type: Option<String> => "boundaryType",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request header.
    pub struct ViewMessageRequest { topic: Option<String> => "topic", offset: i64 => "offset" }
}

command_header! {
    /// QUERY_MESSAGE (12) request header.
    pub struct QueryMessageRequest {
        topic: String => "topic",
        key: String => "key",
        max_num: i32 => "maxNum",
        begin_timestamp: i64 => "beginTimestamp",
        end_timestamp: i64 => "endTimestamp",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response header.
    pub struct QueryMessageResponse {
        index_last_update_timestamp: i64 => "indexLastUpdateTimestamp",
        index_last_update_phyoffset: i64 => "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request header.
    pub struct ConsumerSendMsgBackRequest {
        offset: i64 => "offset",
        group: String => "group",
        delay_level: i32 => "delayLevel",
        origin_msg_id: Option<String> => "originMsgId",
        origin_topic: Option<String> => "originTopic",
        unit_mode: Option<bool> => "unitMode",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
    }
}

//! Headers of the produce path: SEND_MESSAGE (long keys), SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE
//! (single-letter keys), their response, and END_TRANSACTION.

use crate::command_header;

command_header! {
    /// SEND_MESSAGE (10) request header, with Java's long field names.
    pub struct SendMessageRequest {
        producer_group: String => "producerGroup",
        topic: String => "topic",
        default_topic: Option<String> => "defaultTopic",
        default_topic_queue_nums: Option<i32> => "defaultTopicQueueNums",
        queue_id: i32 => "queueId",
        sys_flag: i32 => "sysFlag",
        born_timestamp: i64 => "bornTimestamp",
        flag: i32 => "flag",
        properties: Option<String> => "properties",
        reconsume_times: Option<i32> => "reconsumeTimes",
        unit_mode: Option<bool> => "unitMode",
        batch: Option<bool> => "batch",
        max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        broker_name: Option<String> => "bname",
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and SEND_REPLY_MESSAGE_V2 (325) request
    /// header: the same fields as [`SendMessageRequest`] under single-letter keys.
    pub struct SendMessageRequestV2 {
        producer_group: String => "a",
        topic: String => "b",
        default_topic: Option<String> => "c",
        default_topic_queue_nums: Option<i32> => "d",
        queue_id: i32 => "e",
        sys_flag: i32 => "f",
        born_timestamp: i64 => "g",
        flag: i32 => "h",
        properties: Option<String> => "i",
        reconsume_times: Option<i32> => "j",
        unit_mode: Option<bool> => "k",
        max_reconsume_times: Option<i32> => "l",
        batch: Option<bool> => "m",
        broker_name: Option<String> => "n",
    }
}

impl From<SendMessageRequestV2> for SendMessageRequest {
    fn from(v: SendMessageRequestV2) -> Self {
        SendMessageRequest {
            producer_group: v.producer_group,
            topic: v.topic,
            default_topic: v.default_topic,
            default_topic_queue_nums: v.default_topic_queue_nums,
            queue_id: v.queue_id,
            sys_flag: v.sys_flag,
            born_timestamp: v.born_timestamp,
            flag: v.flag,
            properties: v.properties,
            reconsume_times: v.reconsume_times,
            unit_mode: v.unit_mode,
            batch: v.batch,
            max_reconsume_times: v.max_reconsume_times,
            broker_name: v.broker_name,
        }
    }
}

impl From<SendMessageRequest> for SendMessageRequestV2 {
    fn from(v: SendMessageRequest) -> Self {
        SendMessageRequestV2 {
            producer_group: v.producer_group,
            topic: v.topic,
            default_topic: v.default_topic,
            default_topic_queue_nums: v.default_topic_queue_nums,
            queue_id: v.queue_id,
            sys_flag: v.sys_flag,
            born_timestamp: v.born_timestamp,
            flag: v.flag,
            properties: v.properties,
            reconsume_times: v.reconsume_times,
            unit_mode: v.unit_mode,
            batch: v.batch,
            max_reconsume_times: v.max_reconsume_times,
            broker_name: v.broker_name,
        }
    }
}

command_header! {
    /// Response header of every SEND_* request.
    pub struct SendMessageResponse {
        msg_id: String => "msgId",
        queue_id: i32 => "queueId",
        queue_offset: i64 => "queueOffset",
        transaction_id: Option<String> => "transactionId",
        batch_uniq_id: Option<String> => "batchUniqId",
    }
}

command_header! {
    /// END_TRANSACTION (37) request header.
    pub struct EndTransactionRequest {
        topic: Option<String> => "topic",
        producer_group: String => "producerGroup",
        tran_state_table_offset: i64 => "tranStateTableOffset",
        commit_log_offset: i64 => "commitLogOffset",
        commit_or_rollback: i32 => "commitOrRollback",
        from_transaction_check: Option<bool> => "fromTransactionCheck",
        msg_id: String => "msgId",
        transaction_id: Option<String> => "transactionId",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39) header, sent by the broker to a producer.
    pub struct CheckTransactionStateRequest {
        topic: Option<String> => "topic",
        tran_state_table_offset: i64 => "tranStateTableOffset",
        commit_log_offset: i64 => "commitLogOffset",
        msg_id: Option<String> => "msgId",
        transaction_id: Option<String> => "transactionId",
        offset_msg_id: Option<String> => "offsetMsgId",
    }
}

command_header! {
    /// PUSH_REPLY_MESSAGE_TO_CLIENT (326) header: the fields of [`SendMessageRequest`] (long keys)
    /// plus where and when the reply was stored.
    pub struct ReplyMessageExtras {
        born_host: String => "bornHost",
        store_host: String => "storeHost",
        store_timestamp: i64 => "storeTimestamp",
    }
}

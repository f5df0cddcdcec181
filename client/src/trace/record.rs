//! Apache RocketMQ's message trace records (Java `TraceDataEncoder`): fields separated by
//! `\u{1}`, records ended by `\u{2}`, several records per trace message body. A record is keyed
//! by its message id and business keys (Java `TraceTransferBean.transKey`), which is how
//! `mqadmin queryMsgTraceById` finds it.

use rmq_remoting::message::keys::KEY_SEPARATOR;

const FIELD: char = '\u{1}';
const END: char = '\u{2}';

/// The kind of message a send trace describes (Java `MessageType`, written as its ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMessageType {
    /// An ordinary message.
    Normal = 0,
    /// A transaction's half message.
    TransactionHalf = 1,
    /// A committed transaction message.
    TransactionCommit = 2,
    /// A delayed message (delay level or timer).
    Delay = 3,
    /// An ordered message.
    Order = 4,
}

impl TraceMessageType {
    fn from_ordinal(n: i64) -> Option<Self> {
        [Self::Normal, Self::TransactionHalf, Self::TransactionCommit, Self::Delay, Self::Order]
            .into_iter()
            .find(|t| *t as i64 == n)
    }
}

/// A send (`Pub`): written after the broker accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubTrace {
    /// When the send started (ms).
    pub timestamp: i64,
    /// The broker's region (`MSG_REGION`).
    pub region_id: String,
    /// Producer group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Message id (`UNIQ_KEY`).
    pub msg_id: String,
    /// Tag (Java writes `null` when there is none).
    pub tags: String,
    /// Keys, space-separated (`null` when none).
    pub keys: String,
    /// Address of the broker that stored it.
    pub store_host: String,
    /// Body length as sent.
    pub body_length: i32,
    /// Duration of the send (ms).
    pub cost_ms: i32,
    /// Kind of message.
    pub msg_type: TraceMessageType,
    /// The broker's offset message id.
    pub offset_msg_id: String,
    /// Whether the broker answered SEND_OK.
    pub success: bool,
}

/// A delivery to a consumer's listener (`SubBefore`), one per message of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubBeforeTrace {
    /// When the listener was called (ms).
    pub timestamp: i64,
    /// Region of the message (`MSG_REGION`).
    pub region_id: String,
    /// Consumer group.
    pub group: String,
    /// Id shared by the `SubBefore` and `SubAfter` records of one listener call.
    pub request_id: String,
    /// Message id.
    pub msg_id: String,
    /// Deliveries before this one (`reconsumeTimes`).
    pub retry_times: i32,
    /// Keys (`null` when none).
    pub keys: String,
}

/// The listener's verdict (`SubAfter`), one per message of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAfterTrace {
    /// The `request_id` of the matching `SubBefore`.
    pub request_id: String,
    /// Message id.
    pub msg_id: String,
    /// Listener time per message (ms).
    pub cost_ms: i32,
    /// Whether the listener succeeded.
    pub success: bool,
    /// Keys (`null` when none).
    pub keys: String,
    /// Java `ConsumeReturnType` ordinal: 0 success, 2 exception, 4 failed.
    pub context_code: i32,
    /// When the listener returned (ms); absent in records of old clients.
    pub timestamp: Option<i64>,
    /// Consumer group; absent in records of old clients.
    pub group: Option<String>,
}

/// One trace record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceRecord {
    /// A send.
    Pub(PubTrace),
    /// A delivery to a listener.
    SubBefore(SubBeforeTrace),
    /// A listener's verdict.
    SubAfter(SubAfterTrace),
}

impl TraceRecord {
    /// The message id the record is about.
    pub fn msg_id(&self) -> &str {
        match self {
            TraceRecord::Pub(r) => &r.msg_id,
            TraceRecord::SubBefore(r) => &r.msg_id,
            TraceRecord::SubAfter(r) => &r.msg_id,
        }
    }

    fn keys(&self) -> &str {
        match self {
            TraceRecord::Pub(r) => &r.keys,
            TraceRecord::SubBefore(r) => &r.keys,
            TraceRecord::SubAfter(r) => &r.keys,
        }
    }

    /// The keys the trace message is indexed by: the message id and the message's own keys.
    pub fn index_keys(&self) -> Vec<String> {
        let mut out = vec![self.msg_id().to_owned()];
        let keys = self.keys();
        if !keys.is_empty() && keys != "null" {
            out.extend(keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty()).map(str::to_owned));
        }
        out
    }

    /// Appends the record in Apache's format (ending with its `\u{2}`).
    pub fn encode_into(&self, out: &mut String) {
        let fields: Vec<String> = match self {
            TraceRecord::Pub(r) => vec![
                "Pub".into(),
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group.clone(),
                r.topic.clone(),
                r.msg_id.clone(),
                r.tags.clone(),
                r.keys.clone(),
                r.store_host.clone(),
                r.body_length.to_string(),
                r.cost_ms.to_string(),
                (r.msg_type as i32).to_string(),
                r.offset_msg_id.clone(),
                r.success.to_string(),
            ],
            TraceRecord::SubBefore(r) => vec![
                "SubBefore".into(),
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group.clone(),
                r.request_id.clone(),
                r.msg_id.clone(),
                r.retry_times.to_string(),
                r.keys.clone(),
            ],
            TraceRecord::SubAfter(r) => {
                let mut f = vec![
                    "SubAfter".into(),
                    r.request_id.clone(),
                    r.msg_id.clone(),
                    r.cost_ms.to_string(),
                    r.success.to_string(),
                    r.keys.clone(),
                    r.context_code.to_string(),
                ];
                if let (Some(ts), Some(group)) = (r.timestamp, &r.group) {
                    f.push(ts.to_string());
                    f.push(group.clone());
                }
                f
            }
        };
        out.push_str(&fields.join(&FIELD.to_string()));
        out.push(END);
    }

    /// Decodes every record of a trace message body; records of other kinds (`EndTransaction`,
    /// `Recall`) and malformed ones are skipped.
    pub fn decode_all(data: &str) -> Vec<TraceRecord> {
        data.split(END).filter(|r| !r.is_empty()).filter_map(Self::decode).collect()
    }

    fn decode(record: &str) -> Option<TraceRecord> {
        let f: Vec<&str> = record.split(FIELD).collect();
        let s = |i: usize| f.get(i).map(|v| (*v).to_owned());
        let int = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok());
        let flag = |i: usize| f.get(i).map(|v| *v == "true");
        match *f.first()? {
            "Pub" => Some(TraceRecord::Pub(PubTrace {
                timestamp: int(1)?,
                region_id: s(2)?,
                group: s(3)?,
                topic: s(4)?,
                msg_id: s(5)?,
                tags: s(6)?,
                keys: s(7)?,
                store_host: s(8)?,
                body_length: int(9)? as i32,
                cost_ms: int(10)? as i32,
                msg_type: TraceMessageType::from_ordinal(int(11)?)?,
                // 13 fields: no offset id; 14 or more: offset id then success.
                offset_msg_id: if f.len() >= 14 { s(12)? } else { String::new() },
                success: if f.len() >= 14 { flag(13)? } else { flag(12)? },
            })),
            "SubBefore" => Some(TraceRecord::SubBefore(SubBeforeTrace {
                timestamp: int(1)?,
                region_id: s(2)?,
                group: s(3)?,
                request_id: s(4)?,
                msg_id: s(5)?,
                retry_times: int(6)? as i32,
                keys: s(7)?,
            })),
            "SubAfter" => Some(TraceRecord::SubAfter(SubAfterTrace {
                request_id: s(1)?,
                msg_id: s(2)?,
                cost_ms: int(3)? as i32,
                success: flag(4)?,
                keys: s(5)?,
                context_code: int(6).unwrap_or(0) as i32,
                timestamp: if f.len() >= 9 { int(7) } else { None },
                group: if f.len() >= 9 { s(8) } else { None },
            })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_the_java_layout() {
        let pub_trace = TraceRecord::Pub(PubTrace {
            timestamp: 1,
            region_id: "DefaultRegion".into(),
            group: "pg".into(),
            topic: "T".into(),
            msg_id: "M".into(),
            tags: "null".into(),
            keys: "k1 k2".into(),
            store_host: "127.0.0.1:10911".into(),
            body_length: 5,
            cost_ms: 3,
            msg_type: TraceMessageType::Normal,
            offset_msg_id: "O".into(),
            success: true,
        });
        let after = TraceRecord::SubAfter(SubAfterTrace {
            request_id: "R".into(),
            msg_id: "M".into(),
            cost_ms: 0,
            success: false,
            keys: "null".into(),
            context_code: 4,
            timestamp: Some(9),
            group: Some("cg".into()),
        });
        let mut data = String::new();
        pub_trace.encode_into(&mut data);
        after.encode_into(&mut data);
        assert_eq!(
            data,
            "Pub\u{1}1\u{1}DefaultRegion\u{1}pg\u{1}T\u{1}M\u{1}null\u{1}k1 k2\u{1}127.0.0.1:10911\u{1}5\u{1}3\u{1}0\u{1}O\u{1}true\u{2}\
             SubAfter\u{1}R\u{1}M\u{1}0\u{1}false\u{1}null\u{1}4\u{1}9\u{1}cg\u{2}"
        );
        assert_eq!(TraceRecord::decode_all(&data), vec![pub_trace.clone(), after.clone()]);
        assert_eq!(pub_trace.index_keys(), ["M", "k1", "k2"]);
        assert_eq!(after.index_keys(), ["M"]);
    }

    #[test]
    fn unknown_and_malformed_records_are_skipped() {
        let data = "Recall\u{1}1\u{2}Pub\u{1}notanumber\u{2}SubAfter\u{1}R\u{1}M\u{1}1\u{1}true\u{1}k\u{2}";
        let got = TraceRecord::decode_all(data);
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0], TraceRecord::SubAfter(a) if a.timestamp.is_none() && a.context_code == 0));
    }
}

//! JSON bodies, as fastjson writes and reads them. Field names follow Java getters; every
//! collection defaults to empty (never `null`), and unknown properties are ignored.
//!
//! Maps keyed by `MessageQueue` use fastjson's non-standard object-as-key form, written by
//! [`mq_map`]; standard JSON serializers cannot produce it.

mod admin;
mod group;
mod heartbeat;
mod lenient;
mod route;
mod topic;

pub use admin::*;
pub use group::*;
pub use heartbeat::*;
pub use lenient::{from_fastjson, mq_entries, quote_numeric_keys};
pub use route::*;
pub use topic::*;

use serde::{de::DeserializeOwned, Serialize};

/// Serializes a body to JSON bytes.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Body types contain only strings, numbers, booleans, maps with string/number keys and
    // sequences, which always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Parses a JSON body.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Writes a `Map<MessageQueue, V>` the way fastjson does: `{{"brokerName":..,"queueId":..,"topic":..}:V,…}`.
pub fn mq_map<V: Serialize>(entries: &[(MessageQueue, V)]) -> String {
    let mut out = String::from("{");
    for (i, (mq, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&String::from_utf8_lossy(&to_json(mq)));
        out.push(':');
        out.push_str(&String::from_utf8_lossy(&to_json(v)));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mq_map_uses_objects_as_keys() {
        let mq = MessageQueue { topic: "t".into(), broker_name: "b".into(), queue_id: 0 };
        assert_eq!(mq_map(&[(mq, 5i64)]), r#"{{"brokerName":"b","queueId":0,"topic":"t"}:5}"#);
    }
}

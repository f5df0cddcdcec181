//! Reading fastjson output that is not standard JSON: Java maps with `Integer`/`Long` keys are
//! written with unquoted numeric keys (`{"offsetTable":{"t@g":{0:42,1:40}}}` in Apache's
//! `consumerOffset.json`, `brokerAddrs` in old route bodies), and maps keyed by objects
//! (`{"offsetTable":{{"brokerName":"a","queueId":0,"topic":"t"}:42}}` for `MessageQueue` keys).
//! [`from_fastjson`] quotes such keys (an object key becomes its JSON text as a string, see
//! [`mq_entries`]) and then parses normally.

use serde::de::DeserializeOwned;

/// Rewrites unquoted numeric object keys (`{0:` / `,12:`) as strings; everything inside string
/// literals is left untouched.
pub fn quote_numeric_keys(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    let mut in_string = false;
    let mut after_open_or_comma = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' && i + 1 < bytes.len() {
                out.push_str(&text[i..i + 2]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
            after_open_or_comma = false;
        } else if after_open_or_comma && (c == b'-' || c.is_ascii_digit()) {
            let start = i;
            let mut end = i + 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let mut colon = end;
            while colon < bytes.len() && bytes[colon].is_ascii_whitespace() {
                colon += 1;
            }
            if colon < bytes.len() && bytes[colon] == b':' {
                out.push('"');
                out.push_str(&text[start..end]);
                out.push('"');
                i = end;
                after_open_or_comma = false;
                continue;
            }
            after_open_or_comma = false;
        } else if after_open_or_comma && c == b'{' {
            if let Some(end) = object_key_end(bytes, i) {
                // An object used as a map key: emit its text as a JSON string.
                out.push_str(&serde_json::Value::String(text[i..end].to_owned()).to_string());
                i = end;
                after_open_or_comma = false;
                continue;
            }
            // An ordinary nested object: its first key follows this brace.
        } else if c == b'{' || c == b',' {
            after_open_or_comma = true;
        } else if !c.is_ascii_whitespace() {
            after_open_or_comma = false;
        }
        // Multi-byte UTF-8 only occurs inside strings, which are copied byte-run by byte-run.
        let len = utf8_len(c);
        out.push_str(&text[i..(i + len).min(text.len())]);
        i += len;
    }
    out
}

/// If the object starting at `start` is followed by `:`, the index just past its closing brace.
fn object_key_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                let end = i + 1;
                let mut j = end;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                return (j < bytes.len() && bytes[j] == b':').then_some(end);
            }
        }
        i += 1;
    }
    None
}

/// Turns a map read by [`from_fastjson`] whose keys were `MessageQueue` objects into entries;
/// keys that are not a `MessageQueue` are skipped.
pub fn mq_entries<V>(map: impl IntoIterator<Item = (String, V)>) -> Vec<(super::MessageQueue, V)> {
    let mut out: Vec<_> =
        map.into_iter().filter_map(|(k, v)| serde_json::from_str(&k).ok().map(|mq| (mq, v))).collect();
    out.sort_by(|a: &(super::MessageQueue, V), b| a.0.cmp(&b.0));
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Parses fastjson output (standard JSON, or with unquoted numeric keys).
pub fn from_fastjson<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => {
            let Ok(text) = std::str::from_utf8(bytes) else { return Err(first) };
            serde_json::from_str(&quote_numeric_keys(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn apache_consumer_offset_file_parses() {
        let text =
            r#"{"offsetTable":{"TopicTest@group1":{0:42,1:40},"%RETRY%g@g":{ 0 : 3}},"dataVersion":{"counter":1}}"#;
        let v: serde_json::Value = from_fastjson(text.as_bytes()).expect("parses");
        assert_eq!(v["offsetTable"]["TopicTest@group1"]["1"], 40);
        assert_eq!(v["offsetTable"]["%RETRY%g@g"]["0"], 3);
    }

    #[test]
    fn numbers_inside_strings_and_values_are_untouched() {
        let text = r#"{"a":"{0:1,2:3}","b":[1,2],"c":{-1:"x"},"d":"é,5:"}"#;
        let v: BTreeMap<String, serde_json::Value> = from_fastjson(text.as_bytes()).expect("parses");
        assert_eq!(v["a"], "{0:1,2:3}");
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        assert_eq!(v["c"]["-1"], "x");
        assert_eq!(v["d"], "é,5:");
    }

    #[test]
    fn standard_json_is_unchanged() {
        let text = r#"{"brokerAddrs":{"0":"127.0.0.1:10911"}}"#;
        assert_eq!(quote_numeric_keys(text), text);
    }

    #[test]
    fn message_queue_keys_become_entries() {
        let text = r#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"t"}:{"brokerOffset":9},{"brokerName":"a","queueId":0,"topic":"t"}:{"brokerOffset":4}},"list":[{"x":1},{"y":2}]}"#;
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(rename = "offsetTable")]
            offset_table: BTreeMap<String, serde_json::Value>,
            list: Vec<serde_json::Value>,
        }
        let body: Body = from_fastjson(text.as_bytes()).expect("parses");
        let entries = mq_entries(body.offset_table);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].0.broker_name.as_str(), entries[0].1["brokerOffset"].as_i64()), ("a", Some(4)));
        assert_eq!((entries[1].0.queue_id, entries[1].1["brokerOffset"].as_i64()), (1, Some(9)));
        assert_eq!(body.list.len(), 2);
    }
}

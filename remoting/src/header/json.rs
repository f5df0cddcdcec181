//! JSON header, as Java's fastjson writes it: keys sorted, nulls omitted, enums by name.
//!
//! Decoding is lenient: every field but `code` may be absent (C++ and Node clients omit some),
//! ext-field values may be strings, numbers or booleans, and unknown keys are ignored.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::Error;

#[derive(Deserialize)]
struct WireIn {
    code: Option<i32>,
    language: Option<String>,
    version: Option<i32>,
    opaque: Option<i32>,
    flag: Option<i32>,
    remark: Option<String>,
    #[serde(rename = "extFields", default)]
    ext_fields: LenientFields,
}

/// `extFields` read straight into [`ExtFields`]: string values as they are, numbers and
/// booleans as their text, nulls dropped, any other value as its JSON text.
#[derive(Default)]
struct LenientFields(ExtFields);

impl<'de> Deserialize<'de> for LenientFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = LenientFields;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of header fields, or null")
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<LenientFields, E> {
                Ok(LenientFields::default())
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LenientFields, A::Error> {
                let mut fields = ExtFields::with_capacity(map.size_hint().unwrap_or(16).min(64));
                while let Some((key, value)) = map.next_entry::<String, FieldValue>()? {
                    if let Some(value) = value.0 {
                        fields.insert(key, value);
                    }
                }
                Ok(LenientFields(fields))
            }
        }
        deserializer.deserialize_any(Fields)
    }
}

/// One ext-field value as text (`None` for null).
struct FieldValue(Option<String>);

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(FieldValue(match Value::deserialize(deserializer)? {
            Value::String(s) => Some(s),
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        }))
    }
}

#[derive(Serialize)]
struct WireOut<'a> {
    code: i32,
    #[serde(rename = "extFields", skip_serializing_if = "Option::is_none")]
    ext_fields: Option<&'a ExtFields>,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'static str,
    version: i32,
}

/// Decodes a JSON header; the body is attached by the caller.
pub fn decode(header: &[u8], body: Bytes) -> Result<RemotingCommand, Error> {
    let wire: WireIn = serde_json::from_slice(header).map_err(|e| Error::Malformed(format!("json header: {e}")))?;
    let code = wire.code.ok_or_else(|| Error::Malformed("json header has no code".into()))?;
    let ext_fields = wire.ext_fields.0;
    Ok(RemotingCommand {
        code,
        language: wire.language.as_deref().map(LanguageCode::from_name).unwrap_or_default(),
        version: wire.version.unwrap_or(0),
        opaque: wire.opaque.unwrap_or(0),
        flag: wire.flag.unwrap_or(0),
        remark: wire.remark,
        ext_fields,
        body,
        serialize_type: SerializeType::Json,
    })
}

/// Encodes the header of `cmd` as JSON.
pub fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    let wire = WireOut {
        code: cmd.code,
        ext_fields: (!cmd.ext_fields.is_empty()).then_some(&cmd.ext_fields),
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type: "JSON",
        version: cmd.version,
    };
    // Serializing plain strings and integers cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    #[test]
    fn java_send_header_decodes() {
        let raw = br#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","e":"1","i":"TAGS\u0001TagA\u0002"},"flag":0,"language":"JAVA","opaque":57,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let cmd = decode(raw, Bytes::new()).expect("decodes");
        assert_eq!(cmd.request_code(), RequestCode::SendMessageV2);
        assert_eq!(cmd.opaque, 57);
        assert_eq!(cmd.language, LanguageCode::Java);
        assert_eq!(cmd.ext("i"), Some("TAGS\u{1}TagA\u{2}"));
    }

    #[test]
    fn header_with_only_code_decodes_with_defaults() {
        let cmd = decode(br#"{"code":105}"#, Bytes::new()).expect("decodes");
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.opaque, 0);
        assert!(cmd.ext_fields.is_empty());
    }

    #[test]
    fn non_string_ext_values_become_strings() {
        let cmd = decode(br#"{"code":1,"extFields":{"n":5,"b":true,"z":null}}"#, Bytes::new()).expect("decodes");
        assert_eq!(cmd.ext("n"), Some("5"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert_eq!(cmd.ext("z"), None);
        let cmd = decode(br#"{"code":1,"extFields":null}"#, Bytes::new()).expect("null fields decode");
        assert!(cmd.ext_fields.is_empty());
        assert!(decode(br#"{"code":1,"extFields":[1]}"#, Bytes::new()).is_err(), "fields must be an object");
    }

    #[test]
    fn header_without_code_is_malformed() {
        assert!(decode(br#"{"opaque":1}"#, Bytes::new()).is_err());
        assert!(decode(b"{not json", Bytes::new()).is_err());
    }

    #[test]
    fn encoded_response_always_carries_code_flag_and_opaque() {
        let req = RemotingCommand::request(RequestCode::HeartBeat);
        let resp = RemotingCommand::success(&req);
        let text = String::from_utf8(encode(&resp)).expect("utf8");
        assert!(text.contains("\"code\":0"));
        assert!(text.contains("\"flag\":1"));
        assert!(text.contains(&format!("\"opaque\":{}", req.opaque)));
    }
}

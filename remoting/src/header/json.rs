//! JSON header, as Java's fastjson writes it: keys sorted, nulls omitted, enums by name.
//!
//! Decoding is lenient: every field but `code` may be absent (C++ and Node clients omit some),
//! ext-field values may be strings, numbers or booleans, and unknown keys are ignored. Headers
//! are read by the one-pass scanner of [`super::json_scan`]; what it leaves (unusual or malformed
//! JSON) serde reads, and serde's answer stands.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::json_scan;
use crate::command::{LanguageCode, RemotingCommand, SerializeType};
use crate::error::Error;
use crate::ext_fields::ExtFields;

/// Decodes a JSON header; the body is attached by the caller. Ext fields stay ranges of
/// `header`'s buffer.
pub fn decode(header: Bytes, body: Bytes) -> Result<RemotingCommand, Error> {
    match ByteString::try_from(header.clone()) {
        Ok(text) => match decode_fast(&text, body.clone()) {
            Some(cmd) => Ok(cmd),
            None => decode_serde(text.as_bytes(), body),
        },
        // serde reads a header whose ignored parts are not UTF-8, as before.
        Err(_) => decode_serde(&header, body),
    }
}

/// The scanner's reading of `header`, or `None` where it leaves the header to serde. Public for
/// the fuzz target that compares both readings.
#[doc(hidden)]
pub fn decode_fast(header: &ByteString, body: Bytes) -> Option<RemotingCommand> {
    let scanned = json_scan::scan(header)?;
    Some(RemotingCommand {
        code: scanned.code?,
        language: scanned.language.unwrap_or_default(),
        version: scanned.version.unwrap_or(0),
        opaque: scanned.opaque.unwrap_or(0),
        flag: scanned.flag.unwrap_or(0),
        remark: scanned.remark,
        ext_fields: scanned.ext_fields,
        body,
        serialize_type: SerializeType::Json,
    })
}

/// serde's reading of `header`.
#[doc(hidden)]
pub fn decode_serde(header: &[u8], body: Bytes) -> Result<RemotingCommand, Error> {
    let wire: WireIn<'_> = serde_json::from_slice(header).map_err(|e| Error::Malformed(format!("json header: {e}")))?;
    let code = wire.code.ok_or_else(|| Error::Malformed("json header has no code".into()))?;
    let mut ext_fields = ExtFields::new();
    for (key, value) in &wire.ext_fields.0 {
        ext_fields.push_text(key, value);
    }
    ext_fields.dedup_arrived();
    Ok(RemotingCommand {
        code,
        language: wire.language.map(|l| l.0).unwrap_or_default(),
        version: wire.version.unwrap_or(0),
        opaque: wire.opaque.unwrap_or(0),
        flag: wire.flag.unwrap_or(0),
        remark: wire.remark,
        ext_fields,
        body,
        serialize_type: SerializeType::Json,
    })
}

/// Appends the header of `cmd`, as JSON with keys in fastjson's (sorted) order, to `dst`.
pub fn encode_into(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let mut ints = itoa::Buffer::new();
    dst.put_slice(b"{\"code\":");
    dst.put_slice(ints.format(cmd.code).as_bytes());
    if !cmd.ext_fields.is_empty() {
        dst.put_slice(b",\"extFields\":{");
        for (i, (key, value)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b',');
            }
            put_string(dst, key);
            dst.put_u8(b':');
            put_string(dst, value);
        }
        dst.put_u8(b'}');
    }
    dst.put_slice(b",\"flag\":");
    dst.put_slice(ints.format(cmd.flag).as_bytes());
    dst.put_slice(b",\"language\":\"");
    dst.put_slice(cmd.language.name().as_bytes());
    dst.put_slice(b"\",\"opaque\":");
    dst.put_slice(ints.format(cmd.opaque).as_bytes());
    if let Some(remark) = &cmd.remark {
        dst.put_slice(b",\"remark\":");
        put_string(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    dst.put_slice(ints.format(cmd.version).as_bytes());
    dst.put_u8(b'}');
}

/// The header of `cmd` as JSON.
pub fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_into(cmd, &mut out);
    out.to_vec()
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped, as serde_json does.
fn put_string(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    let mut rest = s.as_bytes();
    // Runs without anything to escape are copied whole; most strings are one run.
    while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        dst.put_slice(&rest[..at]);
        match rest[at] {
            b'"' => dst.put_slice(b"\\\""),
            b'\\' => dst.put_slice(b"\\\\"),
            b'\n' => dst.put_slice(b"\\n"),
            b'\r' => dst.put_slice(b"\\r"),
            b'\t' => dst.put_slice(b"\\t"),
            0x08 => dst.put_slice(b"\\b"),
            0x0c => dst.put_slice(b"\\f"),
            b => dst.put_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]),
        }
        rest = &rest[at + 1..];
    }
    dst.put_slice(rest);
    dst.put_u8(b'"');
}

#[derive(Deserialize)]
struct WireIn<'a> {
    code: Option<i32>,
    language: Option<Language>,
    version: Option<i32>,
    opaque: Option<i32>,
    flag: Option<i32>,
    remark: Option<String>,
    #[serde(rename = "extFields", default, borrow)]
    ext_fields: Fields<'a>,
}

/// The sender's language by name; unknown names are [`LanguageCode::Unknown`].
struct Language(LanguageCode);

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Language(LanguageCode::from_name(&name)))
    }
}

/// `extFields` as they arrived: string values as they are, numbers, booleans, objects and
/// arrays as their JSON text, nulls dropped.
#[derive(Default)]
struct Fields<'a>(Vec<(String, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
            type Value = Fields<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of header fields, or null")
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Fields<'a>, E> {
                Ok(Fields::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'a>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16).min(64));
                while let Some((key, raw)) = map.next_entry::<String, &'de RawValue>()? {
                    if let Some(value) = field_text(raw.get()).map_err(serde::de::Error::custom)? {
                        fields.push((key, value));
                    }
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_any(FieldsVisitor(std::marker::PhantomData))
    }
}

/// One ext-field value as text from its raw JSON (`None` for null).
fn field_text(raw: &str) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
    if raw == "null" {
        return Ok(None);
    }
    if raw.starts_with('"') {
        return serde_json::from_str::<String>(raw).map(|s| Some(Cow::Owned(s)));
    }
    Ok(Some(Cow::Borrowed(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    #[test]
    fn java_send_header_decodes() {
        let raw = br#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","e":"1","i":"TAGS\u0001TagA\u0002"},"flag":0,"language":"JAVA","opaque":57,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let cmd = decode(Bytes::from_static(raw), Bytes::new()).expect("decodes");
        assert_eq!(cmd.request_code(), RequestCode::SendMessageV2);
        assert_eq!(cmd.opaque, 57);
        assert_eq!(cmd.language, LanguageCode::Java);
        assert_eq!(cmd.ext("i"), Some("TAGS\u{1}TagA\u{2}"));
    }

    #[test]
    fn header_with_only_code_decodes_with_defaults() {
        let cmd = decode(Bytes::from_static(br#"{"code":105}"#), Bytes::new()).expect("decodes");
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.opaque, 0);
        assert!(cmd.ext_fields.is_empty());
    }

    #[test]
    fn non_string_ext_values_become_strings() {
        let cmd = decode(Bytes::from_static(br#"{"code":1,"extFields":{"n":5,"b":true,"z":null}}"#), Bytes::new())
            .expect("decodes");
        assert_eq!(cmd.ext("n"), Some("5"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert_eq!(cmd.ext("z"), None);
        let cmd =
            decode(Bytes::from_static(br#"{"code":1,"extFields":null}"#), Bytes::new()).expect("null fields decode");
        assert!(cmd.ext_fields.is_empty());
        assert!(
            decode(Bytes::from_static(br#"{"code":1,"extFields":[1]}"#), Bytes::new()).is_err(),
            "fields must be an object"
        );
    }

    #[test]
    fn a_header_with_bytes_that_are_not_utf8_in_an_ignored_value_still_decodes() {
        let cmd = decode(Bytes::from_static(b"{\"code\":1,\"x\":\"\xff\"}"), Bytes::new()).expect("decodes");
        assert_eq!(cmd.code, 1);
    }

    #[test]
    fn header_without_code_is_malformed() {
        assert!(decode(Bytes::from_static(br#"{"opaque":1}"#), Bytes::new()).is_err());
        assert!(decode(Bytes::from_static(b"{not json"), Bytes::new()).is_err());
    }

    #[test]
    fn encoded_strings_escape_what_json_requires_and_decode_back() {
        let mut cmd = RemotingCommand::request(RequestCode::SendMessageV2).with_remark("a \"quoted\" \\ path\n");
        cmd.ext_fields.insert("i", "TAGS\u{1}TagA\u{2}KEYS\u{1}k\u{1f}\t\r\u{8}\u{c}é😀");
        cmd.ext_fields.insert("plain", "TopicTest");
        let text = encode(&cmd);
        let parsed: serde_json::Value = serde_json::from_slice(&text).expect("valid JSON");
        assert_eq!(parsed["extFields"]["plain"], "TopicTest");
        let back = decode(Bytes::from(text), Bytes::new()).expect("decodes");
        assert_eq!(back, cmd);
    }

    #[test]
    fn the_scanner_and_serde_read_headers_alike() {
        let headers = [
            r#"{"code":310,"extFields":{"a":"PG","b":"T","i":"TAGS\u0001A\u0002","n":5,"t":true,"z":null},"flag":0,"language":"JAVA","opaque":57,"serializeTypeCurrentRPC":"JSON","version":479}"#,
            r#" { "code" : 11 , "extFields" : { "k" : "v" , "k" : "w" , "o" : { "x" : [ 1 , -2.5e-3 ] } } , "remark" : "r\/\u00e9" } "#,
            r#"{"code":1,"language":"GO","extFields":null,"unknown":{"deep":[true,false,null]}}"#,
            r#"{"code":1,"opaque":null,"language":null,"remark":null}"#,
        ];
        for text in headers {
            let header = ByteString::from(text);
            let fast = decode_fast(&header, Bytes::new()).expect("the scanner reads it");
            let slow = decode_serde(text.as_bytes(), Bytes::new()).expect("serde reads it");
            assert_eq!(fast, slow, "{text}");
        }
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

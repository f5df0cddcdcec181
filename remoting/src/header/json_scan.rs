//! The fast path of JSON header decoding: one pass over the header text that reads the fields
//! a command has and records each ext field as ranges of the text, copying only strings that
//! have escapes.
//!
//! It takes well-formed JSON of the header's shape. Anything else (a repeated top-level key, a
//! number where a string belongs, a lone surrogate, nesting beyond [`MAX_DEPTH`]) gives `None`,
//! and the caller decodes with serde instead, whose answer (often an error) stands. Where this
//! path answers, it answers as serde would; the `json_header` fuzz target checks that.

use std::ops::Range;

use bytestring::ByteString;

use crate::command::LanguageCode;
use crate::ext_fields::ExtFields;

/// Deepest nesting skipped inside an unknown value (serde_json's own limit is 128).
const MAX_DEPTH: usize = 100;

/// The fields of a header, as read.
#[derive(Debug)]
pub(super) struct Scanned {
    pub code: Option<i32>,
    pub language: Option<LanguageCode>,
    pub version: Option<i32>,
    pub opaque: Option<i32>,
    pub flag: Option<i32>,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
}

/// Reads `header`, or `None` when serde should.
pub(super) fn scan(header: &ByteString) -> Option<Scanned> {
    let mut cursor = Cursor { text: header, bytes: header.as_bytes(), pos: 0 };
    let mut out = Scanned {
        code: None,
        language: None,
        version: None,
        opaque: None,
        flag: None,
        remark: None,
        ext_fields: ExtFields::new(),
    };
    let mut seen = 0u8;
    cursor.expect(b'{')?;
    if cursor.peek()? == b'}' {
        cursor.pos += 1;
    } else {
        loop {
            let key = cursor.string()?;
            cursor.expect(b':')?;
            let bit = match cursor.resolve(&key) {
                "code" => cursor.int().map(|v| out.code = v).map(|_| 1)?,
                "language" => cursor.language().map(|v| out.language = v).map(|_| 2)?,
                "version" => cursor.int().map(|v| out.version = v).map(|_| 4)?,
                "opaque" => cursor.int().map(|v| out.opaque = v).map(|_| 8)?,
                "flag" => cursor.int().map(|v| out.flag = v).map(|_| 16)?,
                "remark" => cursor.remark().map(|v| out.remark = v).map(|_| 32)?,
                "extFields" => cursor.ext_fields(header).map(|v| out.ext_fields = v).map(|_| 64)?,
                _ => cursor.skip_value(0).map(|_| 0)?,
            };
            // serde refuses a repeated field: let it say so.
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match cursor.next_byte()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    cursor.skip_ws();
    (cursor.pos == cursor.bytes.len()).then_some(out)
}

/// A string as read: a range of the text when it had no escapes, else its unescaped copy.
type Str = Result<Range<usize>, String>;

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next_byte()? == b).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<Range<usize>> {
        let start = self.pos;
        self.bytes.get(start..start + word.len()).filter(|w| *w == word)?;
        self.pos += word.len();
        Some(start..self.pos)
    }

    fn resolve<'s>(&'s self, s: &'s Str) -> &'s str {
        match s {
            Ok(range) => self.text.get(range.clone()).unwrap_or_default(),
            Err(owned) => owned,
        }
    }

    /// A string; the cursor is at its opening quote (after whitespace).
    fn string(&mut self) -> Option<Str> {
        self.expect(b'"')?;
        let start = self.pos;
        let len = self.bytes[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.pos = start + len;
        match self.bytes[self.pos] {
            b'"' => {
                self.pos += 1;
                return Some(Ok(start..self.pos - 1));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(self.text.get(start..self.pos)?);
        loop {
            let run = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(run..self.pos)?);
            match *self.bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(Err(out));
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return None,
            }
        }
    }

    /// One escape, after its backslash.
    fn escape(&mut self) -> Option<char> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        self.literal(b"\\u")?;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    _ => char::from_u32(unit)?,
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A JSON number's text, checked against the JSON grammar.
    fn number(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        let digits = |c: &mut Self| {
            let from = c.pos;
            while c.bytes.get(c.pos).is_some_and(u8::is_ascii_digit) {
                c.pos += 1;
            }
            c.pos > from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos)? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => _ = digits(self),
            _ => return None,
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            digits(self).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            digits(self).then_some(())?;
        }
        Some(start..self.pos)
    }

    /// An `Option<i32>` field: an integer in range, or null.
    fn int(&mut self) -> Option<Option<i32>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|_| None);
        }
        let range = self.number()?;
        // serde_json reads `-0` as a float, which an integer field refuses.
        let text = self.text.get(range).filter(|t| *t != "-0")?;
        text.parse().ok().map(Some)
    }

    fn language(&mut self) -> Option<Option<LanguageCode>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|_| None);
        }
        let name = self.string()?;
        Some(Some(LanguageCode::from_name(self.resolve(&name))))
    }

    fn remark(&mut self) -> Option<Option<String>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|_| None);
        }
        let text = self.string()?;
        Some(Some(self.resolve(&text).to_owned()))
    }

    /// `extFields`: an object (values as text, nulls dropped) or null.
    fn ext_fields(&mut self, header: &ByteString) -> Option<ExtFields> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|_| ExtFields::new());
        }
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(ExtFields::new());
        }
        let mut fields = ExtFields::over(header.clone(), 16);
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            let value = match self.peek()? {
                b'"' => Some(self.string()?),
                b'n' => self.literal(b"null").map(|_| None)?,
                _ => Some(Ok(self.skip_value(0)?)),
            };
            if let Some(value) = value {
                match key {
                    Ok(key) => fields.push_arrived(key, value),
                    Err(key) => {
                        let value = self.resolve(&value).to_owned();
                        fields.push_text(&key, &value);
                    }
                }
            }
            match self.next_byte()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
        fields.dedup_arrived();
        Some(fields)
    }

    /// Passes over any value, returning its text.
    fn skip_value(&mut self, depth: usize) -> Option<Range<usize>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let first = self.peek()?;
        let start = self.pos;
        match first {
            b'"' => _ = self.string()?,
            b't' => _ = self.literal(b"true")?,
            b'f' => _ = self.literal(b"false")?,
            b'n' => _ = self.literal(b"null")?,
            b'-' | b'0'..=b'9' => _ = self.number()?,
            b'{' | b'[' => {
                let close = if first == b'{' { b'}' } else { b']' };
                self.pos += 1;
                if self.peek()? == close {
                    self.pos += 1;
                } else {
                    loop {
                        if first == b'{' {
                            let _ = self.string()?;
                            self.expect(b':')?;
                        }
                        self.skip_value(depth + 1)?;
                        match self.next_byte()? {
                            b',' => continue,
                            b if b == close => break,
                            _ => return None,
                        }
                    }
                }
            }
            _ => return None,
        }
        Some(start..self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str) -> Option<Scanned> {
        scan(&ByteString::from(text.to_owned()))
    }

    #[test]
    fn a_java_send_header_is_read_without_serde() {
        let s = scanned(
            r#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","e":"1","i":"TAGS\u0001TagA\u0002","x":7,"y":true,"z":null},"flag":0,"language":"JAVA","opaque":57,"serializeTypeCurrentRPC":"JSON","version":479}"#,
        )
        .expect("fast path");
        assert_eq!((s.code, s.opaque, s.version, s.flag), (Some(310), Some(57), Some(479), Some(0)));
        assert_eq!(s.language, Some(LanguageCode::Java));
        assert_eq!(s.ext_fields.get("i"), Some("TAGS\u{1}TagA\u{2}"));
        assert_eq!(s.ext_fields.get("x"), Some("7"));
        assert_eq!(s.ext_fields.get("y"), Some("true"));
        assert_eq!(s.ext_fields.get("z"), None);
        assert_eq!(s.ext_fields.len(), 6);
    }

    #[test]
    fn whitespace_escapes_and_nested_values_are_read() {
        let s = scanned(" {\n \"c\\u006fde\" : -5 , \"extFields\" : { \"k\\n\" : \"\\ud83d\\ude00\" , \"o\" : {\"a\":[1,2.5e3,{}]} } , \"remark\":\"r\\\"\" } ")
            .expect("fast path");
        assert_eq!(s.code, Some(-5));
        assert_eq!(s.ext_fields.get("k\n"), Some("\u{1F600}"));
        assert_eq!(s.ext_fields.get("o"), Some(r#"{"a":[1,2.5e3,{}]}"#));
        assert_eq!(s.remark.as_deref(), Some("r\""));
    }

    #[test]
    fn unusual_or_malformed_headers_are_left_to_serde() {
        for text in [
            r#"{"code":1,"code":2}"#,
            r#"{"code":"1"}"#,
            r#"{"code":1.5}"#,
            r#"{"code":-0}"#,
            r#"{"code":01}"#,
            r#"{"code":99999999999}"#,
            r#"{"code":1,"extFields":[1]}"#,
            r#"{"code":1,"remark":"\ud800"}"#,
            r#"{"code":1,"extFields":{"a":"b"}"#,
            r#"{"code":1} x"#,
            "{\"code\":1,\"remark\":\"a\u{1}\"}",
            r#"{"code":1,"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        ] {
            assert!(scanned(text).is_none(), "{text}");
        }
    }
}

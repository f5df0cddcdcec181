//! [`ExtFields`]: a command's custom header fields (Java's `extFields`), string keys to string
//! values.
//!
//! A request carries a dozen short fields, each read once or twice, so they are kept in arrival
//! order and found by a linear scan: no hashing and no allocation per field. A decoded header
//! keeps the received header text ([`ByteString`], sharing the frame's buffer) and each field is
//! a pair of ranges into it; only values that had JSON escapes, and fields set afterwards, are
//! copied into a second, owned text. Keys are unique: [`ExtFields::insert`] replaces, and a
//! decoded header keeps the last of repeated keys, as the Java map does.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use bytestring::ByteString;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Custom header fields: string keys (Java field names) to string values, keys unique.
#[derive(Clone, Default)]
pub struct ExtFields {
    /// Text that arrived (a decoded header); spans not `owned` point into it.
    source: ByteString,
    /// Text added after arrival; `owned` spans point into it.
    own: String,
    entries: Vec<(Span, Span)>,
}

/// Where one key or value lies.
#[derive(Debug, Clone, Copy)]
struct Span {
    owned: bool,
    start: usize,
    end: usize,
}

/// Up to this many fields, repeated keys are looked for by pairwise comparison; above, with a
/// hash set (a hostile header may hold any number of keys).
const PAIRWISE_DEDUP_MAX: usize = 32;

impl ExtFields {
    /// No fields.
    pub fn new() -> Self {
        ExtFields::default()
    }

    /// Fields that will be ranges of `source` (a decoder's), with room for `capacity` of them.
    pub(crate) fn over(source: ByteString, capacity: usize) -> Self {
        ExtFields { source, own: String::new(), entries: Vec::with_capacity(capacity) }
    }

    /// Appends a field whose key and value are ranges of the source text, or, for a value,
    /// owned text (an unescaped string). Repeats are resolved by [`ExtFields::dedup_arrived`].
    pub(crate) fn push_arrived(&mut self, key: Range<usize>, value: Result<Range<usize>, String>) {
        let key = Span { owned: false, start: key.start, end: key.end };
        let value = match value {
            Ok(range) => Span { owned: false, start: range.start, end: range.end },
            Err(text) => self.push_own(&text),
        };
        self.entries.push((key, value));
    }

    /// Appends a field given as text (an escaped key, a binary header's field).
    pub(crate) fn push_text(&mut self, key: &str, value: &str) {
        let key = self.push_own(key);
        let value = self.push_own(value);
        self.entries.push((key, value));
    }

    /// Keeps, of repeated keys, the last value (at the last one's place).
    pub(crate) fn dedup_arrived(&mut self) {
        let n = self.entries.len();
        let repeats = if n <= PAIRWISE_DEDUP_MAX {
            // A 64-bit sketch of (length, first byte, last byte) per key: distinct keys seldom
            // share a bit, and only a shared bit costs comparisons.
            let mut sketch = 0u64;
            let mut clash = false;
            for i in 0..n {
                let key = self.key(i).as_bytes();
                let (first, last) = (key.first().copied().unwrap_or(0), key.last().copied().unwrap_or(0));
                let bit = 1u64 << ((key.len() * 7 + usize::from(first) * 3 + usize::from(last)) % 64);
                clash |= sketch & bit != 0;
                sketch |= bit;
            }
            clash && (0..n).any(|i| (i + 1..n).any(|j| self.key(i) == self.key(j)))
        } else {
            let mut seen = HashSet::with_capacity(n);
            !(0..n).all(|i| seen.insert(self.key(i)))
        };
        if !repeats {
            return;
        }
        let mut seen = HashSet::with_capacity(n);
        let mut keep: Vec<bool> = (0..n).rev().map(|i| seen.insert(self.key(i))).collect();
        keep.reverse();
        let mut flags = keep.into_iter();
        self.entries.retain(|_| flags.next().unwrap_or(true));
    }

    fn push_own(&mut self, text: &str) -> Span {
        if self.own.capacity() == 0 {
            self.own.reserve(128);
        }
        let start = self.own.len();
        self.own.push_str(text);
        Span { owned: true, start, end: self.own.len() }
    }

    fn text(&self, span: Span) -> &str {
        let base: &str = if span.owned { &self.own } else { &self.source };
        // Spans are made at character boundaries of their text, so this never falls back.
        base.get(span.start..span.end).unwrap_or_default()
    }

    fn key(&self, i: usize) -> &str {
        self.text(self.entries[i].0)
    }

    /// Whether `span` holds `key` (lengths first: most keys differ in length or first byte).
    fn is_key(&self, span: Span, key: &str) -> bool {
        span.end - span.start == key.len() && self.text(span) == key
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| self.is_key(*k, key)).map(|(_, v)| self.text(*v))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, returning the value it replaces. (A replaced value's text stays
    /// in the owned text until the fields are dropped: headers are built once, not edited in
    /// loops.)
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let found = self.entries.iter().position(|(k, _)| self.is_key(*k, key));
        match found {
            Some(at) => {
                let old = self.text(self.entries[at].1).to_owned();
                self.entries[at].1 = self.push_own(value);
                Some(old)
            }
            None => {
                self.push_text(key, value);
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.entries.iter().position(|(k, _)| self.is_key(*k, key))?;
        let (_, value) = self.entries.remove(at);
        Some(self.text(value).to_owned())
    }

    /// The fields, in arrival (or insertion) order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (self.text(*k), self.text(*v)))
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Equal when they hold the same keys with the same values, in any order (a map's equality).
impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        if self.len() <= PAIRWISE_DEDUP_MAX {
            return self.iter().all(|(k, v)| other.get(k) == Some(v));
        }
        let theirs: std::collections::HashMap<&str, &str> = other.iter().collect();
        self.iter().all(|(k, v)| theirs.get(k) == Some(&v))
    }
}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut fields = ExtFields::new();
        for (k, v) in iter {
            fields.insert(k, v);
        }
        fields
    }
}

/// A JSON object, as fastjson writes the Java map.
impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_get_finds_by_key() {
        let mut ext = ExtFields::new();
        assert_eq!(ext.insert("topic", "A"), None);
        ext.insert("queueId", 3.to_string());
        assert_eq!(ext.insert("topic", "B").as_deref(), Some("A"));
        assert_eq!(ext.get("topic"), Some("B"));
        assert_eq!(ext.len(), 2);
        assert_eq!(ext.remove("queueId").as_deref(), Some("3"));
        assert!(!ext.contains_key("queueId"));
    }

    #[test]
    fn arrived_fields_are_ranges_of_the_source_and_repeats_keep_the_last_value() {
        for n in [7, 300] {
            let source: String = (0..n).map(|i| format!("k{}={i};", i % 3)).collect();
            let mut ext = ExtFields::over(ByteString::from(source.clone()), n);
            let mut at = 0;
            for i in 0..n {
                let pair = format!("k{}={i};", i % 3);
                let key = at..at + 2;
                let value = at + 3..at + pair.len() - 1;
                ext.push_arrived(key, if i % 2 == 0 { Ok(value) } else { Err(i.to_string()) });
                at += pair.len();
            }
            ext.dedup_arrived();
            assert_eq!(ext.len(), 3, "{n} entries");
            for k in 0..3 {
                let last = (0..n).rev().find(|i| i % 3 == k).expect("some");
                assert_eq!(ext.get(&format!("k{k}")), Some(last.to_string().as_str()), "{n} entries");
            }
        }
    }

    #[test]
    fn equality_ignores_order() {
        let a: ExtFields = [("a", "1"), ("b", "2")].into_iter().collect();
        let b: ExtFields = [("b", "2"), ("a", "1")].into_iter().collect();
        let c: ExtFields = [("b", "2"), ("a", "9")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(serde_json::to_string(&a).expect("json"), r#"{"a":"1","b":"2"}"#);
    }
}

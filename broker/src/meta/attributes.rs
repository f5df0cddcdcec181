//! Topic attributes as Apache 5.x applies them: UPDATE_AND_CREATE_TOPIC carries a modification
//! `+key=value,+key2=value2,-key3`; a new topic may only add, an existing one adds, updates
//! (changeable keys only) and deletes keys it has. Stored without the signs
//! (`{"message.type": "FIFO"}`), as `topics.json` holds them.

use std::collections::{BTreeMap, BTreeSet};

/// Why a modification was refused (Apache answers SYSTEM_ERROR with the same words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    /// Neither `+key=value` nor `-key`.
    #[error("attribute format is wrong: {0}")]
    Format(String),
    /// The same key twice.
    #[error("alter duplication key. key: {0}")]
    Duplicate(String),
    /// A key Apache does not know.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// A key fixed at creation.
    #[error("attempt to update an unchangeable attribute. key: {0}")]
    Unchangeable(String),
    /// A value outside the key's range.
    #[error("value is not in set or range: {key}={value}")]
    BadValue {
        /// The key.
        key: String,
        /// The refused value.
        value: String,
    },
    /// `-key` for a key the topic lacks.
    #[error("attempt to delete a nonexistent key: {0}")]
    MissingKey(String),
    /// `-key` while creating.
    #[error("only add attribute is supported while creating topic. key: {0}")]
    DeleteOnCreate(String),
}

/// The attribute keys Apache 5.3.3 knows (`TopicAttributes.ALL`): name, changeable after
/// creation, allowed values (`None`: a number of at least -1).
const KNOWN: &[(&str, bool, Option<&[&str]>)] = &[
    ("queue.type", false, Some(&["BatchCQ", "SimpleCQ"])),
    ("cleanup.policy", false, Some(&["DELETE", "COMPACTION"])),
    ("message.type", true, Some(&["UNSPECIFIED", "NORMAL", "FIFO", "DELAY", "TRANSACTION", "MIXED"])),
    ("reserve.time", true, None),
];

/// The `message.type` attribute key.
pub const MESSAGE_TYPE: &str = "message.type";

fn check_value(key: &str, value: &str) -> Result<bool, AttributeError> {
    let (_, changeable, allowed) =
        KNOWN.iter().find(|(k, _, _)| *k == key).ok_or_else(|| AttributeError::Unsupported(key.to_owned()))?;
    let ok = match allowed {
        Some(values) => values.contains(&value),
        None => value.parse::<i64>().is_ok_and(|v| v >= -1),
    };
    if !ok {
        return Err(AttributeError::BadValue { key: key.to_owned(), value: value.to_owned() });
    }
    Ok(*changeable)
}

/// The attributes after applying `modification` to `current` (`None`: the topic is new).
pub fn alter(
    current: Option<&BTreeMap<String, String>>,
    modification: &str,
) -> Result<BTreeMap<String, String>, AttributeError> {
    let mut out = current.cloned().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for item in modification.split(',').filter(|s| !s.is_empty()) {
        let (add, key, value) = match (item.strip_prefix('+'), item.strip_prefix('-')) {
            (Some(kv), _) => match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.is_empty() => (true, k, v),
                _ => return Err(AttributeError::Format(item.to_owned())),
            },
            (_, Some(k)) if !k.is_empty() && !k.contains('=') => (false, k, ""),
            _ => return Err(AttributeError::Format(item.to_owned())),
        };
        if key.contains(['+', '-']) {
            return Err(AttributeError::Format(item.to_owned()));
        }
        if !seen.insert(key) {
            return Err(AttributeError::Duplicate(key.to_owned()));
        }
        if add {
            let changeable = check_value(key, value)?;
            if current.is_some() && !changeable {
                return Err(AttributeError::Unchangeable(key.to_owned()));
            }
            out.insert(key.to_owned(), value.to_owned());
        } else if current.is_none() {
            return Err(AttributeError::DeleteOnCreate(key.to_owned()));
        } else if out.remove(key).is_none() {
            return Err(AttributeError::MissingKey(key.to_owned()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_new_topic_takes_added_attributes_without_their_signs() {
        let got = alter(None, "+message.type=FIFO,+queue.type=SimpleCQ").expect("valid");
        assert_eq!(got, map(&[("message.type", "FIFO"), ("queue.type", "SimpleCQ")]));
        assert_eq!(alter(None, "").expect("empty"), BTreeMap::new());
    }

    #[test]
    fn an_existing_topic_updates_changeable_keys_and_deletes_keys_it_has() {
        let current = map(&[("message.type", "FIFO"), ("queue.type", "SimpleCQ")]);
        let got = alter(Some(&current), "+message.type=NORMAL,+reserve.time=72").expect("valid");
        assert_eq!(got, map(&[("message.type", "NORMAL"), ("queue.type", "SimpleCQ"), ("reserve.time", "72")]));
        assert_eq!(alter(Some(&current), "-message.type").expect("valid"), map(&[("queue.type", "SimpleCQ")]));
    }

    #[test]
    fn malformed_unknown_unchangeable_or_out_of_range_modifications_are_refused() {
        let current = map(&[("queue.type", "SimpleCQ")]);
        assert!(matches!(alter(None, "message.type=FIFO"), Err(AttributeError::Format(_))));
        assert!(matches!(alter(None, "+message.type"), Err(AttributeError::Format(_))));
        assert!(matches!(alter(None, "+colour=red"), Err(AttributeError::Unsupported(_))));
        assert!(matches!(alter(None, "+message.type=SOMETIMES"), Err(AttributeError::BadValue { .. })));
        assert!(matches!(alter(None, "+reserve.time=-2"), Err(AttributeError::BadValue { .. })));
        assert!(matches!(alter(None, "-message.type"), Err(AttributeError::DeleteOnCreate(_))));
        assert!(matches!(alter(Some(&current), "+queue.type=BatchCQ"), Err(AttributeError::Unchangeable(_))));
        assert!(matches!(alter(Some(&current), "-message.type"), Err(AttributeError::MissingKey(_))));
        assert!(matches!(alter(None, "+message.type=FIFO,+message.type=NORMAL"), Err(AttributeError::Duplicate(_))));
    }
}

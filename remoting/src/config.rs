//! Apache-style `.properties` configuration files, shared by the `rmq-namesrv` and `rmq-broker`
//! binaries: parse the file, hand out typed values by Apache key name, and report keys that rmq
//! accepts without implementing or does not know at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

/// A configuration error that stops startup; it always names the key or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("cannot read config file {path}: {reason}")]
    File {
        /// File path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A value does not parse.
    #[error("config key '{key}' has an invalid value '{value}': {reason}")]
    Invalid {
        /// Apache key name.
        key: String,
        /// Offending value.
        value: String,
        /// Expected form.
        reason: String,
    },
}

/// Key/value pairs from a properties file plus command-line overrides, consumed by typed lookups.
#[derive(Debug, Default, Clone)]
pub struct Properties {
    values: BTreeMap<String, String>,
    used: BTreeSet<String>,
}

impl Properties {
    /// Reads a Java properties file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = std::fs::File::open(path)
            .map_err(|e| ConfigError::File { path: path.display().to_string(), reason: e.to_string() })?;
        let values = java_properties::read(std::io::BufReader::new(file))
            .map_err(|e| ConfigError::File { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(Properties {
            values: values.into_iter().map(|(k, v)| (k, v.trim().to_owned())).collect(),
            used: BTreeSet::new(),
        })
    }

    /// Parses properties text (`key=value` lines).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let values = java_properties::read(text.as_bytes())
            .map_err(|e| ConfigError::File { path: "<text>".into(), reason: e.to_string() })?;
        Ok(Properties {
            values: values.into_iter().map(|(k, v)| (k, v.trim().to_owned())).collect(),
            used: BTreeSet::new(),
        })
    }

    /// Takes every value of `overlay`, overriding this one's (a later config file wins).
    pub fn overlay(&mut self, overlay: Properties) {
        self.values.extend(overlay.values);
    }

    /// Sets or overrides a value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_owned(), value.into());
    }

    /// Whether `key` has a value (without marking it as understood).
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The raw value of `key`, marking it as understood.
    pub fn raw(&mut self, key: &str) -> Option<String> {
        self.used.insert(key.to_owned());
        self.values.get(key).cloned()
    }

    /// The typed value of `key`, or `default` when absent or empty.
    pub fn get<T: FromStr>(&mut self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(key) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => v.parse::<T>().map_err(|e| ConfigError::Invalid {
                key: key.to_owned(),
                value: v.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// Splits the keys not consumed by typed lookups into those Apache knows (`known`) and the
    /// rest. The caller logs the first group as "accepted, not implemented" and the second as
    /// unknown (likely a typo).
    pub fn leftovers(&self, known: &[&str]) -> (Vec<String>, Vec<String>) {
        let known: BTreeSet<&str> = known.iter().copied().collect();
        self.values.keys().filter(|k| !self.used.contains(*k)).cloned().partition(|k| known.contains(k.as_str()))
    }

    /// All key/value pairs, for display (`GET_BROKER_CONFIG`).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }
}

/// Parses a boolean the way Java does for config values (`true`/`false`, case-insensitive).
pub fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: "expected true or false".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lookup_names_the_key_on_error() {
        let mut p = Properties::parse("listenPort=abc\nbrokerName=b\n").expect("parses");
        let err = p.get::<u16>("listenPort", 9876).expect_err("invalid");
        assert!(err.to_string().contains("listenPort"));
        assert_eq!(p.get::<String>("brokerName", String::new()).expect("ok"), "b");
    }

    #[test]
    fn a_later_file_overrides_an_earlier_one_key_by_key() {
        let mut base = Properties::parse("brokerName=g0\nbrokerId=0\nbrokerRole=SYNC_MASTER\n").expect("parses");
        base.overlay(Properties::parse("brokerId=1\nbrokerRole=SLAVE\n").expect("parses"));
        assert_eq!(base.get::<String>("brokerName", String::new()).expect("ok"), "g0");
        assert_eq!(base.get::<i64>("brokerId", 0).expect("ok"), 1);
        assert_eq!(base.get::<String>("brokerRole", String::new()).expect("ok"), "SLAVE");
    }

    #[test]
    fn leftovers_separate_known_from_unknown() {
        let mut p = Properties::parse("a=1\nknownButUnused=2\ntypo=3\n").expect("parses");
        let _ = p.raw("a");
        let (accepted, unknown) = p.leftovers(&["knownButUnused"]);
        assert_eq!(accepted, vec!["knownButUnused".to_owned()]);
        assert_eq!(unknown, vec!["typo".to_owned()]);
    }
}

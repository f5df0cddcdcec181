//! Typed custom headers (the `extFields` of a command) and JSON bodies, one file per family.
//!
//! Headers are declared with [`command_header!`](crate::command_header): each field names its
//! Java key. Plain types are required (a missing key is a [`HeaderError::Missing`]); `Option`
//! fields are optional. Values are strings on the wire; numbers parse in decimal, booleans like
//! Java's `Boolean.parseBoolean`.

pub mod admin;
pub mod body;
pub mod consumer;
pub mod names;
pub mod namesrv;
pub mod send;

use crate::command::ExtFields;

/// A header field was missing or did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HeaderError {
    /// A required key is absent.
    #[error("the request header field '{0}' is missing")]
    Missing(&'static str),
    /// A key is present but its value is not of the expected type.
    #[error("the request header field '{key}' has an invalid value '{value}'")]
    Invalid {
        /// Java field name.
        key: &'static str,
        /// Offending value.
        value: String,
    },
}

/// A typed view of a command's ext fields.
pub trait CommandHeader: Sized {
    /// Reads the header from ext fields.
    fn decode(ext: &ExtFields) -> Result<Self, HeaderError>;
    /// Writes the header into ext fields.
    fn encode(&self, ext: &mut ExtFields);
}

/// One value type a header field can have.
pub trait HeaderValue: Sized {
    /// Reads the field `key` from its text, `None` when absent.
    fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError>;
    /// Writes the field `key` (absent optional values are not written).
    fn write(&self, ext: &mut ExtFields, key: &'static str);
}

/// A value with a decimal or textual string form.
pub trait Scalar: Sized {
    /// Parses the wire string.
    fn parse(s: &str) -> Option<Self>;
    /// Formats for the wire.
    fn format(&self) -> String;
}

macro_rules! numeric_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn parse(s: &str) -> Option<Self> { s.trim().parse().ok() }
            fn format(&self) -> String { self.to_string() }
        }
    )*};
}
numeric_scalar!(i32, i64, f64);

impl Scalar for String {
    fn parse(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn format(&self) -> String {
        self.clone()
    }
}

impl Scalar for bool {
    fn parse(s: &str) -> Option<Self> {
        Some(s.trim().eq_ignore_ascii_case("true"))
    }
    fn format(&self) -> String {
        self.to_string()
    }
}

impl<T: Scalar> HeaderValue for T {
    fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
        let raw = raw.ok_or(HeaderError::Missing(key))?;
        T::parse(raw).ok_or_else(|| HeaderError::Invalid { key, value: raw.to_owned() })
    }
    fn write(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert(key, self.format());
    }
}

impl<T: Scalar> HeaderValue for Option<T> {
    fn from_raw(raw: Option<&str>, key: &'static str) -> Result<Self, HeaderError> {
        match raw {
            None => Ok(None),
            Some(raw) => T::parse(raw).map(Some).ok_or_else(|| HeaderError::Invalid { key, value: raw.to_owned() }),
        }
    }
    fn write(&self, ext: &mut ExtFields, key: &'static str) {
        if let Some(v) = self {
            ext.insert(key, v.format());
        }
    }
}

/// Declares a typed header struct whose fields map to Java ext-field keys.
///
/// ```ignore
/// command_header! {
///     /// Doc.
///     pub struct GetMaxOffset { topic: String => "topic", queue_id: i32 => "queueId" }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    ($(#[$meta:meta])* pub struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $key:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* #[doc = concat!("Wire key `", $key, "`.")] pub $field: $ty, )*
        }

        impl $crate::protocol::CommandHeader for $name {
            fn decode(ext: &$crate::command::ExtFields) -> Result<Self, $crate::protocol::HeaderError> {
                // One pass over the fields, each key matched against the header's keys.
                #[allow(non_snake_case)]
                #[derive(Default)]
                struct Raw<'a> { $( $field: Option<&'a str>, )* }
                let mut raw = Raw::default();
                for (key, value) in ext.iter() {
                    match key {
                        $( $key => raw.$field = Some(value), )*
                        _ => {}
                    }
                }
                Ok(Self { $( $field: <$ty as $crate::protocol::HeaderValue>::from_raw(raw.$field, $key)?, )* })
            }
            fn encode(&self, ext: &mut $crate::command::ExtFields) {
                $( $crate::protocol::HeaderValue::write(&self.$field, ext, $key); )*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    command_header! {
        /// Test header.
        pub struct Sample { topic: String => "topic", queue_id: i32 => "queueId", force: Option<bool> => "force" }
    }

    #[test]
    fn required_fields_must_be_present_and_parse() {
        let mut ext = ExtFields::new();
        ext.insert("topic", "T");
        assert_eq!(Sample::decode(&ext), Err(HeaderError::Missing("queueId")));
        ext.insert("queueId", "x");
        assert!(matches!(Sample::decode(&ext), Err(HeaderError::Invalid { key: "queueId", .. })));
        ext.insert("queueId", "3");
        ext.insert("force", "TRUE");
        let h = Sample::decode(&ext).expect("decodes");
        assert_eq!(h, Sample { topic: "T".into(), queue_id: 3, force: Some(true) });
    }

    #[test]
    fn encode_skips_absent_optionals() {
        let mut ext = ExtFields::new();
        Sample { topic: "T".into(), queue_id: 1, force: None }.encode(&mut ext);
        assert_eq!(ext.len(), 2);
        assert_eq!(Sample::decode(&ext).expect("decodes").queue_id, 1);
    }
}

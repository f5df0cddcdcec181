//! Message filters: tag filters (on the ConsumeQueue's tag hash codes) and SQL92 property
//! expressions (on the stored record's properties).

pub mod sql92;

use std::collections::BTreeSet;

use rmq_remoting::message::{decode_properties, java_string_hash, RecordView};

/// What a subscription accepts.
#[derive(Debug, Clone)]
pub enum MessageFilter {
    /// Everything (`*` or an empty expression).
    All,
    /// Messages whose tag hash is one of these (`TagA || TagB`).
    Tags(BTreeSet<i32>),
    /// Messages whose properties satisfy the expression.
    Sql(sql92::Expression),
}

/// Why a subscription cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterBuildError {
    /// The broker has `enablePropertyFilter=false`.
    #[error("The broker does not support consumer to filter message by {0}")]
    Disabled(String),
    /// The expression type is neither TAG nor SQL92.
    #[error("unknown expression type '{0}'")]
    UnknownType(String),
    /// The expression does not parse.
    #[error("parse subscription expression failed: {0}")]
    Parse(String),
}

impl MessageFilter {
    /// Builds the filter of an expression of `expression_type` (`TAG` when absent).
    pub fn build(expression: &str, expression_type: Option<&str>, sql_enabled: bool) -> Result<Self, FilterBuildError> {
        match expression_type.map(str::to_ascii_uppercase).as_deref() {
            None | Some("TAG") => Ok(tag_filter(expression)),
            Some("SQL92") if !sql_enabled => Err(FilterBuildError::Disabled("SQL92".into())),
            Some("SQL92") => sql92::Expression::parse(expression)
                .map(MessageFilter::Sql)
                .map_err(|e| FilterBuildError::Parse(e.to_string())),
            Some(other) => Err(FilterBuildError::UnknownType(other.to_owned())),
        }
    }

    /// First stage, on the ConsumeQueue entry: the tag hash code.
    pub fn accepts_tags_code(&self, code: i64) -> bool {
        match self {
            MessageFilter::Tags(codes) => codes.contains(&(code as i32)),
            MessageFilter::All | MessageFilter::Sql(_) => true,
        }
    }

    /// Second stage, on the stored record (only SQL92 looks at it).
    pub fn accepts_record(&self, record: &[u8]) -> bool {
        match self {
            MessageFilter::Sql(expr) => RecordView::parse(record)
                .is_ok_and(|(view, _)| expr.matches(&decode_properties(&view.properties_str()))),
            MessageFilter::All | MessageFilter::Tags(_) => true,
        }
    }
}

fn tag_filter(expression: &str) -> MessageFilter {
    let expr = expression.trim();
    let codes: BTreeSet<i32> =
        expr.split("||").map(str::trim).filter(|t| !t.is_empty()).map(java_string_hash).collect();
    if expr.is_empty() || expr == "*" || codes.is_empty() {
        MessageFilter::All
    } else {
        MessageFilter::Tags(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_empty_accept_everything() {
        assert!(matches!(MessageFilter::build("*", None, false), Ok(MessageFilter::All)));
        assert!(matches!(MessageFilter::build("", Some("TAG"), false), Ok(MessageFilter::All)));
    }

    #[test]
    fn tag_lists_hash_each_tag() {
        let f = MessageFilter::build("TagA || TagB", Some("TAG"), false).expect("builds");
        assert!(f.accepts_tags_code(i64::from(java_string_hash("TagA"))));
        assert!(f.accepts_tags_code(i64::from(java_string_hash("TagB"))));
        assert!(!f.accepts_tags_code(i64::from(java_string_hash("TagC"))));
    }

    #[test]
    fn sql92_needs_the_property_filter_enabled_and_a_valid_expression() {
        assert_eq!(
            MessageFilter::build("a > 1", Some("SQL92"), false).err(),
            Some(FilterBuildError::Disabled("SQL92".into()))
        );
        assert!(matches!(MessageFilter::build("a >", Some("SQL92"), true), Err(FilterBuildError::Parse(_))));
        assert!(matches!(MessageFilter::build("a > 1", Some("sql92"), true), Ok(MessageFilter::Sql(_))));
        assert!(matches!(MessageFilter::build("x", Some("XPATH"), true), Err(FilterBuildError::UnknownType(_))));
    }
}

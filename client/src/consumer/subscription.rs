//! A consumer's subscription to one topic: a tag expression (`*`, `TagA || TagB`) matched on
//! the broker by hash and again on the client exactly, or an SQL92 expression over properties
//! evaluated by the broker.

use std::collections::BTreeSet;

use rmq_remoting::message::java_string_hash;
use rmq_remoting::protocol::body::SubscriptionData;

use crate::message::ReceivedMessage;

/// How a subscription expression is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionType {
    /// Tags separated by `||`, or `*` for all.
    Tag,
    /// An SQL92 condition over message properties (needs `enablePropertyFilter=true` on the broker).
    Sql92,
}

impl ExpressionType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpressionType::Tag => "TAG",
            ExpressionType::Sql92 => "SQL92",
        }
    }
}

/// One topic's subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topic.
    pub topic: String,
    /// The expression as given (`*` when empty).
    pub expression: String,
    /// Its type.
    pub expression_type: ExpressionType,
    tags: BTreeSet<String>,
    version: i64,
}

impl Subscription {
    /// A tag subscription; `""` and `"*"` mean every message.
    pub fn tag(topic: impl Into<String>, expression: &str) -> Self {
        let expression = expression.trim();
        let expression = if expression.is_empty() { "*" } else { expression };
        let tags = if expression == "*" {
            BTreeSet::new()
        } else {
            expression.split("||").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
        };
        Subscription {
            topic: topic.into(),
            expression: expression.to_owned(),
            expression_type: ExpressionType::Tag,
            tags,
            version: now_ms(),
        }
    }

    /// An SQL92 subscription, e.g. `region = 'eu' AND amount > 10`.
    pub fn sql92(topic: impl Into<String>, expression: &str) -> Self {
        Subscription {
            topic: topic.into(),
            expression: expression.trim().to_owned(),
            expression_type: ExpressionType::Sql92,
            tags: BTreeSet::new(),
            version: now_ms(),
        }
    }

    /// The version sent with pulls (ms timestamp of creation).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Whether a pulled message matches (exact tag comparison; SQL92 is decided by the broker).
    pub fn matches(&self, msg: &ReceivedMessage) -> bool {
        if self.expression_type == ExpressionType::Sql92 || self.tags.is_empty() {
            return true;
        }
        msg.tags().is_some_and(|t| self.tags.contains(t))
    }

    /// The heartbeat form.
    pub fn to_data(&self) -> SubscriptionData {
        SubscriptionData {
            topic: self.topic.clone(),
            sub_string: self.expression.clone(),
            code_set: self.tags.iter().map(|t| java_string_hash(t)).collect(),
            tags_set: self.tags.clone(),
            sub_version: self.version,
            expression_type: Some(self.expression_type.as_str().to_owned()),
            class_filter_mode: false,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_expression_splits_on_double_bars() {
        let s = Subscription::tag("t", " A || B||  ");
        assert_eq!(s.to_data().tags_set, ["A".to_owned(), "B".to_owned()].into_iter().collect());
        assert_eq!(s.to_data().code_set, [65, 66].into_iter().collect());
        assert_eq!(Subscription::tag("t", "").expression, "*");
    }
}

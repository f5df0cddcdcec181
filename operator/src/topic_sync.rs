//! What a `Topic` asks of the brokers, how a broker's copy differs from it (drift), and the
//! status conditions of the outcome; pure, so the reconciler only makes the calls.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::chrono::{DateTime, Utc};
use kube::ResourceExt;
use rmq_client::admin::TopicSpec as BrokerTopic;
use rmq_remoting::protocol::body::TopicConfig;

use crate::crd::topic::{MessageType, Topic};

/// The `message.type` attribute key.
const MESSAGE_TYPE: &str = "message.type";

/// The topic's name on the brokers.
pub fn topic_name(topic: &Topic) -> String {
    topic.spec.topic_name.clone().unwrap_or_else(|| topic.name_any())
}

fn message_type(t: MessageType) -> &'static str {
    match t {
        MessageType::Normal => "NORMAL",
        MessageType::Fifo => "FIFO",
        MessageType::Delay => "DELAY",
        MessageType::Transaction => "TRANSACTION",
    }
}

/// The topic as every master must hold it.
pub fn desired(topic: &Topic) -> BrokerTopic {
    let spec = &topic.spec;
    BrokerTopic {
        topic: topic_name(topic),
        read_queues: spec.read_queue_nums,
        write_queues: spec.write_queue_nums,
        perm: spec.perm,
        order: spec.order,
        attributes: BTreeMap::from([(MESSAGE_TYPE.to_owned(), message_type(spec.message_type).to_owned())]),
    }
}

/// How a broker's copy differs from `want`, one `field held → wanted` entry per difference (a
/// topic made without a message type counts as `NORMAL`, as Apache treats it).
pub fn drift(want: &BrokerTopic, held: &TopicConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, held: String, want: String| {
        if held != want {
            out.push(format!("{name} {held} → {want}"));
        }
    };
    field("readQueueNums", held.read_queue_nums.to_string(), want.read_queues.to_string());
    field("writeQueueNums", held.write_queue_nums.to_string(), want.write_queues.to_string());
    field("perm", held.perm.to_string(), want.perm.to_string());
    field("order", held.order.to_string(), want.order.to_string());
    let held_type = held.attributes.get(MESSAGE_TYPE).map_or("NORMAL", String::as_str);
    let want_type = want.attributes.get(MESSAGE_TYPE).map_or("NORMAL", String::as_str);
    field(MESSAGE_TYPE, held_type.to_owned(), want_type.to_owned());
    out
}

/// What one reconcile of a topic found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every master holds the topic as specified.
    Synced {
        /// Masters holding it.
        masters: usize,
        /// Masters it was created on (`broker name`).
        created: Vec<String>,
        /// Drift corrected, one `broker name: differences` entry per master.
        corrected: Vec<String>,
    },
    /// The cluster has no master registered with its NameServers.
    NoMasters,
    /// The referenced cluster does not exist or is being deleted.
    ClusterGone,
}

/// The `Ready` and `Drifted` conditions for `outcome`, keeping `previous` transition times
/// where a condition's status did not change.
pub fn conditions(
    outcome: &Outcome,
    cluster: &str,
    generation: Option<i64>,
    previous: &[Condition],
    now: DateTime<Utc>,
) -> Vec<Condition> {
    let (ready, drifted) = match outcome {
        Outcome::Synced { masters, corrected, .. } => (
            cond("Ready", true, "Synced", &format!("on every master of cluster {cluster} ({masters})")),
            if corrected.is_empty() {
                cond("Drifted", false, "InSync", "every master holds the topic as specified")
            } else {
                cond("Drifted", true, "DriftCorrected", &format!("corrected: {}", corrected.join("; ")))
            },
        ),
        Outcome::NoMasters => (
            cond("Ready", false, "NoMasters", &format!("cluster {cluster} has no master registered yet")),
            cond("Drifted", false, "Unknown", "no master to compare with"),
        ),
        Outcome::ClusterGone => (
            cond(
                "Ready",
                false,
                "ClusterGone",
                &format!("cluster {cluster} does not exist (or is being deleted): the finalizer is released"),
            ),
            cond("Drifted", false, "Unknown", "no cluster to compare with"),
        ),
    };
    let mut out = vec![ready, drifted];
    crate::status::stamp(&mut out, generation, previous, now);
    out
}

fn cond(type_: &str, status: bool, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        last_transition_time: Time(DateTime::UNIX_EPOCH),
        observed_generation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(yaml: &str) -> Topic {
        serde_yaml::from_str(&format!(
            "apiVersion: rmq.io/v1alpha1\nkind: Topic\nmetadata: {{name: orders, namespace: shop}}\nspec:\n{yaml}"
        ))
        .expect("valid Topic")
    }

    fn held(read: i32, write: i32, perm: i32, attributes: &[(&str, &str)]) -> TopicConfig {
        TopicConfig {
            topic_name: "orders".into(),
            read_queue_nums: read,
            write_queue_nums: write,
            perm,
            attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..TopicConfig::default()
        }
    }

    #[test]
    fn the_resource_name_is_the_topic_unless_topic_name_says_otherwise() {
        let plain = topic("  clusterRef: demo\n");
        let want = desired(&plain);
        assert_eq!((want.topic.as_str(), want.read_queues, want.write_queues, want.perm), ("orders", 8, 8, 6));
        assert_eq!(want.attributes.get("message.type").map(String::as_str), Some("NORMAL"));
        let named = topic("  clusterRef: demo\n  topicName: '%RETRY%x'\n  messageType: FIFO\n  order: true\n");
        let want = desired(&named);
        assert_eq!((want.topic.as_str(), want.order), ("%RETRY%x", true));
        assert_eq!(want.attributes.get("message.type").map(String::as_str), Some("FIFO"));
    }

    #[test]
    fn a_matching_copy_has_no_drift_and_an_untyped_one_counts_as_normal() {
        let want = desired(&topic("  clusterRef: demo\n"));
        assert!(drift(&want, &held(8, 8, 6, &[])).is_empty());
        assert!(drift(&want, &held(8, 8, 6, &[("message.type", "NORMAL")])).is_empty());
    }

    #[test]
    fn every_differing_field_is_named_with_held_and_wanted_values() {
        let want = desired(&topic("  clusterRef: demo\n  messageType: DELAY\n"));
        let found = drift(&want, &held(4, 8, 2, &[("message.type", "FIFO")]));
        assert_eq!(found, ["readQueueNums 4 → 8", "perm 2 → 6", "message.type FIFO → DELAY"]);
    }

    #[test]
    fn conditions_say_synced_corrected_or_why_not() {
        let now = DateTime::UNIX_EPOCH;
        let synced = Outcome::Synced { masters: 2, created: vec![], corrected: vec![] };
        let c = conditions(&synced, "demo", Some(1), &[], now);
        assert_eq!((c[0].status.as_str(), c[0].reason.as_str()), ("True", "Synced"));
        assert_eq!((c[1].status.as_str(), c[1].reason.as_str()), ("False", "InSync"));
        let fixed = Outcome::Synced { masters: 1, created: vec![], corrected: vec!["b0: perm 2 → 6".into()] };
        let c = conditions(&fixed, "demo", Some(1), &[], now);
        assert_eq!((c[1].status.as_str(), c[1].reason.as_str()), ("True", "DriftCorrected"));
        assert!(c[1].message.contains("b0: perm 2 → 6"), "{}", c[1].message);
        let gone = conditions(&Outcome::ClusterGone, "demo", Some(1), &[], now);
        assert_eq!((gone[0].status.as_str(), gone[0].reason.as_str()), ("False", "ClusterGone"));
        assert!(gone[0].message.contains("finalizer is released"));
        assert!(gone.iter().all(|c| c.observed_generation == Some(1)));
    }
}

//! Seeding a broker group that a scale-out added: its master gets the topics and subscription
//! groups the cluster's other masters hold, so producers and consumers find them on every group
//! (an Apache broker learns them only from an admin; mqadmin users run `updateTopic -c` again).
//! Pure: which groups to seed, and what a new master lacks. A group is marked seeded in the
//! cluster's status once done, so a topic deleted later is never copied back.

use std::collections::BTreeSet;

use rmq_remoting::protocol::body::{GroupConfig, TopicConfig};
use rmq_remoting::protocol::names::{is_retry_or_dlq, is_system_topic};

/// A broker group as the seeding sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSeed {
    /// The group's `brokerName`.
    pub name: String,
    /// Seeded already (or there from the cluster's start).
    pub seeded: bool,
    /// Its master serves (registered with the NameServers).
    pub has_master: bool,
}

/// What to do about one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedAction {
    /// Nothing to copy: the cluster is new (no group seeded yet), so its groups start alike.
    MarkSeeded(String),
    /// Copy into `target` what the seeded groups `sources` hold.
    Seed {
        /// The new group.
        target: String,
        /// Seeded groups whose masters serve.
        sources: Vec<String>,
    },
}

/// What to do now; an unseeded group without a master (or without a seeded group to copy
/// from) waits for a later reconcile.
pub fn plan(groups: &[GroupSeed]) -> Vec<SeedAction> {
    let unseeded = groups.iter().filter(|g| !g.seeded && g.has_master);
    if !groups.iter().any(|g| g.seeded) {
        return unseeded.map(|g| SeedAction::MarkSeeded(g.name.clone())).collect();
    }
    let sources: Vec<String> = groups.iter().filter(|g| g.seeded && g.has_master).map(|g| g.name.clone()).collect();
    if sources.is_empty() {
        return Vec::new();
    }
    unseeded.map(|g| SeedAction::Seed { target: g.name.clone(), sources: sources.clone() }).collect()
}

/// Whether a topic is one users made (copied), not one a broker makes itself: system topics,
/// retry and dead-letter topics (created on demand), the cluster's and the brokers' own.
pub fn is_copied_topic(topic: &str, cluster: &str, broker_names: &BTreeSet<String>) -> bool {
    !(is_system_topic(topic)
        || is_retry_or_dlq(topic)
        || topic == cluster
        || topic == format!("{cluster}_REPLY_TOPIC")
        || broker_names.contains(topic))
}

/// What a new master lacks: the copied topics and the groups the sources hold and it does not
/// (the first source's copy wins when they differ).
pub fn missing(
    sources: &[(Vec<TopicConfig>, Vec<GroupConfig>)],
    target: &(Vec<TopicConfig>, Vec<GroupConfig>),
    cluster: &str,
    broker_names: &BTreeSet<String>,
) -> (Vec<TopicConfig>, Vec<GroupConfig>) {
    let mut have_topics: BTreeSet<String> = target.0.iter().map(|t| t.topic_name.clone()).collect();
    let mut have_groups: BTreeSet<String> = target.1.iter().map(|g| g.group_name.clone()).collect();
    let (mut topics, mut groups) = (Vec::new(), Vec::new());
    for (source_topics, source_groups) in sources {
        for t in source_topics {
            if is_copied_topic(&t.topic_name, cluster, broker_names) && have_topics.insert(t.topic_name.clone()) {
                topics.push(t.clone());
            }
        }
        for g in source_groups {
            if have_groups.insert(g.group_name.clone()) {
                groups.push(g.clone());
            }
        }
    }
    (topics, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, seeded: bool, has_master: bool) -> GroupSeed {
        GroupSeed { name: name.into(), seeded, has_master }
    }

    fn topic(name: &str) -> TopicConfig {
        TopicConfig { topic_name: name.into(), ..TopicConfig::default() }
    }

    fn consumer_group(name: &str) -> GroupConfig {
        GroupConfig { group_name: name.into(), ..GroupConfig::default() }
    }

    #[test]
    fn a_new_clusters_groups_are_marked_seeded_without_copying() {
        let actions = plan(&[group("b-0", false, true), group("b-1", false, false)]);
        assert_eq!(actions, vec![SeedAction::MarkSeeded("b-0".into())]);
    }

    #[test]
    fn a_group_added_later_is_seeded_from_the_seeded_groups_with_a_master() {
        let groups = [group("b-0", true, true), group("b-1", true, false), group("b-2", false, true)];
        assert_eq!(plan(&groups), vec![SeedAction::Seed { target: "b-2".into(), sources: vec!["b-0".into()] }]);
    }

    #[test]
    fn a_new_group_waits_for_its_master_and_for_a_source() {
        assert!(plan(&[group("b-0", true, true), group("b-1", false, false)]).is_empty());
        assert!(plan(&[group("b-0", true, false), group("b-1", false, true)]).is_empty());
        assert!(plan(&[group("b-0", true, true), group("b-1", true, true)]).is_empty());
    }

    #[test]
    fn only_users_topics_and_groups_the_target_lacks_are_copied() {
        let brokers: BTreeSet<String> = ["b-0".to_owned(), "b-1".to_owned()].into();
        let source = (
            ["orders", "TBW102", "%RETRY%cg", "%DLQ%cg", "demo", "demo_REPLY_TOPIC", "b-0", "rmq_sys_x", "payments"]
                .map(topic)
                .to_vec(),
            vec![consumer_group("cg"), consumer_group("TOOLS_CONSUMER")],
        );
        let second = (vec![topic("orders"), topic("audit")], vec![consumer_group("cg2")]);
        let target = (vec![topic("TBW102"), topic("b-1"), topic("payments")], vec![consumer_group("TOOLS_CONSUMER")]);
        let (topics, groups) = missing(&[source, second], &target, "demo", &brokers);
        let names: Vec<_> = topics.iter().map(|t| t.topic_name.as_str()).collect();
        assert_eq!(names, ["orders", "audit"]);
        let names: Vec<_> = groups.iter().map(|g| g.group_name.as_str()).collect();
        assert_eq!(names, ["cg", "cg2"]);
    }
}

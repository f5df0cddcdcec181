//! A topic's route as the client uses it: the queues it may write (masters with write permission)
//! and read, and each broker group's addresses.

use std::collections::BTreeMap;

use rmq_remoting::protocol::body::{perm, TopicRouteData};

use crate::message::MessageQueue;

/// The master's broker id.
pub const MASTER_ID: i64 = 0;

/// A topic's route, derived once from the NameServer's `TopicRouteData`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicRoute {
    /// The topic.
    pub topic: String,
    /// Writable queues, ordered by broker name then queue id.
    pub write_queues: Vec<MessageQueue>,
    /// Readable queues, ordered by broker name then queue id.
    pub read_queues: Vec<MessageQueue>,
    /// Broker name → (broker id → address).
    pub brokers: BTreeMap<String, BTreeMap<i64, String>>,
    /// Whether the topic is ordered (has an `orderTopicConf`).
    pub ordered: bool,
    /// The raw route.
    pub raw: TopicRouteData,
}

impl TopicRoute {
    /// Builds the route of `topic` from the NameServer's answer.
    pub fn new(topic: &str, raw: TopicRouteData) -> Self {
        Self::with_queue_limit(topic, raw, None)
    }

    /// Like [`TopicRoute::new`], capping each broker's queues (the Java client's
    /// `defaultTopicQueueNums` when it borrows the `TBW102` route for a topic to be auto-created).
    pub fn with_queue_limit(topic: &str, raw: TopicRouteData, limit: Option<i32>) -> Self {
        let mut brokers = BTreeMap::new();
        for b in &raw.broker_datas {
            brokers.insert(b.broker_name.clone(), b.broker_addrs.clone());
        }
        let mut write_queues = Vec::new();
        let mut read_queues = Vec::new();
        let mut queue_datas = raw.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for q in &queue_datas {
            let cap = |n: i32| limit.map_or(n, |l| n.min(l)).max(0);
            let has_master = brokers.get(&q.broker_name).is_some_and(|a| a.contains_key(&MASTER_ID));
            if q.perm & perm::WRITE != 0 && has_master {
                write_queues.extend((0..cap(q.write_queue_nums)).map(|id| mq(topic, &q.broker_name, id)));
            }
            if q.perm & perm::READ != 0 {
                read_queues.extend((0..cap(q.read_queue_nums)).map(|id| mq(topic, &q.broker_name, id)));
            }
        }
        TopicRoute {
            topic: topic.to_owned(),
            write_queues,
            read_queues,
            brokers,
            ordered: raw.order_topic_conf.as_deref().is_some_and(|c| !c.is_empty()),
            raw,
        }
    }

    /// The master address of `broker_name`.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.brokers.get(broker_name).and_then(|a| a.get(&MASTER_ID)).map(String::as_str)
    }

    /// The address to read from: the suggested broker id when known, else the master, else any.
    pub fn read_addr(&self, broker_name: &str, suggested_id: i64) -> Option<&str> {
        let addrs = self.brokers.get(broker_name)?;
        addrs.get(&suggested_id).or_else(|| addrs.get(&MASTER_ID)).or_else(|| addrs.values().next()).map(String::as_str)
    }
}

fn mq(topic: &str, broker: &str, queue_id: i32) -> MessageQueue {
    MessageQueue { topic: topic.to_owned(), broker_name: broker.to_owned(), queue_id }
}

#[cfg(test)]
mod tests {
    use rmq_remoting::protocol::body::{BrokerData, QueueData};

    use super::*;

    fn route() -> TopicRouteData {
        let broker = |name: &str, ids: &[i64]| BrokerData {
            broker_name: name.into(),
            broker_addrs: ids.iter().map(|id| (*id, format!("{name}:{id}"))).collect(),
            ..Default::default()
        };
        let queues = |name: &str, n: i32, p: i32| QueueData {
            broker_name: name.into(),
            read_queue_nums: n,
            write_queue_nums: n,
            perm: p,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            queue_datas: vec![
                queues("b", 2, perm::READ_WRITE),
                queues("a", 3, perm::READ),
                queues("c", 1, perm::READ_WRITE),
            ],
            broker_datas: vec![broker("a", &[0]), broker("b", &[0, 1]), broker("c", &[1])],
            ..Default::default()
        }
    }

    #[test]
    fn only_writable_queues_with_a_master_are_published() {
        let r = TopicRoute::new("t", route());
        let names: Vec<_> = r.write_queues.iter().map(|q| (q.broker_name.as_str(), q.queue_id)).collect();
        assert_eq!(names, vec![("b", 0), ("b", 1)]);
        assert_eq!(r.read_queues.len(), 6);
    }

    #[test]
    fn read_address_prefers_the_suggested_broker_then_the_master() {
        let r = TopicRoute::new("t", route());
        assert_eq!(r.read_addr("b", 1), Some("b:1"));
        assert_eq!(r.read_addr("b", 7), Some("b:0"));
        assert_eq!(r.read_addr("c", 0), Some("c:1"));
        assert_eq!(r.master_addr("c"), None);
    }

    #[test]
    fn queue_limit_caps_borrowed_default_routes() {
        let r = TopicRoute::with_queue_limit("t", route(), Some(1));
        assert_eq!(r.write_queues.len(), 1);
    }
}

//! How a consumer group shares a topic's queues: each member runs the same deterministic
//! strategy over the same sorted queue and member lists and takes its own share, so every queue
//! goes to exactly one member. The strategies compute what the Java client's do, so Rust and
//! Java consumers can share a group.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::message::MessageQueue;

/// A queue allocation strategy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Contiguous, nearly equal ranges (Java `AllocateMessageQueueAveragely`, the default).
    #[default]
    Average,
    /// Round-robin dealing (Java `AllocateMessageQueueAveragelyByCircle`).
    AverageByCircle,
    /// A hash ring with virtual nodes: few queues move when members come and go
    /// (Java `AllocateMessageQueueConsistentHash`).
    ConsistentHash {
        /// Virtual nodes per member (Java's default is 10).
        virtual_nodes: usize,
    },
    /// Only queues of brokers named `<room>@<name>` whose room is listed, shared evenly
    /// (Java `AllocateMessageQueueByMachineRoom`).
    MachineRoom {
        /// The rooms this group consumes from.
        rooms: Vec<String>,
    },
}

impl Allocation {
    /// The Java-compatible strategy name.
    pub fn name(&self) -> &'static str {
        match self {
            Allocation::Average => "AVG",
            Allocation::AverageByCircle => "AVG_BY_CIRCLE",
            Allocation::ConsistentHash { .. } => "CONSISTENT_HASH",
            Allocation::MachineRoom { .. } => "MACHINE_ROOM",
        }
    }

    /// The queues `me` takes. `queues` and `members` must be sorted; an unknown `me` gets none.
    pub fn allocate(&self, me: &str, queues: &[MessageQueue], members: &[String]) -> Vec<MessageQueue> {
        let Some(index) = members.iter().position(|m| m == me) else { return Vec::new() };
        if queues.is_empty() {
            return Vec::new();
        }
        match self {
            Allocation::Average => average(index, queues, members.len()),
            Allocation::AverageByCircle => queues.iter().skip(index).step_by(members.len()).cloned().collect(),
            Allocation::ConsistentHash { virtual_nodes } => consistent_hash(me, queues, members, *virtual_nodes),
            Allocation::MachineRoom { rooms } => machine_room(index, queues, members.len(), rooms),
        }
    }
}

fn average(index: usize, queues: &[MessageQueue], members: usize) -> Vec<MessageQueue> {
    let n = queues.len();
    let rem = n % members;
    let size = if n <= members {
        1
    } else if rem > 0 && index < rem {
        n / members + 1
    } else {
        n / members
    };
    let start = if rem > 0 && index < rem { index * size } else { index * size + rem };
    let count = size.min(n.saturating_sub(start));
    (0..count).map(|i| queues[(start + i) % n].clone()).collect()
}

fn machine_room(index: usize, queues: &[MessageQueue], members: usize, rooms: &[String]) -> Vec<MessageQueue> {
    let in_rooms: Vec<&MessageQueue> = queues
        .iter()
        .filter(|q| q.broker_name.split_once('@').is_some_and(|(room, _)| rooms.iter().any(|r| r == room)))
        .collect();
    let per = in_rooms.len() / members;
    let rem = in_rooms.len() % members;
    let mut mine: Vec<MessageQueue> = in_rooms[per * index..per * (index + 1)].iter().map(|q| (*q).clone()).collect();
    if rem > index {
        mine.push(in_rooms[index + per * members].clone());
    }
    mine
}

/// Java's `MD5Hash`: the first 4 digest bytes, big-endian, as a non-negative long.
fn md5_hash(key: &str) -> u32 {
    let digest = Md5::digest(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Java's `MessageQueue.toString()`, the key hashed onto the ring.
fn queue_key(q: &MessageQueue) -> String {
    format!("MessageQueue [topic={}, brokerName={}, queueId={}]", q.topic, q.broker_name, q.queue_id)
}

fn consistent_hash(me: &str, queues: &[MessageQueue], members: &[String], virtual_nodes: usize) -> Vec<MessageQueue> {
    let mut ring: BTreeMap<u32, &str> = BTreeMap::new();
    for m in members {
        for i in 0..virtual_nodes.max(1) {
            ring.insert(md5_hash(&format!("{m}-{i}")), m);
        }
    }
    queues
        .iter()
        .filter(|q| {
            let h = md5_hash(&queue_key(q));
            let owner = ring.range(h..).next().or_else(|| ring.iter().next()).map(|(_, m)| *m);
            owner == Some(me)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn queues(brokers: &[&str], per_broker: i32) -> Vec<MessageQueue> {
        let mut qs: Vec<MessageQueue> = brokers
            .iter()
            .flat_map(|b| {
                (0..per_broker).map(move |i| MessageQueue { topic: "t".into(), broker_name: (*b).into(), queue_id: i })
            })
            .collect();
        qs.sort();
        qs
    }

    fn members(n: usize) -> Vec<String> {
        let mut m: Vec<String> = (0..n).map(|i| format!("10.0.0.{i}@{i}")).collect();
        m.sort();
        m
    }

    /// Every queue (in a listed room, for the machine-room strategy) goes to exactly one member.
    fn assert_partition(strategy: &Allocation, qs: &[MessageQueue], ms: &[String], expected: &[MessageQueue]) {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for m in ms {
            for q in strategy.allocate(m, qs, ms) {
                total += 1;
                assert!(
                    seen.insert(q.clone()),
                    "{strategy:?}: {q:?} given twice ({} queues, {} members)",
                    qs.len(),
                    ms.len()
                );
            }
        }
        assert_eq!(total, expected.len(), "{strategy:?} with {} queues and {} members", qs.len(), ms.len());
        assert_eq!(seen, expected.iter().cloned().collect(), "{strategy:?}");
    }

    #[test]
    fn every_strategy_gives_each_queue_to_exactly_one_member() {
        let strategies =
            [Allocation::Average, Allocation::AverageByCircle, Allocation::ConsistentHash { virtual_nodes: 10 }];
        for brokers in [&["a"][..], &["a", "b"], &["a", "b", "c"]] {
            for per_broker in 1..=9 {
                let qs = queues(brokers, per_broker);
                for n in 1..=12 {
                    let ms = members(n);
                    for s in &strategies {
                        assert_partition(s, &qs, &ms, &qs);
                    }
                }
            }
        }
    }

    #[test]
    fn machine_room_shares_only_the_listed_rooms_queues() {
        let qs = queues(&["hz@a", "sh@b", "bj@c"], 5);
        let strategy = Allocation::MachineRoom { rooms: vec!["hz".into(), "sh".into()] };
        let expected: Vec<MessageQueue> = qs.iter().filter(|q| !q.broker_name.starts_with("bj@")).cloned().collect();
        for n in 1..=12 {
            assert_partition(&strategy, &qs, &members(n), &expected);
        }
    }

    #[test]
    fn average_gives_contiguous_ranges_like_java() {
        let qs = queues(&["a"], 8);
        let ms = members(3);
        let ids = |m: &String| Allocation::Average.allocate(m, &qs, &ms).iter().map(|q| q.queue_id).collect::<Vec<_>>();
        assert_eq!(ids(&ms[0]), vec![0, 1, 2]);
        assert_eq!(ids(&ms[1]), vec![3, 4, 5]);
        assert_eq!(ids(&ms[2]), vec![6, 7]);
    }

    #[test]
    fn a_member_not_in_the_list_gets_nothing() {
        assert!(Allocation::Average.allocate("stranger", &queues(&["a"], 4), &members(2)).is_empty());
    }

    #[test]
    fn consistent_hash_moves_few_queues_when_a_member_joins() {
        let qs = queues(&["a", "b"], 16);
        let s = Allocation::ConsistentHash { virtual_nodes: 10 };
        let before = members(4);
        let mut after = members(5);
        after.sort();
        let owner = |ms: &[String], q: &MessageQueue| ms.iter().find(|m| s.allocate(m, &qs, ms).contains(q)).cloned();
        let moved = qs.iter().filter(|q| owner(&before, q) != owner(&after, q)).count();
        assert!(moved < qs.len() / 2, "{moved} of {} queues moved", qs.len());
    }
}

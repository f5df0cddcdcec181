//! REGISTER_BROKER and UNREGISTER_BROKER against the route table (broker-semantics §8.2):
//! who may change topic queues, when they are rewritten, and what a slave is told.

use std::collections::BTreeMap;

use rmq_remoting::protocol::body::{perm, BrokerData, QueueData, TopicConfig};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{BrokerAddr, LiveBroker, Registered, Registration, RouteTable, Tables};

impl RouteTable {
    /// Applies one registration at `now`.
    ///
    /// Only the master (id 0) rewrites topic queues, or, for 5.x brokers (which send
    /// `enableActingMaster`), the slave with the lowest id when no master is registered. Queues
    /// are rewritten on the first registration of the address, when the broker's DataVersion
    /// changed, or for topics this broker is missing from.
    pub fn register(&self, reg: Registration, now: Instant) -> Registered {
        let mut guard = self.write();
        let Tables { topics, brokers, clusters, live } = &mut *guard;
        let key = BrokerAddr::new(&reg.cluster, &reg.broker_addr);

        clusters.entry(reg.cluster.clone()).or_default().insert(reg.broker_name.clone());
        let mut first = !brokers.contains_key(&reg.broker_name);
        let broker = brokers.entry(reg.broker_name.clone()).or_insert_with(|| BrokerData {
            cluster: reg.cluster.clone(),
            broker_name: reg.broker_name.clone(),
            ..Default::default()
        });
        if let Some(acting) = reg.enable_acting_master {
            broker.enable_acting_master = acting;
        }
        // A process that restarted under a new id must not keep its old id.
        broker.broker_addrs.retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);

        // Another address holds this id with a newer state: this registration is stale.
        let incoming_state = reg.topics.data_version.state_version;
        if let Some(holder) = broker.broker_addrs.get(&reg.broker_id).filter(|a| **a != reg.broker_addr) {
            let holder_state = live.get(&BrokerAddr::new(&reg.cluster, holder)).map(|l| l.data_version.state_version);
            if holder_state.is_some_and(|s| s > incoming_state) {
                warn!(broker = %key, id = reg.broker_id, %holder, "ignoring registration with an older stateVersion");
                live.remove(&key);
                return Registered::default();
            }
        }

        // The same address (a group's master Service, which an old and a new master both
        // register) with a newer state already live: this registration is the old master's.
        let same_newer = broker.broker_addrs.get(&reg.broker_id) == Some(&reg.broker_addr)
            && live.get(&key).is_some_and(|l| l.data_version.state_version > incoming_state);
        if same_newer {
            warn!(broker = %key, id = reg.broker_id, "ignoring registration with an older stateVersion for a live address");
            return Registered::default();
        }

        let previous = broker.broker_addrs.insert(reg.broker_id, reg.broker_addr.clone());
        first |= previous.as_deref().unwrap_or_default().is_empty();
        if first {
            info!(broker = %key, name = %reg.broker_name, id = reg.broker_id, "new broker registered");
        }

        let is_master = reg.broker_id == 0;
        let is_prime_slave = !is_master
            && reg.enable_acting_master.is_some()
            && broker.broker_addrs.keys().next() == Some(&reg.broker_id);
        if is_master || is_prime_slave {
            let version_changed = !live.get(&key).is_some_and(|l| l.data_version == reg.topics.data_version);
            let strip_write = is_prime_slave && broker.enable_acting_master;
            for (name, config) in &reg.topics.topic_config_table {
                let topic = if config.topic_name.is_empty() { name } else { &config.topic_name };
                let missing = !topics.get(topic).is_some_and(|q| q.contains_key(&reg.broker_name));
                if first || version_changed || missing {
                    upsert_queue_data(topics, topic, &reg.broker_name, config, strip_write);
                }
            }
        }

        let mut registered = Registered::default();
        if !is_master {
            if let Some(master) = broker.broker_addrs.get(&0) {
                if let Some(master_live) = live.get(&BrokerAddr::new(&reg.cluster, master)) {
                    registered.master_addr = Some(master.clone());
                    registered.ha_server_addr = master_live.ha_server_addr.clone();
                }
            }
        }

        live.insert(
            key,
            LiveBroker {
                last_update: now,
                timeout: reg.timeout,
                data_version: reg.topics.data_version,
                conn: reg.conn,
                ha_server_addr: reg.ha_server_addr,
            },
        );
        registered
    }

    /// UNREGISTER_BROKER: removes the process at `key` from `broker_name` (§8.3).
    pub fn unregister(&self, key: &BrokerAddr, broker_name: &str) {
        info!(broker = %key, name = %broker_name, "broker unregistered");
        self.write().remove_broker_addr(key, Some(broker_name));
    }
}

fn upsert_queue_data(
    topics: &mut BTreeMap<String, BTreeMap<String, QueueData>>,
    topic: &str,
    broker_name: &str,
    config: &TopicConfig,
    strip_write: bool,
) {
    let perm = if strip_write { config.perm & !perm::WRITE } else { config.perm };
    let queue = QueueData {
        broker_name: broker_name.to_owned(),
        read_queue_nums: config.read_queue_nums,
        write_queue_nums: config.write_queue_nums,
        perm,
        topic_sys_flag: config.topic_sys_flag,
    };
    let queues = topics.entry(topic.to_owned()).or_default();
    match queues.insert(broker_name.to_owned(), queue.clone()) {
        None => debug!(%topic, broker = %broker_name, ?queue, "topic route added"),
        Some(old) if old != queue => {
            debug!(%topic, broker = %broker_name, ?old, new = ?queue, "topic route changed")
        }
        Some(_) => {}
    }
}

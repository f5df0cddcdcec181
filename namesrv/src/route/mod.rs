//! The route table (Apache's `RouteInfoManager`): which brokers exist, which cluster each
//! belongs to, which topics each serves with how many queues, and which brokers are alive.
//!
//! All four tables sit behind one `RwLock`, as in Apache, so every operation sees and leaves
//! them consistent. The lock is a `std` lock: nothing is awaited while it is held.
//!
//! - [`register`]: REGISTER_BROKER, UNREGISTER_BROKER and the removal rule shared by every
//!   way a broker leaves.
//! - [`liveness`]: heartbeats, data-version queries, expiry and closed connections.
//! - [`topics`]: route and topic-list queries and topic administration.

mod liveness;
mod register;
#[cfg(test)]
mod tests;
mod topics;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use rmq_remoting::protocol::body::{BrokerData, DataVersion, QueueData, TopicConfigWrapper};
use rmq_remoting::rpc::ConnectionId;
use tokio::time::Instant;

pub use topics::{UnitFilter, UnknownBroker};

/// The NameServer's route state.
#[derive(Debug, Default)]
pub struct RouteTable {
    tables: RwLock<Tables>,
}

/// Identifies a live broker process: Apache's `BrokerAddrInfo` (cluster plus address).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddr {
    /// Cluster name.
    pub cluster: String,
    /// `ip:port` of the broker's main server.
    pub addr: String,
}

impl BrokerAddr {
    /// A key for `addr` in `cluster`.
    pub fn new(cluster: impl Into<String>, addr: impl Into<String>) -> Self {
        BrokerAddr { cluster: cluster.into(), addr: addr.into() }
    }
}

impl std::fmt::Display for BrokerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.addr, self.cluster)
    }
}

/// One REGISTER_BROKER, decoded.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Cluster name.
    pub cluster: String,
    /// Broker (group) name.
    pub broker_name: String,
    /// `ip:port` of the broker's main server.
    pub broker_addr: String,
    /// 0 for the master, > 0 for slaves.
    pub broker_id: i64,
    /// The broker's HA server address, handed to its slaves.
    pub ha_server_addr: Option<String>,
    /// How long the registration stays valid without a refresh.
    pub timeout: Duration,
    /// `enableActingMaster`; `None` means a pre-5.x broker.
    pub enable_acting_master: Option<bool>,
    /// The broker's topics and their version.
    pub topics: TopicConfigWrapper,
    /// The connection it arrived on; closing it unregisters the broker.
    pub conn: Option<ConnectionId>,
}

/// What a registering broker is told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    /// For a slave: its master's address, when the master is alive.
    pub master_addr: Option<String>,
    /// For a slave: its master's HA server address.
    pub ha_server_addr: Option<String>,
}

/// Liveness of one broker process (Apache's `BrokerLiveInfo`).
#[derive(Debug, Clone)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    conn: Option<ConnectionId>,
    ha_server_addr: Option<String>,
}

/// The tables, guarded together.
#[derive(Debug, Default)]
struct Tables {
    /// topic → broker name → queues.
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → addresses by id.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// live broker processes.
    live: HashMap<BrokerAddr, LiveBroker>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        // Poisoning means a panic mid-update; every update keeps the tables valid at each
        // step, so the data is still usable.
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tables {
    /// Removes one broker process (§8.3): its live entry and its address; when its broker
    /// name has no address left, the name leaves its cluster and every topic, and topics
    /// left without queues disappear. `broker_name` is looked up when not given.
    fn remove_broker_addr(&mut self, key: &BrokerAddr, broker_name: Option<&str>) {
        self.live.remove(key);
        let name = match broker_name {
            Some(name) => name.to_owned(),
            None => match self.broker_name_of(key) {
                Some(name) => name,
                None => return,
            },
        };
        let Some(data) = self.brokers.get_mut(&name) else {
            return;
        };
        data.broker_addrs.retain(|_, addr| *addr != key.addr);
        if !data.broker_addrs.is_empty() {
            return;
        }
        self.brokers.remove(&name);
        if let Some(names) = self.clusters.get_mut(&key.cluster) {
            names.remove(&name);
            if names.is_empty() {
                self.clusters.remove(&key.cluster);
            }
        }
        self.topics.retain(|_, queues| {
            queues.remove(&name);
            !queues.is_empty()
        });
    }

    /// The broker name under which `key` is registered.
    fn broker_name_of(&self, key: &BrokerAddr) -> Option<String> {
        self.brokers
            .values()
            .find(|b| b.cluster == key.cluster && b.broker_addrs.values().any(|a| *a == key.addr))
            .map(|b| b.broker_name.clone())
    }
}

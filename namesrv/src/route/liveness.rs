//! Broker liveness: refreshes (QUERY_DATA_VERSION, BROKER_HEARTBEAT), the periodic expiry
//! scan and closed connections. Each removal follows the rule in `Tables::remove_broker_addr`.

use rmq_remoting::protocol::body::DataVersion;
use rmq_remoting::rpc::ConnectionId;
use tokio::time::Instant;
use tracing::warn;

use super::{BrokerAddr, RouteTable};

impl RouteTable {
    /// Marks the process at `key` alive at `now`; unknown processes are ignored.
    pub fn touch(&self, key: &BrokerAddr, now: Instant) {
        if let Some(live) = self.write().live.get_mut(key) {
            live.last_update = now;
        }
    }

    /// QUERY_DATA_VERSION: whether `version` differs from the one last registered by `key`
    /// (true when `key` is unknown), and the registered one. Also refreshes liveness.
    pub fn query_data_version(
        &self,
        key: &BrokerAddr,
        version: &DataVersion,
        now: Instant,
    ) -> (bool, Option<DataVersion>) {
        let mut tables = self.write();
        match tables.live.get_mut(key) {
            None => (true, None),
            Some(live) => {
                live.last_update = now;
                (live.data_version != *version, Some(live.data_version.clone()))
            }
        }
    }

    /// Registered (not expired, not removed) broker processes per cluster.
    pub fn live_brokers_by_cluster(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for key in self.read().live.keys() {
            *counts.entry(key.cluster.clone()).or_default() += 1;
        }
        counts
    }

    /// Whether the process at `key` is registered and not yet expired or removed.
    pub fn is_live(&self, key: &BrokerAddr) -> bool {
        self.read().live.contains_key(key)
    }

    /// Removes every process whose last refresh is older than its timeout at `now`, and
    /// returns them.
    pub fn expire(&self, now: Instant) -> Vec<BrokerAddr> {
        let mut tables = self.write();
        let mut expired: Vec<BrokerAddr> =
            tables.live.iter().filter(|(_, l)| l.last_update + l.timeout < now).map(|(k, _)| k.clone()).collect();
        expired.sort();
        for key in &expired {
            warn!(broker = %key, "broker expired: no registration within its timeout");
            tables.remove_broker_addr(key, None);
        }
        expired
    }

    /// Removes every process registered over connection `conn`, and returns them.
    pub fn connection_closed(&self, conn: ConnectionId) -> Vec<BrokerAddr> {
        let mut tables = self.write();
        let mut gone: Vec<BrokerAddr> =
            tables.live.iter().filter(|(_, l)| l.conn == Some(conn)).map(|(k, _)| k.clone()).collect();
        gone.sort();
        for key in &gone {
            warn!(broker = %key, "broker connection closed; unregistering it");
            tables.remove_broker_addr(key, None);
        }
        gone
    }
}

//! Clusters and brokers: the broker list with each broker's version and TPS
//! (GET_BROKER_CLUSTER_INFO + GET_BROKER_RUNTIME_INFO), a broker's runtime statistics and its
//! configuration (GET_BROKER_CONFIG, UPDATE_BROKER_CONFIG).

use std::collections::BTreeMap;

use rmq_remoting::protocol::body::KvTable;
use rmq_remoting::{RemotingCommand, RequestCode};
use serde::Serialize;

use super::{parse_body, Admin, AdminResult};

/// One broker of a cluster, as `rmqadmin cluster list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterBroker {
    /// Cluster name.
    pub cluster: String,
    /// Broker (group) name.
    pub broker_name: String,
    /// Broker id: 0 for the master.
    pub broker_id: i64,
    /// `ip:port`.
    pub addr: String,
    /// `brokerVersionDesc`, e.g. `V5_3_3`; `None` when the runtime info could not be read.
    pub version: Option<String>,
    /// Messages put per second (first figure of `putTps`).
    pub in_tps: Option<f64>,
    /// Messages transferred to consumers per second (first figure of `getTransferredTps`).
    pub out_tps: Option<f64>,
    /// Whether the broker says it is active (`brokerActive`; `None` before 5.x).
    pub active: Option<bool>,
    /// Why the runtime info is missing, if it is.
    pub error: Option<String>,
}

impl Admin {
    /// Every broker of `cluster` (of all clusters when `None`), ordered by cluster, broker name and
    /// id, with the version and TPS each reports. A broker that does not answer is still listed,
    /// with [`ClusterBroker::error`] set.
    pub async fn cluster_list(&self, cluster: Option<&str>) -> AdminResult<Vec<ClusterBroker>> {
        let info = self.cluster_info().await?;
        if let Some(c) = cluster {
            if !info.cluster_addr_table.contains_key(c) {
                return Err(super::AdminError::not_found(format!("cluster {c} is not known to the NameServers")));
            }
        }
        let mut rows = Vec::new();
        for (cluster_name, names) in &info.cluster_addr_table {
            if cluster.is_some_and(|c| c != cluster_name) {
                continue;
            }
            for name in names {
                let Some(data) = info.broker_addr_table.get(name) else { continue };
                for (id, addr) in &data.broker_addrs {
                    rows.push(ClusterBroker {
                        cluster: cluster_name.clone(),
                        broker_name: name.clone(),
                        broker_id: *id,
                        addr: addr.clone(),
                        version: None,
                        in_tps: None,
                        out_tps: None,
                        active: None,
                        error: None,
                    });
                }
            }
        }
        let stats = futures::future::join_all(rows.iter().map(|r| self.broker_status(&r.addr))).await;
        for (row, stat) in rows.iter_mut().zip(stats) {
            match stat {
                Ok(table) => {
                    row.version = table.get("brokerVersionDesc").cloned();
                    row.in_tps = first_figure(table.get("putTps"));
                    row.out_tps = first_figure(table.get("getTransferredTps"));
                    row.active = table.get("brokerActive").map(|v| v.eq_ignore_ascii_case("true"));
                }
                Err(e) => row.error = Some(e.to_string()),
            }
        }
        Ok(rows)
    }

    /// The runtime statistics of the broker at `addr` (GET_BROKER_RUNTIME_INFO), by key.
    pub async fn broker_status(&self, addr: &str) -> AdminResult<BTreeMap<String, String>> {
        let resp = self.call_ok(addr, RemotingCommand::request(RequestCode::GetBrokerRuntimeInfo)).await?;
        let table: KvTable = parse_body(addr, &resp)?;
        Ok(table.table.into_iter().collect())
    }

    /// The configuration of the broker at `addr` (GET_BROKER_CONFIG), by key.
    pub async fn broker_config(&self, addr: &str) -> AdminResult<BTreeMap<String, String>> {
        let resp = self.call_ok(addr, RemotingCommand::request(RequestCode::GetBrokerConfig)).await?;
        Ok(parse_properties(&String::from_utf8_lossy(&resp.body)))
    }

    /// Changes configuration values of the broker at `addr` (UPDATE_BROKER_CONFIG, as
    /// `mqadmin updateBrokerConfig`); `brokerPermission` takes effect at once.
    pub async fn update_broker_config(&self, addr: &str, values: &BTreeMap<String, String>) -> AdminResult<()> {
        let body: String = values.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let request = RemotingCommand::request(RequestCode::UpdateBrokerConfig).with_body(body.into_bytes());
        self.call_ok(addr, request).await?;
        Ok(())
    }

    /// Master addresses of every broker group of `cluster`.
    pub async fn cluster_master_addrs(&self, cluster: &str) -> AdminResult<Vec<String>> {
        Ok(self.cluster_masters(cluster).await?.into_iter().map(|(_, addr)| addr).collect())
    }
}

/// The first number of a `"12.5 10.0 9.8"` TPS triple.
fn first_figure(v: Option<&String>) -> Option<f64> {
    v?.split_whitespace().next()?.parse().ok()
}

/// Parses the `key=value` lines of a broker's configuration; Java's `Properties.store` escapes
/// (`\:`, `\=`, `\\`) are undone, comments and blank lines skipped.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let unescape = |s: &str| {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| {
            // The first unescaped '=' or ':' separates key and value.
            let mut split = None;
            let mut escaped = false;
            for (i, c) in l.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '=' | ':' if !escaped => {
                        split = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            match split {
                Some(i) => (unescape(l[..i].trim()), unescape(l[i + 1..].trim())),
                None => (unescape(l), String::new()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tps_is_the_first_figure() {
        assert_eq!(first_figure(Some(&"12.5 10.0 9.8".to_owned())), Some(12.5));
        assert_eq!(first_figure(Some(&String::new())), None);
        assert_eq!(first_figure(None), None);
    }

    #[test]
    fn broker_config_lines_become_a_map() {
        let text = "brokerName=broker-a\nnamesrvAddr=127.0.0.1\\:9876\n# comment\n\nempty=\nstorePathRootDir=/tmp/x\n";
        let map = parse_properties(text);
        assert_eq!(map.get("brokerName").map(String::as_str), Some("broker-a"));
        assert_eq!(map.get("namesrvAddr").map(String::as_str), Some("127.0.0.1:9876"));
        assert_eq!(map.get("empty").map(String::as_str), Some(""));
        assert_eq!(map.len(), 4);
    }
}

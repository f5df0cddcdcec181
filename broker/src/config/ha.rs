//! Replication settings (`brokerRole`-related keys of Apache's `broker.conf`): the HA port, the
//! transfer's batch size and timeouts, and how many replicas a `SYNC_MASTER` send waits for.

use std::path::PathBuf;
use std::time::Duration;

use rmq_admin_api::connect::ClientTls;
use rmq_remoting::config::{ConfigError, Properties};

/// Master/slave replication settings, with Apache 5.3.3's defaults.
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `haListenPort` (default `listenPort + 1`).
    pub listen_port: u16,
    /// `haMasterAddress`: the master's HA address for a slave; learned from the NameServer
    /// registration when unset.
    pub master_address: Option<String>,
    /// `haSendHeartbeatInterval` (5 s): a slave reports its offset at least this often; an
    /// idle master sends an empty frame as often.
    pub heartbeat_interval: Duration,
    /// `haHousekeepingInterval` (20 s): a connection with nothing read for this long is closed.
    pub housekeeping_interval: Duration,
    /// `haTransferBatchSize` (32 KiB): bytes per transfer frame (whole records, at least one).
    pub transfer_batch_size: usize,
    /// `haMaxGapNotInSync` (256 MiB): a slave further behind is not in sync.
    pub max_gap_not_in_sync: i64,
    /// `slaveTimeout` (3 s): how long a `SYNC_MASTER` send waits for its replicas before
    /// FLUSH_SLAVE_TIMEOUT.
    pub slave_timeout: Duration,
    /// `inSyncReplicas` (1): copies a `SYNC_MASTER` send needs, the master's included.
    pub in_sync_replicas: usize,
    /// `minInSyncReplicas` (1): below this many in-sync copies a `SYNC_MASTER` send is refused
    /// before it is stored (IN_SYNC_REPLICAS_NOT_ENOUGH).
    pub min_in_sync_replicas: usize,
    /// `slaveReadEnable` (false): a slave serves pulls, and a master may suggest a slave.
    pub slave_read_enable: bool,
    /// `grpcAdminPort` (rmq; 0 = off): where the gRPC admin API listens.
    pub grpc_admin_port: u16,
    /// `groupPeers` (rmq): the gRPC admin addresses of the other members of this broker's group.
    /// When set, the group is fenced: a master accepts writes only while a majority of the group
    /// (itself included) confirmed its epoch within `fencingLease`.
    pub group_peers: Vec<String>,
    /// `fencingLease` (rmq, 1 s): how long a master's epoch confirmation lets it accept writes.
    /// Keep it below the failover controller's failover timeout.
    pub fencing_lease: Duration,
    /// Mutual TLS on the gRPC admin port (rmq: `grpcAdminTlsCertPath`, `grpcAdminTlsKeyPath`,
    /// `grpcAdminTlsTrustCertPath`, all or none). The same certificate is this broker's client
    /// identity towards its `groupPeers`.
    pub grpc_tls: Option<ClientTls>,
}

impl HaConfig {
    /// Reads the replication keys; `listen_port` is the broker's remoting port.
    pub fn load(props: &mut Properties, listen_port: u16) -> Result<HaConfig, ConfigError> {
        let millis = |props: &mut Properties, key: &str, default: u64| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(props.get(key, default)?))
        };
        HaConfig {
            // An ephemeral remoting port (0, tests) gets an ephemeral HA port too.
            listen_port: props.get("haListenPort", if listen_port == 0 { 0 } else { listen_port.saturating_add(1) })?,
            master_address: Some(props.get("haMasterAddress", String::new())?).filter(|a| !a.trim().is_empty()),
            heartbeat_interval: millis(props, "haSendHeartbeatInterval", 5_000)?.max(Duration::from_millis(100)),
            housekeeping_interval: millis(props, "haHousekeepingInterval", 20_000)?.max(Duration::from_millis(500)),
            transfer_batch_size: props.get("haTransferBatchSize", 32 * 1024usize)?.max(1024),
            max_gap_not_in_sync: props.get("haMaxGapNotInSync", 256 * 1024 * 1024i64)?,
            slave_timeout: millis(props, "slaveTimeout", 3_000)?,
            in_sync_replicas: props.get("inSyncReplicas", 1usize)?.max(1),
            min_in_sync_replicas: props.get("minInSyncReplicas", 1usize)?.max(1),
            slave_read_enable: props.get("slaveReadEnable", false)?,
            grpc_admin_port: props.get("grpcAdminPort", 0u16)?,
            group_peers: split_list(&props.get("groupPeers", String::new())?),
            fencing_lease: millis(props, "fencingLease", 1_000)?.max(Duration::from_millis(100)),
            grpc_tls: grpc_tls(props)?,
        }
        .validated()
    }

    fn validated(self) -> Result<HaConfig, ConfigError> {
        if !self.group_peers.is_empty() && self.grpc_admin_port == 0 {
            return Err(ConfigError::Invalid {
                key: "groupPeers".into(),
                value: self.group_peers.join(","),
                reason: "a fenced group needs grpcAdminPort set: peers confirm epochs over the gRPC admin API".into(),
            });
        }
        Ok(self)
    }

    /// Whether the group is fenced (`groupPeers` set).
    pub fn fenced_group(&self) -> bool {
        !self.group_peers.is_empty()
    }
}

/// The three `grpcAdminTls*` paths, all or none.
fn grpc_tls(props: &mut Properties) -> Result<Option<ClientTls>, ConfigError> {
    let keys = ["grpcAdminTlsCertPath", "grpcAdminTlsKeyPath", "grpcAdminTlsTrustCertPath"];
    let mut paths = Vec::new();
    for key in keys {
        paths.push(props.get(key, String::new())?);
    }
    match paths.iter().filter(|p| !p.is_empty()).count() {
        0 => Ok(None),
        3 => Ok(Some(ClientTls {
            cert: PathBuf::from(&paths[0]).into(),
            key: PathBuf::from(&paths[1]).into(),
            ca: PathBuf::from(&paths[2]).into(),
            domain: None,
        })),
        _ => Err(ConfigError::Invalid {
            key: "grpcAdminTlsCertPath".into(),
            value: paths.join(","),
            reason: "set grpcAdminTlsCertPath, grpcAdminTlsKeyPath and grpcAdminTlsTrustCertPath together".into(),
        }),
    }
}

/// `a, b;c` → `[a, b, c]`.
fn split_list(value: &str) -> Vec<String> {
    value.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

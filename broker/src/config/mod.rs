//! Typed broker configuration loaded from Apache's `broker.conf` key names and defaults.
//! Keys Apache knows but rmq does not implement are logged once as "accepted, not implemented";
//! keys nobody knows are logged as unknown; a malformed value stops startup naming the key.

use std::path::PathBuf;
use std::time::Duration;

use rmq_remoting::config::{ConfigError, Properties};
use rmq_store::{FlushMode, StoreConfig};

mod ha;
mod network;
pub use ha::HaConfig;
pub use network::NetworkConfig;

/// Replication role of this broker (`brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Master, replication is asynchronous.
    AsyncMaster,
    /// Master, sends wait for a slave.
    SyncMaster,
    /// Slave.
    Slave,
}

impl std::str::FromStr for BrokerRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            _ => Err("expected ASYNC_MASTER, SYNC_MASTER or SLAVE".into()),
        }
    }
}

/// When the CommitLog is forced to disk (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// In the background, every `flushIntervalCommitLog`.
    Async,
    /// Before a send is acknowledged.
    Sync,
}

impl std::str::FromStr for FlushDiskType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ASYNC_FLUSH" => Ok(FlushDiskType::Async),
            "SYNC_FLUSH" => Ok(FlushDiskType::Sync),
            _ => Err("expected ASYNC_FLUSH or SYNC_FLUSH".into()),
        }
    }
}

/// Message and topic policy.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// `autoCreateTopicEnable`.
    pub auto_create_topic: bool,
    /// `autoCreateSubscriptionGroup`.
    pub auto_create_group: bool,
    /// `defaultTopicQueueNums` (TBW102 queues).
    pub default_topic_queue_nums: i32,
    /// `brokerPermission`.
    pub broker_permission: i32,
    /// `clusterTopicEnable`.
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable`.
    pub broker_topic_enable: bool,
    /// `longPollingEnable`.
    pub long_polling: bool,
    /// `shortPollingTimeMills`.
    pub short_polling: Duration,
    /// `regionId`, echoed in send responses.
    pub region_id: String,
    /// `traceOn`, echoed in send responses.
    pub trace_on: bool,
    /// `enablePropertyFilter`: allow SQL92 subscriptions.
    pub property_filter: bool,
    /// `useServerSideResetOffset` (Apache 5.x, default on): `resetOffsetByTime` moves the offsets
    /// on the broker, and the group's next pull of each queue is answered with the new offset.
    pub server_side_reset_offset: bool,
    /// The message-trace topic created at start (`msgTraceTopicName`, default
    /// `RMQ_SYS_TRACE_TOPIC`) when `traceTopicEnable=true`.
    pub trace_topic: Option<String>,
}

/// The whole broker configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId` (0 = master).
    pub broker_id: i64,
    /// `brokerRole`.
    pub role: BrokerRole,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// Network settings.
    pub network: NetworkConfig,
    /// Policy settings.
    pub policy: PolicyConfig,
    /// `storePathRootDir`.
    pub store_root: PathBuf,
    /// `storePathCommitLog`.
    pub commit_log_dir: PathBuf,
    /// `mappedFileSizeCommitLog`.
    pub commit_log_file_size: u64,
    /// `mappedFileSizeConsumeQueue`.
    pub consume_queue_file_size: u64,
    /// `maxMessageSize` (body limit).
    pub max_message_size: usize,
    /// Transactions.
    pub transaction: crate::transaction::TransactionConfig,
    /// Master/slave replication.
    pub ha: HaConfig,
    /// `messageDelayLevel`.
    pub delay_levels: crate::schedule::delay::DelayLevels,
    /// RocketMQ 5 timer messages: `timerWheelEnable`, `timerMaxDelaySec`.
    pub timer: crate::schedule::timer::TimerConfig,
    /// `messageIndexEnable`: build the key/UNIQ_KEY index.
    pub message_index_enable: bool,
    /// `maxHashSlotNum` of each index file.
    pub max_hash_slot_num: usize,
    /// `maxIndexNum` of each index file.
    pub max_index_num: usize,
    /// `flushIntervalCommitLog`.
    pub flush_interval: Duration,
    /// `flushConsumerOffsetInterval`.
    pub flush_offset_interval: Duration,
    /// `syncFlushTimeout`: how long a `SYNC_FLUSH` send waits for its flush.
    pub sync_flush_timeout: Duration,
    /// `deleteWhen` (parsed; retention runs under the storage work).
    pub delete_when: String,
    /// `fileReservedTime` in hours.
    pub file_reserved_hours: u32,
    /// `diskMaxUsedSpaceRatio`, `diskSpaceCleanForciblyRatio`, `diskSpaceWarningLevelRatio` (%).
    pub disk_ratios: (u32, u32, u32),
    /// `cleanResourceInterval`.
    pub clean_interval: Duration,
    /// `diskBudgetBytes` (rmq): a disk quota for the store instead of the file system's size.
    pub disk_budget_bytes: Option<u64>,
    /// `/metrics`, `/healthz`, `/readyz`: `metricsExporterType`, `metricsPromExporterPort`, ….
    pub metrics: crate::metrics::MetricsConfig,
    /// ACL 1.0: `aclEnable`, the `plain_acl.yml` file.
    pub acl: crate::acl::AclConfig,
    /// TLS on the remoting ports: Apache's `tls.server.*` keys (or the file `tls.config.file`).
    pub tls: rmq_remoting::rpc::tls::TlsSettings,
    /// The broker's own client: `innerClientAuthenticationCredentials`, `tls.enable`, `tls.client.*`.
    pub outbound: crate::outbound::OutboundConfig,
    /// Every effective key/value, as `GET_BROKER_CONFIG` shows them.
    pub display: Vec<(String, String)>,
}

/// Keys of Apache's BrokerConfig, MessageStoreConfig, NettyServerConfig and NettyClientConfig
/// that rmq accepts without acting on them.
const APACHE_KEYS: &[&str] = &[
    "rocketmqHome",
    "brokerPermission",
    "defaultQueryMaxNum",
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "queryMessageThreadPoolNums",
    "adminBrokerThreadPoolNums",
    "clientManageThreadPoolNums",
    "consumerManageThreadPoolNums",
    "heartbeatThreadPoolNums",
    "endTransactionThreadPoolNums",
    "flushConsumerOffsetHistoryInterval",
    "rejectTransactionMessage",
    "fetchNamesrvAddrByAddressServer",
    "sendThreadPoolQueueCapacity",
    "pullThreadPoolQueueCapacity",
    "filterServerNums",
    "offsetCheckInSlave",
    "transferMsgByHeap",
    "maxDelayTime",
    "disableConsumeIfConsumerReadSlowly",
    "consumerFallbehindThreshold",
    "brokerFastFailureEnable",
    "osPageCacheBusyTimeOutMills",
    "enablePropertyFilter",
    "filterSupportRetry",
    "messageDelayLevel",
    "flushDiskTypeSync",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "flushCommitLogLeastPages",
    "flushConsumeQueueLeastPages",
    "flushCommitLogThoroughInterval",
    "flushConsumeQueueThoroughInterval",
    "flushIntervalConsumeQueue",
    "cleanResourceInterval",
    "deleteCommitLogFilesInterval",
    "deleteConsumeQueueFilesInterval",
    "destroyMapedFileIntervalForcibly",
    "redeleteHangedFileInterval",
    "diskMaxUsedSpaceRatio",
    "diskSpaceWarningLevelRatio",
    "diskSpaceCleanForciblyRatio",
    "cleanFileForciblyEnable",
    "messageIndexEnable",
    "maxHashSlotNum",
    "maxIndexNum",
    "maxMsgsNumBatch",
    "messageIndexSafe",
    "transientStorePoolEnable",
    "transientStorePoolSize",
    "warmMapedFileEnable",
    "useReentrantLockWhenPutMessage",
    "checkCRCOnRecover",
    "accessMessageInMemoryMaxRatio",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    "maxTransferBytesOnMessageInDisk",
    "maxTransferCountOnMessageInDisk",
    "enableConsumeQueueExt",
    "duplicationEnable",
    "enableDLegerCommitLog",
    "dLegerGroup",
    "dLegerPeers",
    "dLegerSelfId",
    "enableControllerMode",
    "controllerAddr",
    "timerPrecisionMs",
    "transactionTimeOut",
    "transactionCheckMax",
    "transactionCheckInterval",
    "totalReplicas",
    "enableSlaveActingMaster",
    "enableActingMaster",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "connectTimeoutMillis",
    "clientChannelMaxIdleTimeSeconds",
    "useTLS",
    "storeType",
    "commitIntervalCommitLog",
    "commitCommitLogLeastPages",
    "fileReservedTime",
    "deleteWhen",
    "compressedRegister",
    "forceRegister",
    "brokerRole",
    "autoDeleteUnusedStats",
    "isolateLogEnable",
    "notifyConsumerIdsChangedEnable",
    "enableNotifyAfterPopOrderLockRelease",
    "enableSplitRegistration",
];

fn millis(props: &mut Properties, key: &str, default: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(props.get(key, default)?))
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

impl BrokerConfig {
    /// Builds the config from properties; `NAMESRV_ADDR` is used when `namesrvAddr` is absent.
    pub fn from_properties(mut props: Properties) -> Result<Self, ConfigError> {
        if props.raw("namesrvAddr").is_none() {
            if let Ok(env) = std::env::var("NAMESRV_ADDR") {
                props.set("namesrvAddr", env);
            }
        }
        let store_root: PathBuf = props.get("storePathRootDir", home().join("store"))?;
        let network = NetworkConfig::load(&mut props)?;
        let cfg = BrokerConfig {
            cluster_name: props.get("brokerClusterName", "DefaultCluster".to_owned())?,
            broker_name: props.get("brokerName", "DEFAULT_BROKER".to_owned())?,
            broker_id: props.get("brokerId", 0i64)?,
            role: props.get("brokerRole", BrokerRole::AsyncMaster)?,
            flush_disk_type: props.get("flushDiskType", FlushDiskType::Async)?,
            ha: HaConfig::load(&mut props, network.listen_port)?,
            policy: PolicyConfig {
                auto_create_topic: props.get("autoCreateTopicEnable", true)?,
                auto_create_group: props.get("autoCreateSubscriptionGroup", true)?,
                default_topic_queue_nums: props.get("defaultTopicQueueNums", 8i32)?,
                broker_permission: props.get("brokerPermission", 6i32)?,
                cluster_topic_enable: props.get("clusterTopicEnable", true)?,
                broker_topic_enable: props.get("brokerTopicEnable", true)?,
                long_polling: props.get("longPollingEnable", true)?,
                short_polling: millis(&mut props, "shortPollingTimeMills", 1000)?,
                region_id: props.get("regionId", "DefaultRegion".to_owned())?,
                trace_on: props.get("traceOn", true)?,
                property_filter: props.get("enablePropertyFilter", false)?,
                server_side_reset_offset: props.get("useServerSideResetOffset", true)?,
                trace_topic: props
                    .get("traceTopicEnable", false)?
                    .then(|| props.get("msgTraceTopicName", "RMQ_SYS_TRACE_TOPIC".to_owned()))
                    .transpose()?,
            },
            metrics: crate::metrics::MetricsConfig::load(&mut props, network.bind_address)?,
            network,
            commit_log_dir: props.get("storePathCommitLog", store_root.join("commitlog"))?,
            store_root,
            commit_log_file_size: props.get("mappedFileSizeCommitLog", 1024 * 1024 * 1024u64)?,
            consume_queue_file_size: props.get("mappedFileSizeConsumeQueue", 300_000 * 20u64)?,
            max_message_size: props.get("maxMessageSize", 4 * 1024 * 1024usize)?,
            timer: crate::schedule::timer::TimerConfig {
                enabled: props.get("timerWheelEnable", true)?,
                max_delay: Duration::from_secs(props.get("timerMaxDelaySec", 3 * 24 * 3600u64)?),
            },
            delay_levels: props.get(
                "messageDelayLevel",
                crate::schedule::delay::DelayLevels::parse(crate::schedule::delay::DEFAULT_LEVELS).map_err(
                    |reason| ConfigError::Invalid { key: "messageDelayLevel".into(), value: String::new(), reason },
                )?,
            )?,
            message_index_enable: props.get("messageIndexEnable", true)?,
            transaction: crate::transaction::TransactionConfig {
                timeout: millis(&mut props, "transactionTimeOut", 6_000)?,
                check_max: props.get("transactionCheckMax", 15i32)?,
                check_interval: millis(&mut props, "transactionCheckInterval", 30_000)?.max(Duration::from_millis(100)),
            },
            max_hash_slot_num: props.get("maxHashSlotNum", 5_000_000usize)?,
            max_index_num: props.get("maxIndexNum", 20_000_000usize)?,
            flush_interval: millis(&mut props, "flushIntervalCommitLog", 500)?,
            flush_offset_interval: millis(&mut props, "flushConsumerOffsetInterval", 5000)?,
            sync_flush_timeout: millis(&mut props, "syncFlushTimeout", 5000)?,
            delete_when: props.get("deleteWhen", "04".to_owned())?,
            file_reserved_hours: props.get("fileReservedTime", 72u32)?,
            disk_ratios: (
                props.get("diskMaxUsedSpaceRatio", 75u32)?,
                props.get("diskSpaceCleanForciblyRatio", 85u32)?,
                props.get("diskSpaceWarningLevelRatio", 90u32)?,
            ),
            clean_interval: millis(&mut props, "cleanResourceInterval", 10_000)?,
            disk_budget_bytes: match props.get("diskBudgetBytes", 0u64)? {
                0 => None,
                n => Some(n),
            },
            acl: crate::acl::AclConfig::load(&mut props)?,
            tls: rmq_remoting::rpc::tls::TlsSettings::load(&mut props)?,
            outbound: Default::default(),
            display: Vec::new(),
        };
        let outbound = crate::outbound::OutboundConfig::load(&mut props, cfg.tls.mode)?;
        let (accepted, unknown) = props.leftovers(APACHE_KEYS);
        for key in accepted {
            tracing::info!(%key, "config key accepted, not implemented");
        }
        for key in unknown {
            tracing::warn!(%key, "unknown config key (likely a typo); ignored");
        }
        let mut cfg = BrokerConfig { outbound, ..cfg };
        if cfg.acl.enabled && cfg.ha.grpc_admin_port != 0 && cfg.ha.grpc_tls.is_none() {
            return Err(ConfigError::Invalid {
                key: "grpcAdminPort".into(),
                value: cfg.ha.grpc_admin_port.to_string(),
                reason: "with aclEnable=true the gRPC admin API needs mutual TLS: set grpcAdminTlsCertPath, \
                         grpcAdminTlsKeyPath and grpcAdminTlsTrustCertPath (or grpcAdminPort=0)"
                    .into(),
            });
        }
        match cfg.role {
            BrokerRole::Slave if cfg.broker_id <= 0 => {
                return Err(ConfigError::Invalid {
                    key: "brokerId".into(),
                    value: cfg.broker_id.to_string(),
                    reason: "a SLAVE needs a brokerId > 0".into(),
                })
            }
            BrokerRole::Slave => {}
            _ if cfg.broker_id != 0 => {
                tracing::warn!(broker_id = cfg.broker_id, "a master's brokerId is always 0; using 0");
                cfg.broker_id = 0;
            }
            _ => {}
        }
        cfg.display = cfg.effective_pairs(&props);
        Ok(cfg)
    }

    fn effective_pairs(&self, props: &Properties) -> Vec<(String, String)> {
        let mut pairs: std::collections::BTreeMap<String, String> =
            props.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let n = &self.network;
        let p = &self.policy;
        for (k, v) in [
            ("brokerClusterName", self.cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("listenPort", n.listen_port.to_string()),
            ("brokerIP1", n.broker_ip1.to_string()),
            ("brokerIP2", n.broker_ip2.to_string()),
            ("namesrvAddr", n.namesrv_addrs.join(";")),
            ("storePathRootDir", self.store_root.display().to_string()),
            ("storePathCommitLog", self.commit_log_dir.display().to_string()),
            ("mappedFileSizeCommitLog", self.commit_log_file_size.to_string()),
            ("maxMessageSize", self.max_message_size.to_string()),
            ("autoCreateTopicEnable", p.auto_create_topic.to_string()),
            ("autoCreateSubscriptionGroup", p.auto_create_group.to_string()),
            ("defaultTopicQueueNums", p.default_topic_queue_nums.to_string()),
            ("brokerPermission", p.broker_permission.to_string()),
            ("deleteWhen", self.delete_when.clone()),
            ("fileReservedTime", self.file_reserved_hours.to_string()),
            ("aclEnable", self.acl.enabled.to_string()),
        ] {
            pairs.insert(k.to_owned(), v);
        }
        pairs.into_iter().collect()
    }

    /// The store's configuration.
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            commit_log_dir: self.commit_log_dir.clone(),
            commit_log_file_size: self.commit_log_file_size,
            consume_queue_file_size: self.consume_queue_file_size,
            flush: match self.flush_disk_type {
                FlushDiskType::Async => FlushMode::Async { interval: self.flush_interval },
                FlushDiskType::Sync => FlushMode::Sync,
            },
            max_message_size: self.max_message_size,
            message_index_enable: self.message_index_enable,
            file_reserved_time: Duration::from_secs(u64::from(self.file_reserved_hours) * 3600),
            delete_when: self.delete_when.clone(),
            disk_max_used_space_ratio: self.disk_ratios.0,
            disk_space_clean_forcibly_ratio: self.disk_ratios.1,
            disk_space_warning_level_ratio: self.disk_ratios.2,
            clean_resource_interval: self.clean_interval,
            disk_budget_bytes: self.disk_budget_bytes,
            max_hash_slot_num: self.max_hash_slot_num,
            max_index_num: self.max_index_num,
            ..StoreConfig::new(self.store_root.clone(), self.network.store_host())
        }
    }

    /// The address registered with the NameServers ([`NetworkConfig::broker_addr`]).
    pub fn broker_addr(&self) -> String {
        self.network.broker_addr()
    }

    /// `brokerIP2:(listenPort+1)`, the HA address.
    pub fn ha_addr(&self) -> String {
        format!("{}:{}", self.network.broker_ip2, self.ha.listen_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_broker_conf_loads_with_defaults() {
        let props = Properties::parse(
            "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=0\ndeleteWhen=04\nfileReservedTime=48\n\
             brokerRole=ASYNC_MASTER\nflushDiskType=ASYNC_FLUSH\nlistenPort=20911\nnamesrvAddr=127.0.0.1:9876;127.0.0.1:9877\n",
        )
        .expect("parses");
        let cfg = BrokerConfig::from_properties(props).expect("valid");
        assert_eq!(cfg.broker_name, "broker-a");
        assert_eq!(cfg.network.listen_port, 20911);
        assert_eq!(cfg.broker_addr(), "127.0.0.1:20911", "advertised as it listens by default");
        assert_eq!(cfg.network.namesrv_addrs.len(), 2);
        assert_eq!(cfg.file_reserved_hours, 48);
        assert!(cfg.policy.auto_create_topic);
        assert_eq!(cfg.max_message_size, 4 * 1024 * 1024);
    }

    #[test]
    fn malformed_value_names_the_key() {
        let props = Properties::parse("brokerRole=LEADER\n").expect("parses");
        let err = BrokerConfig::from_properties(props).expect_err("invalid");
        assert!(err.to_string().contains("brokerRole"), "{err}");
    }
}

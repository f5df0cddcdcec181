//! `NamesrvConfig`: the NameServer's settings under Apache's key names and defaults, parsed from
//! a properties file (or an UPDATE_NAMESRV_CONFIG body) and printed back as properties text.
//! Keys Apache knows but rmq ignores are listed in [`APACHE_KEYS`].

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use rmq_remoting::config::{parse_bool, ConfigError, Properties};
use tracing::{info, warn};

/// Every key Apache's `NamesrvConfig`, `NettyServerConfig` and `NettyClientConfig` accept
/// (5.x). Keys in this list that [`NamesrvConfig`] does not read are accepted and ignored.
pub const APACHE_KEYS: &[&str] = &[
    // NamesrvConfig
    "rocketmqHome",
    "kvConfigPath",
    "configStorePath",
    "productEnvName",
    "clusterTest",
    "orderMessageEnable",
    "returnOrderTopicConfigToBroker",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity",
    "scanNotActiveBrokerInterval",
    "unRegisterBrokerQueueCapacity",
    "supportActingMaster",
    "enableAllTopicList",
    "enableTopicList",
    "notifyMinBrokerIdChanged",
    "notifyMinBrokerIdChangeTimeoutMillis",
    "enableControllerInNamesrv",
    "needWaitForService",
    "waitSecondsForService",
    "deleteTopicWithBrokerRegistration",
    "configBlackList",
    // NettyServerConfig
    "bindAddress",
    "listenPort",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverSocketBacklog",
    "serverPooledByteBufAllocatorEnable",
    "enableShutdownGracefully",
    "shutdownWaitTimeSeconds",
    "useEpollNativeSelector",
    // NettyClientConfig
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "clientOnewaySemaphoreValue",
    "clientAsyncSemaphoreValue",
    "connectTimeoutMillis",
    "channelNotActiveInterval",
    "clientChannelMaxIdleTimeSeconds",
    "clientSocketSndBufSize",
    "clientSocketRcvBufSize",
    "clientPooledByteBufAllocatorEnable",
    "clientCloseSocketIfTimeout",
    "useTLS",
    "disableCallbackExecutor",
    "disableNettyWorkerGroup",
];

/// Keys UPDATE_NAMESRV_CONFIG may not change (Apache's default `configBlackList`).
pub const UPDATE_BLACKLIST: &[&str] = &["configBlackList", "configStorePath", "kvConfigPath"];

/// The NameServer's effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct NamesrvConfig {
    /// `listenPort`: TCP port (9876).
    pub listen_port: u16,
    /// `bindAddress`: interface to bind (`0.0.0.0`).
    pub bind_address: String,
    /// `rocketmqHome`: install directory (env `ROCKETMQ_HOME`); informational.
    pub rocketmq_home: String,
    /// `kvConfigPath`: the KV config file (`~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// `scanNotActiveBrokerInterval`: how often expired brokers are removed (5 s).
    pub scan_not_active_broker_interval: Duration,
    /// `brokerExpiredTimeoutMillis` (rmq only): broker expiry when a registration carries no
    /// `heartbeatTimeoutMillis` (120 s, Apache's `BROKER_CHANNEL_EXPIRED_TIME`).
    pub broker_expired_timeout: Duration,
    /// `orderMessageEnable`: fill `orderTopicConf` in routes from the KV config (false).
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: answer REGISTER_BROKER with the order-topic KV
    /// namespace (true).
    pub return_order_topic_config_to_broker: bool,
    /// `enableAllTopicList`: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER (true).
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: serve GET_TOPICS_BY_CLUSTER (true).
    pub enable_topic_list: bool,
    /// `metricsPromExporterPort` (rmq only): HTTP port of `/metrics`, `/healthz` and `/readyz`
    /// on `bindAddress` (5558, next to the broker's 5557); 0 turns the endpoint off. Read at start.
    pub metrics_port: u16,
    /// `addressServerPort` (rmq only): HTTP port of Apache's NameServer address endpoint
    /// (`GET /rocketmq/<subgroup>`, what clients configured with `rocketmq.namesrv.domain`
    /// fetch); 0 (the default) turns it off. Read at start.
    pub address_server_port: u16,
    /// `addressListFile` (rmq only): the file whose content (`host:port;host:port`) the address
    /// endpoint serves, read at every request so whoever maintains it (the operator, through a
    /// ConfigMap) can change it while the NameServer runs.
    pub address_list_file: PathBuf,
    /// `addressServerSubgroup` (rmq only): the `<subgroup>` served, the clients'
    /// `rocketmq.namesrv.domain.subgroup` (`nsaddr`).
    pub address_subgroup: String,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        NamesrvConfig {
            listen_port: 9876,
            bind_address: "0.0.0.0".into(),
            rocketmq_home: std::env::var("ROCKETMQ_HOME").unwrap_or_default(),
            kv_config_path: home.join("namesrv").join("kvConfig.json"),
            scan_not_active_broker_interval: Duration::from_millis(5_000),
            broker_expired_timeout: Duration::from_millis(120_000),
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            enable_all_topic_list: true,
            enable_topic_list: true,
            metrics_port: 5558,
            address_server_port: 0,
            address_list_file: PathBuf::new(),
            address_subgroup: "nsaddr".into(),
        }
    }
}

impl NamesrvConfig {
    /// Defaults overridden by `props`. A malformed value is an error naming its key.
    pub fn from_properties(props: &mut Properties) -> Result<Self, ConfigError> {
        let mut config = NamesrvConfig::default();
        config.apply(props)?;
        Ok(config)
    }

    /// Overrides the fields whose keys appear in `props`, keeping the others. Nothing changes
    /// when any value is malformed.
    pub fn apply(&mut self, props: &mut Properties) -> Result<(), ConfigError> {
        let mut next = self.clone();
        next.listen_port = props.get("listenPort", next.listen_port)?;
        next.bind_address = props.get("bindAddress", next.bind_address)?;
        next.rocketmq_home = props.get("rocketmqHome", next.rocketmq_home)?;
        next.kv_config_path = props.get("kvConfigPath", next.kv_config_path)?;
        next.scan_not_active_broker_interval =
            millis(props, "scanNotActiveBrokerInterval", next.scan_not_active_broker_interval)?;
        next.broker_expired_timeout = millis(props, "brokerExpiredTimeoutMillis", next.broker_expired_timeout)?;
        if next.scan_not_active_broker_interval.is_zero() {
            return Err(ConfigError::Invalid {
                key: "scanNotActiveBrokerInterval".into(),
                value: "0".into(),
                reason: "must be at least 1 ms".into(),
            });
        }
        next.order_message_enable = boolean(props, "orderMessageEnable", next.order_message_enable)?;
        next.return_order_topic_config_to_broker =
            boolean(props, "returnOrderTopicConfigToBroker", next.return_order_topic_config_to_broker)?;
        next.enable_all_topic_list = boolean(props, "enableAllTopicList", next.enable_all_topic_list)?;
        next.enable_topic_list = boolean(props, "enableTopicList", next.enable_topic_list)?;
        next.metrics_port = props.get("metricsPromExporterPort", next.metrics_port)?;
        next.address_server_port = props.get("addressServerPort", next.address_server_port)?;
        next.address_list_file = props.get("addressListFile", next.address_list_file)?;
        next.address_subgroup = props.get("addressServerSubgroup", next.address_subgroup)?;
        if next.address_server_port != 0 && next.address_list_file.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "addressListFile".into(),
                value: String::new(),
                reason: "addressServerPort needs the file of addresses to serve".into(),
            });
        }
        *self = next;
        Ok(())
    }

    /// The effective configuration as properties text (`key=value` lines), for
    /// `--print-config` and GET_NAMESRV_CONFIG.
    pub fn to_properties_text(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(out, "{k}={v}");
        };
        line("listenPort", &self.listen_port);
        line("bindAddress", &self.bind_address);
        line("rocketmqHome", &self.rocketmq_home);
        line("kvConfigPath", &self.kv_config_path.display());
        line("scanNotActiveBrokerInterval", &self.scan_not_active_broker_interval.as_millis());
        line("brokerExpiredTimeoutMillis", &self.broker_expired_timeout.as_millis());
        line("orderMessageEnable", &self.order_message_enable);
        line("returnOrderTopicConfigToBroker", &self.return_order_topic_config_to_broker);
        line("enableAllTopicList", &self.enable_all_topic_list);
        line("enableTopicList", &self.enable_topic_list);
        line("metricsPromExporterPort", &self.metrics_port);
        line("addressServerPort", &self.address_server_port);
        line("addressListFile", &self.address_list_file.display());
        line("addressServerSubgroup", &self.address_subgroup);
        out
    }
}

/// Logs the keys of `props` that no typed lookup consumed: one `info!` per key Apache knows
/// (accepted, not implemented) and one `warn!` per key nobody knows (probably a typo).
pub fn log_unused_keys(props: &Properties) {
    let (accepted, unknown) = props.leftovers(APACHE_KEYS);
    for key in accepted {
        info!(%key, "config key accepted, not implemented");
    }
    for key in unknown {
        warn!(%key, "unknown config key (typo?)");
    }
}

fn millis(props: &mut Properties, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    let ms = props.get::<u64>(key, default.as_millis() as u64)?;
    Ok(Duration::from_millis(ms))
}

fn boolean(props: &mut Properties, key: &str, default: bool) -> Result<bool, ConfigError> {
    match props.raw(key) {
        Some(v) if !v.is_empty() => parse_bool(key, &v),
        _ => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_apache() {
        let c = NamesrvConfig::default();
        assert_eq!(c.listen_port, 9876);
        assert_eq!(c.bind_address, "0.0.0.0");
        assert_eq!(c.scan_not_active_broker_interval, Duration::from_secs(5));
        assert_eq!(c.broker_expired_timeout, Duration::from_secs(120));
        assert!(!c.order_message_enable);
        assert!(c.return_order_topic_config_to_broker && c.enable_all_topic_list && c.enable_topic_list);
        assert!(c.kv_config_path.ends_with("namesrv/kvConfig.json"));
        assert_eq!(c.metrics_port, 5558);
    }

    #[test]
    fn properties_override_defaults() {
        let mut p = Properties::parse("listenPort=19876\norderMessageEnable=TRUE\nscanNotActiveBrokerInterval=100\n")
            .expect("parses");
        let c = NamesrvConfig::from_properties(&mut p).expect("valid");
        assert_eq!(c.listen_port, 19876);
        assert!(c.order_message_enable);
        assert_eq!(c.scan_not_active_broker_interval, Duration::from_millis(100));
    }

    #[test]
    fn malformed_value_names_the_key() {
        for text in
            ["listenPort=abc", "enableTopicList=yes", "brokerExpiredTimeoutMillis=-1", "scanNotActiveBrokerInterval=0"]
        {
            let mut p = Properties::parse(text).expect("parses");
            let err = NamesrvConfig::from_properties(&mut p).expect_err("invalid");
            let key = text.split('=').next().unwrap_or_default();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn failed_apply_changes_nothing() {
        let mut c = NamesrvConfig::default();
        let mut p = Properties::parse("enableTopicList=false\nlistenPort=x").expect("parses");
        assert!(c.apply(&mut p).is_err());
        assert_eq!(c, NamesrvConfig::default());
    }

    #[test]
    fn unused_keys_split_into_apache_and_unknown() {
        let mut p = Properties::parse("listenPort=1\nserverWorkerThreads=8\nlistenPrt=2\n").expect("parses");
        let _ = NamesrvConfig::from_properties(&mut p).expect("valid");
        let (accepted, unknown) = p.leftovers(APACHE_KEYS);
        assert_eq!(accepted, vec!["serverWorkerThreads".to_owned()]);
        assert_eq!(unknown, vec!["listenPrt".to_owned()]);
    }

    #[test]
    fn properties_text_round_trips() {
        let c = NamesrvConfig { listen_port: 1234, enable_topic_list: false, ..Default::default() };
        let mut p = Properties::parse(&c.to_properties_text()).expect("parses");
        assert_eq!(NamesrvConfig::from_properties(&mut p).expect("valid"), c);
    }
}

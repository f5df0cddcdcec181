//! A broker of a [`Cluster`](crate::Cluster): its `broker.conf` (as the Java suite's `Cluster.java` writes
//! it), launch, readiness (registered with every live NameServer), graceful stop, crash and restart.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::apache::{java_command, Server};
use crate::paths::rmq_binary;
use crate::probe::cluster_infos;
use crate::process::Process;
use crate::{Impl, TestkitError};

/// `maxMessageSize` of every broker (4 MiB, as in the Java suite).
pub(crate) const MAX_MESSAGE_SIZE: u32 = 4 * 1024 * 1024;

/// How long a broker may take to accept connections and register: 30 s, 60 s for the JVM.
pub(crate) fn ready_timeout(imp: Impl) -> Duration {
    Duration::from_secs(if imp == Impl::Apache { 60 } else { 30 })
}

/// How long a graceful stop may take before SIGKILL: 15 s, 90 s for Apache (whose shutdown hook alone
/// takes 20-30 s on two cores).
fn graceful_stop(imp: Impl) -> Duration {
    Duration::from_secs(if imp == Impl::Apache { 90 } else { 15 })
}

/// One broker listening on `127.0.0.1:<port>`: a master (brokerId 0, `ASYNC_MASTER`) of its own
/// group by default, or a slave (`SLAVE`, brokerId > 0) of another broker's group. Its store
/// survives restarts.
pub struct Broker {
    process: Process,
    cluster_name: String,
    /// `brokerName` (the group); the process name otherwise.
    group: String,
    broker_id: i64,
    properties: Vec<(String, String)>,
    name_servers: Arc<Vec<Process>>,
    /// `grpcAdminPort`, when the cluster runs a failover controller.
    admin_port: Option<u16>,
}

impl Broker {
    pub(crate) fn new(
        process: Process,
        cluster_name: String,
        properties: Vec<(String, String)>,
        name_servers: Arc<Vec<Process>>,
    ) -> Self {
        let group = process.name().to_owned();
        Broker { process, cluster_name, group, broker_id: 0, properties, name_servers, admin_port: None }
    }

    /// Serves the gRPC admin API on `port` (`grpcAdminPort`).
    pub(crate) fn with_admin_port(mut self, port: u16) -> Self {
        self.admin_port = Some(port);
        self.properties.push(("grpcAdminPort".to_owned(), port.to_string()));
        self
    }

    /// Adds `key=value` to its `broker.conf` (overriding an earlier value).
    pub(crate) fn with_property(mut self, key: &str, value: String) -> Self {
        self.properties.retain(|(k, _)| k != key);
        self.properties.push((key.to_owned(), value));
        self
    }

    /// `127.0.0.1:<grpcAdminPort>`, when the cluster runs a failover controller.
    pub fn admin_addr(&self) -> Option<String> {
        self.admin_port.map(|p| format!("127.0.0.1:{p}"))
    }

    /// Makes this broker member `broker_id` of group `group` (`brokerName`); a non-zero id makes
    /// it a `SLAVE`.
    pub(crate) fn in_group(mut self, group: &str, broker_id: i64) -> Self {
        self.group = group.to_owned();
        self.broker_id = broker_id;
        self
    }

    /// `brokerName`: the replica group this broker belongs to.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// `brokerId` it was configured with (0 = master).
    pub fn broker_id(&self) -> i64 {
        self.broker_id
    }

    /// The HA port slaves connect to (`listenPort + 1`).
    pub fn ha_port(&self) -> u16 {
        self.port() + 1
    }

    pub(crate) fn process(&self) -> &Process {
        &self.process
    }

    /// The broker's name (`brokerName`).
    pub fn name(&self) -> &str {
        self.process.name()
    }

    /// `127.0.0.1:<listenPort>`, the address clients and the NameServers use.
    pub fn addr(&self) -> String {
        self.process.addr()
    }

    /// The listen port (the broker also opens `port - 2` and the HA port `port + 1`).
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// `storePathRootDir`: CommitLog, ConsumeQueues, `config/` (kept across restarts).
    pub fn store_dir(&self) -> PathBuf {
        self.process.dir().join("store")
    }

    /// The broker's stdout and stderr, appended across restarts, with `=====` lines marking what the
    /// testkit did.
    pub fn log_file(&self) -> PathBuf {
        self.process.log_file()
    }

    /// Whether the broker process is running.
    pub fn is_alive(&self) -> bool {
        self.process.is_alive()
    }

    /// Writes `broker.conf`, launches the broker and waits until it accepts connections and every live
    /// NameServer lists it (30 s, 60 s for Apache). On failure the process is killed and the error holds
    /// the tails of the broker's and the NameServers' logs.
    pub fn start(&mut self) -> Result<(), TestkitError> {
        self.spawn()?;
        self.await_ready()
    }

    /// SIGTERM, then up to 15 s (90 s for Apache) for the broker to exit before SIGKILL. Returns whether it
    /// exited on SIGTERM (true also when it was not running because the testkit had stopped it; false
    /// when it had crashed on its own).
    pub fn stop_gracefully(&mut self) -> bool {
        self.process.stop(graceful_stop(self.process.imp()))
    }

    /// SIGKILL: a crash, no shutdown hook runs.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Which implementation runs this broker.
    pub fn imp(&self) -> Impl {
        self.process.imp()
    }

    /// Makes the next [`start`](Self::start) run the other implementation on the same store, config
    /// and port — swapping Apache's broker for ours (or back) on the same data. The broker must be
    /// stopped.
    pub fn switch_impl(&mut self, imp: Impl) -> Result<(), TestkitError> {
        if self.is_alive() {
            return Err(TestkitError::Usage(format!("stop {} before switching it to {imp}", self.name())));
        }
        self.process.set_imp(imp);
        Ok(())
    }

    /// SIGSTOP: the broker freezes with its connections open, so requests time out (a hung broker).
    pub fn pause(&self) {
        self.process.signal(rustix::process::Signal::STOP);
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.process.signal(rustix::process::Signal::CONT);
    }

    /// [`stop_gracefully`](Self::stop_gracefully), then [`start`](Self::start) with the same ports and
    /// store. Returns whether the stop was graceful.
    pub fn restart(&mut self) -> Result<bool, TestkitError> {
        let graceful = self.stop_gracefully();
        self.start()?;
        Ok(graceful)
    }

    /// Writes `broker.conf` and launches the process without waiting.
    pub(crate) fn spawn(&self) -> Result<(), TestkitError> {
        let dir = self.process.dir();
        std::fs::create_dir_all(dir).map_err(|e| TestkitError::io(format!("creating {}", dir.display()), e))?;
        let conf = dir.join("broker.conf");
        std::fs::write(&conf, self.config()).map_err(|e| TestkitError::io(format!("writing {}", conf.display()), e))?;
        let (program, args) = match self.process.imp() {
            Impl::Rmq => (rmq_binary("rmq-broker")?, vec![OsString::from("-c"), conf.into_os_string()]),
            Impl::Apache => java_command(Server::Broker, dir, &conf)?,
        };
        self.process.spawn(&program, &args)
    }

    /// Waits until the port accepts and every live NameServer's cluster info contains
    /// `"127.0.0.1:<port>"` (a master with `masterServiceAddress`: that address; with
    /// `brokerAdvertisedHost`: that host).
    pub(crate) fn await_ready(&self) -> Result<(), TestkitError> {
        let property = |key: &str| self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let registered = match (property("masterServiceAddress"), property("brokerAdvertisedHost")) {
            (Some(service), _) if self.broker_id == 0 => service,
            (_, Some(host)) => format!("{host}:{}", self.process.port()),
            _ => self.addr(),
        };
        let needle = format!("\"{registered}\"");
        let ready = || {
            let live: Vec<String> = self.name_servers.iter().filter(|ns| ns.is_alive()).map(Process::addr).collect();
            let missing: Vec<String> = live
                .iter()
                .zip(cluster_infos(&live))
                .filter_map(|(addr, info)| match info {
                    Ok(body) if body.contains(&needle) => None,
                    Ok(_) => Some(format!("{addr} (not listed yet)")),
                    Err(e) => Some(format!("{addr} ({e})")),
                })
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("registration of {registered} with NameServer(s) {}", missing.join(", ")))
            }
        };
        let name_servers = || self.name_servers.iter().map(Process::diagnostics).collect();
        self.process.await_ready(ready_timeout(self.process.imp()), ready, name_servers)
    }

    /// The properties of `Cluster.java`, then the builder's properties (overriding in place or appended).
    fn config(&self) -> String {
        let namesrv_addr: Vec<String> = self.name_servers.iter().map(Process::addr).collect();
        let mut props: Vec<(String, String)> = [
            ("brokerClusterName", self.cluster_name.clone()),
            ("brokerName", self.group.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("brokerRole", if self.broker_id == 0 { "ASYNC_MASTER" } else { "SLAVE" }.to_owned()),
            ("brokerIP1", "127.0.0.1".to_owned()),
            ("brokerIP2", "127.0.0.1".to_owned()),
            ("bindAddress", "127.0.0.1".to_owned()),
            ("listenPort", self.port().to_string()),
            ("namesrvAddr", namesrv_addr.join(";")),
            ("storePathRootDir", self.store_dir().display().to_string()),
            ("autoCreateTopicEnable", "true".to_owned()),
            ("autoCreateSubscriptionGroup", "true".to_owned()),
            ("flushDiskType", "ASYNC_FLUSH".to_owned()),
            ("mappedFileSizeCommitLog", "67108864".to_owned()),
            ("maxMessageSize", MAX_MESSAGE_SIZE.to_string()),
            // No metrics endpoint unless a test asks: brokers of parallel clusters share the host.
            ("metricsPromExporterPort", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in &self.properties {
            match props.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => props.push((key.clone(), value.clone())),
            }
        }
        props.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("name", &self.name()).field("addr", &self.addr()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_java_suites_config_with_overrides() {
        let ns = Arc::new(vec![
            Process::new("namesrv-0", PathBuf::from("/w/namesrv-0"), 9001, Impl::Rmq),
            Process::new("namesrv-1", PathBuf::from("/w/namesrv-1"), 9002, Impl::Rmq),
        ]);
        let props = vec![("maxMessageSize".to_owned(), "1024".to_owned()), ("deleteWhen".to_owned(), "04".to_owned())];
        let broker = Broker::new(
            Process::new("broker-a", PathBuf::from("/w/broker-a"), 10911, Impl::Rmq),
            "C".into(),
            props,
            ns,
        );
        assert_eq!(
            broker.config(),
            "brokerClusterName=C\nbrokerName=broker-a\nbrokerId=0\nbrokerRole=ASYNC_MASTER\nbrokerIP1=127.0.0.1\n\
             brokerIP2=127.0.0.1\nbindAddress=127.0.0.1\nlistenPort=10911\n\
             namesrvAddr=127.0.0.1:9001;127.0.0.1:9002\nstorePathRootDir=/w/broker-a/store\n\
             autoCreateTopicEnable=true\nautoCreateSubscriptionGroup=true\nflushDiskType=ASYNC_FLUSH\n\
             mappedFileSizeCommitLog=67108864\nmaxMessageSize=1024\nmetricsPromExporterPort=0\ndeleteWhen=04\n"
        );
    }
}

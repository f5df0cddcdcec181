//! [`Cluster`] and its builder: NameServers first, then brokers, each in its own subdirectory of the
//! cluster's work directory, all on 127.0.0.1.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::apache::{java_command, Server};
use crate::broker::{ready_timeout, Broker};
use crate::paths::{create_work_dir, rmq_binary};
use crate::ports::{broker_port, namesrv_port, single_port};
use crate::process::Process;
use crate::{Impl, TestkitError};

/// NameServers and brokers running as real processes.
///
/// Dropping a cluster SIGKILLs every process (brokers first) and, unless the thread is panicking (a
/// failed test), deletes the brokers' store directories; configs and logs stay in [`dir`](Self::dir).
pub struct Cluster {
    imp: Impl,
    cluster_name: String,
    dir: PathBuf,
    brokers: Vec<Broker>,
    name_servers: Arc<Vec<Process>>,
    controllers: Vec<Process>,
}

/// Configures and starts a [`Cluster`]; see [`Cluster::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct ClusterBuilder {
    test_name: String,
    imp: Impl,
    name_servers: usize,
    /// Name, group (`brokerName`) and brokerId of each broker.
    brokers: Vec<(String, String, i64)>,
    properties: Vec<(String, String)>,
    /// Properties of one broker only: name, key, value.
    broker_properties: Vec<(String, String, String)>,
    cluster_name: String,
    /// Failover controller replicas (rmq only; 0 = none).
    controllers: usize,
    /// Their `--failover-after-ms`.
    failover_after_ms: u64,
}

impl Cluster {
    /// A builder for a cluster of `imp` whose work directory is named after `test_name`. Defaults: one
    /// NameServer, one broker `broker-a`, cluster `RmqTestCluster`.
    pub fn builder(test_name: &str, imp: Impl) -> ClusterBuilder {
        ClusterBuilder {
            test_name: test_name.to_owned(),
            imp,
            name_servers: 1,
            brokers: Vec::new(),
            properties: Vec::new(),
            broker_properties: Vec::new(),
            cluster_name: "RmqTestCluster".to_owned(),
            controllers: 0,
            failover_after_ms: 2_000,
        }
    }

    /// Which servers run.
    pub fn imp(&self) -> Impl {
        self.imp
    }

    /// `brokerClusterName` of every broker.
    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }

    /// All NameServer addresses, `;`-separated as clients take them: `127.0.0.1:p1;127.0.0.1:p2`.
    pub fn namesrv_addr(&self) -> String {
        self.name_servers.iter().map(Process::addr).collect::<Vec<_>>().join(";")
    }

    /// The broker named `name`.
    ///
    /// # Panics
    ///
    /// If the cluster has no such broker.
    pub fn broker(&self, name: &str) -> &Broker {
        match self.brokers.iter().position(|b| b.name() == name) {
            Some(i) => &self.brokers[i],
            None => panic!("{}", self.unknown_broker(name)),
        }
    }

    /// The broker named `name`, to stop, kill or restart it.
    ///
    /// # Panics
    ///
    /// If the cluster has no such broker.
    pub fn broker_mut(&mut self, name: &str) -> &mut Broker {
        match self.brokers.iter().position(|b| b.name() == name) {
            Some(i) => &mut self.brokers[i],
            None => panic!("{}", self.unknown_broker(name)),
        }
    }

    fn unknown_broker(&self, name: &str) -> String {
        let names: Vec<&str> = self.brokers.iter().map(Broker::name).collect();
        format!("no broker named {name:?} in this cluster (brokers: {})", names.join(", "))
    }

    /// The brokers, in the order they were added.
    pub fn brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.iter()
    }

    /// The failover controllers' gRPC addresses (replica `i` at index `i`).
    pub fn controller_addrs(&self) -> Vec<String> {
        self.controllers.iter().map(Process::addr).collect()
    }

    /// SIGKILLs failover controller replica `i`.
    pub fn kill_controller(&self, i: usize) {
        if let Some(c) = self.controllers.get(i) {
            c.kill_now();
        }
    }

    /// The cluster's work directory, `<workspace>/target/testkit/<test>-<impl>-<HHMMSS-millis>/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last 30 log lines of every process (NameServers, then brokers), for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut s: String = self.name_servers.iter().map(Process::diagnostics).collect();
        s.extend(self.brokers.iter().map(|b| b.process().diagnostics()));
        s
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for controller in &self.controllers {
            controller.kill_now();
        }
        for broker in &self.brokers {
            broker.process().kill_now();
        }
        for ns in self.name_servers.iter() {
            ns.kill_now();
        }
        if !std::thread::panicking() {
            for broker in &self.brokers {
                let _ = std::fs::remove_dir_all(broker.store_dir());
            }
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("imp", &self.imp)
            .field("namesrv_addr", &self.namesrv_addr())
            .field("brokers", &self.brokers)
            .field("dir", &self.dir)
            .finish()
    }
}

impl ClusterBuilder {
    /// How many NameServers to run (default 1).
    pub fn name_servers(mut self, n: usize) -> Self {
        self.name_servers = n;
        self
    }

    /// Adds a broker (brokerId 0) named `name`; without any, the cluster has one broker `broker-a`.
    pub fn broker(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.brokers.push((name.clone(), name, 0));
        self
    }

    /// Adds a broker named `name` (its directory) as slave `broker_id` (> 0) of group `group`,
    /// whose master is the broker added with [`broker`](Self::broker)`(group)`. Slaves start
    /// after their masters.
    pub fn slave(mut self, name: impl Into<String>, group: impl Into<String>, broker_id: i64) -> Self {
        self.brokers.push((name.into(), group.into(), broker_id));
        self
    }

    /// Sets `key=value` in the `broker.conf` of broker `name` only (after the cluster-wide ones).
    pub fn broker_property_on(
        mut self,
        name: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.broker_properties.push((name.into(), key.into(), value.into()));
        self
    }

    /// Sets `key=value` in every broker's `broker.conf`, overriding the testkit's value for that key.
    pub fn broker_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        match self.properties.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.properties.push((key, value)),
        }
        self
    }

    /// Runs `replicas` failover controllers (`rmq-controller`, rmq only) watching every group,
    /// failing over after `failover_after_ms`: every broker gets a gRPC admin port
    /// ([`Broker::admin_addr`]) and its group's other members as `groupPeers`, so its group is
    /// fenced. Controllers start after the brokers.
    pub fn failover_controllers(mut self, replicas: usize, failover_after_ms: u64) -> Self {
        self.controllers = replicas;
        self.failover_after_ms = failover_after_ms;
        self
    }

    /// `brokerClusterName` (default `RmqTestCluster`).
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = name.into();
        self
    }

    /// Creates the work directory and starts the NameServers, then the brokers, waiting until each is
    /// ready (NameServer: its port accepts connections; broker: also listed by every NameServer). On
    /// error everything started so far is killed; the error holds the relevant log tails.
    pub fn start(mut self) -> Result<Cluster, TestkitError> {
        if self.brokers.is_empty() {
            self.brokers.push(("broker-a".to_owned(), "broker-a".to_owned(), 0));
        }
        for (i, (name, _, _)) in self.brokers.iter().enumerate() {
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') || name.starts_with("namesrv-") {
                return Err(TestkitError::Usage(format!("broker name {name:?} is not usable as a directory name")));
            }
            if self.brokers[..i].iter().any(|(n, _, _)| n == name) {
                return Err(TestkitError::Usage(format!("broker {name:?} added twice")));
            }
        }
        let dir = create_work_dir(&self.test_name, self.imp)?;
        let mut name_servers = Vec::with_capacity(self.name_servers);
        for i in 0..self.name_servers {
            let name = format!("namesrv-{i}");
            name_servers.push(Process::new(&name, dir.join(&name), namesrv_port()?, self.imp));
        }
        let name_servers = Arc::new(name_servers);
        if self.controllers > 0 && self.imp != Impl::Rmq {
            return Err(TestkitError::Usage("failover controllers run with rmq brokers only".into()));
        }
        let admin_ports = match self.controllers {
            0 => vec![None; self.brokers.len()],
            _ => self.brokers.iter().map(|_| single_port().map(Some)).collect::<Result<Vec<_>, _>>()?,
        };
        let mut brokers = Vec::with_capacity(self.brokers.len());
        for ((name, group, broker_id), admin_port) in self.brokers.iter().zip(&admin_ports) {
            let process = Process::new(name, dir.join(name), broker_port()?, self.imp);
            let mut props = self.properties.clone();
            for (_, key, value) in self.broker_properties.iter().filter(|(n, _, _)| n == name) {
                match props.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value.clone(),
                    None => props.push((key.clone(), value.clone())),
                }
            }
            let mut broker = Broker::new(process, self.cluster_name.clone(), props, Arc::clone(&name_servers))
                .in_group(group, *broker_id);
            if let Some(port) = admin_port {
                let peers: Vec<String> = self
                    .brokers
                    .iter()
                    .zip(&admin_ports)
                    .filter(|((n, g, _), _)| g == group && n != name)
                    .filter_map(|(_, p)| p.map(|p| format!("127.0.0.1:{p}")))
                    .collect();
                broker = broker
                    .with_admin_port(*port)
                    .with_property("groupPeers", peers.join(","))
                    .with_property("fencingLease", (self.failover_after_ms / 2).to_string());
            }
            brokers.push(broker);
        }
        let mut controllers = Vec::with_capacity(self.controllers);
        for i in 0..self.controllers {
            let name = format!("controller-{i}");
            controllers.push(Process::new(&name, dir.join(&name), single_port()?, self.imp));
        }
        // From here on, dropping `cluster` (on any error) kills what was started.
        let cluster =
            Cluster { imp: self.imp, cluster_name: self.cluster_name, dir, brokers, name_servers, controllers };
        // Launch each group at once (JVMs start faster side by side), then wait for each member.
        for ns in cluster.name_servers.iter() {
            spawn_name_server(ns)?;
        }
        for ns in cluster.name_servers.iter() {
            ns.await_ready(ready_timeout(cluster.imp), || Ok(()), String::new)?;
        }
        // Masters first (a slave learns its master's address when it registers), then slaves.
        for slaves in [false, true] {
            let wave = || cluster.brokers.iter().filter(move |b| (b.broker_id() != 0) == slaves);
            for broker in wave() {
                broker.spawn()?;
            }
            for broker in wave() {
                broker.await_ready()?;
            }
        }
        for (i, controller) in cluster.controllers.iter().enumerate() {
            spawn_controller(controller, i, &cluster, self.failover_after_ms)?;
        }
        for controller in &cluster.controllers {
            controller.await_ready(ready_timeout(cluster.imp), || Ok(()), String::new)?;
        }
        Ok(cluster)
    }
}

/// Launches controller replica `i` (id `i`) watching every group of `cluster`.
fn spawn_controller(
    process: &Process,
    i: usize,
    cluster: &Cluster,
    failover_after_ms: u64,
) -> Result<(), TestkitError> {
    std::fs::create_dir_all(process.dir())
        .map_err(|e| TestkitError::io(format!("creating {}", process.dir().display()), e))?;
    let mut args: Vec<OsString> = vec![
        "--listen".into(),
        process.addr().into(),
        "--id".into(),
        i.to_string().into(),
        "--failover-after-ms".into(),
        failover_after_ms.to_string().into(),
        "--fencing-lease-ms".into(),
        (failover_after_ms / 2).to_string().into(),
    ];
    for peer in cluster.controllers.iter().filter(|c| c.name() != process.name()) {
        args.extend(["--peer".into(), peer.addr().into()]);
    }
    let groups: std::collections::BTreeSet<&str> = cluster.brokers.iter().map(Broker::group).collect();
    for group in groups {
        let members: Vec<String> =
            cluster.brokers.iter().filter(|b| b.group() == group).filter_map(Broker::admin_addr).collect();
        args.extend(["--group".into(), format!("{group}={}", members.join(",")).into()]);
    }
    process.spawn(&rmq_binary("rmq-controller")?, &args)
}

/// Writes `namesrv.properties` (listen port, bind address) and launches the NameServer.
fn spawn_name_server(ns: &Process) -> Result<(), TestkitError> {
    let dir = ns.dir();
    std::fs::create_dir_all(dir).map_err(|e| TestkitError::io(format!("creating {}", dir.display()), e))?;
    let conf = dir.join("namesrv.properties");
    // No metrics endpoint: clusters run side by side and would all want the default port.
    std::fs::write(&conf, format!("listenPort={}\nbindAddress=127.0.0.1\nmetricsPromExporterPort=0\n", ns.port()))
        .map_err(|e| TestkitError::io(format!("writing {}", conf.display()), e))?;
    let (program, args) = match ns.imp() {
        Impl::Rmq => (rmq_binary("rmq-namesrv")?, vec![OsString::from("-c"), conf.into_os_string()]),
        Impl::Apache => java_command(Server::NameServer, dir, &conf)?,
    };
    ns.spawn(&program, &args)
}

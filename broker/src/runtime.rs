//! The running broker: shared state ([`Broker`]), the listeners (main port and VIP port
//! `listenPort - 2`), background tasks (NameServer registration, offset persistence, client
//! expiry) and the ordered shutdown (stop accepting, unregister, persist, flush).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::rpc::tls::{TlsError, TlsServer};
use rmq_remoting::rpc::{listen, serve, ServerConfig};
use rmq_store::{MessageStore, StoreError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::acl::Acl;
use crate::clients::ClientRegistry;
use crate::config::BrokerConfig;
use crate::meta::{groups::GroupTable, now_ms, offsets::OffsetTable, topics::TopicTable};
use crate::namesrv::NamesrvLink;
use crate::outbound::Outbound;
use crate::processor::BrokerHandler;
use crate::pull_hold::PullHold;

/// Counters shown by GET_BROKER_RUNTIME_INFO; each costs an atomic add.
#[derive(Default)]
pub struct Stats {
    /// Messages stored.
    pub put_total: AtomicU64,
    /// Messages returned by pulls.
    pub get_total: AtomicU64,
}

/// Everything a request processor needs, shared in an `Arc`.
pub struct Broker {
    /// Immutable configuration.
    pub config: BrokerConfig,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// Topics.
    pub topics: TopicTable,
    /// Subscription groups.
    pub groups: GroupTable,
    /// Consumer offsets.
    pub offsets: OffsetTable,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Delay levels (`messageDelayLevel`).
    pub delay_levels: crate::schedule::delay::DelayLevels,
    /// Delivery progress of delayed messages.
    pub delay: crate::schedule::delay::DelayService,
    /// Pending timer messages.
    pub timer: crate::schedule::timer::TimerService,
    /// Resolved half messages.
    pub transactions: crate::transaction::Transactions,
    /// Queue locks of orderly consumers.
    pub locks: crate::locks::QueueLocks,
    /// Long-polling signals.
    pub pull_hold: Arc<PullHold>,
    /// NameServer link.
    pub namesrv: NamesrvLink,
    /// The broker's own remoting client (NameServer registrations, a slave's metadata sync).
    pub outbound: Arc<Outbound>,
    /// Role and master/slave replication.
    pub replication: Arc<crate::ha::Replication>,
    /// Counters.
    pub stats: Stats,
    /// Current broker permission (`brokerPermission`, changeable at run time).
    pub permission: AtomicI32,
    /// Config values changed with UPDATE_BROKER_CONFIG, shown by GET_BROKER_CONFIG.
    pub config_overrides: std::sync::RwLock<Vec<(String, String)>>,
    /// Metric handles (Apache 5.3.3 names), recorded by the processors.
    pub metrics: crate::metrics::BrokerMetrics,
    /// Boot time, ms.
    pub boot_ms: i64,
    /// The ACL every remoting request is checked against (`aclEnable=true`).
    pub acl: Option<Arc<Acl>>,
    /// TLS on the remoting ports (`tls.server.mode` other than `disabled`).
    pub tls: Option<Arc<TlsServer>>,
    /// Mutual TLS on the gRPC admin port (`grpcAdminTls*`), certificate files re-read on change.
    pub admin_tls: Option<Arc<TlsServer>>,
    register_now: watch::Sender<u64>,
    /// Set when the broker must restart in place (a former master cutting its tail to follow).
    restart: watch::Sender<bool>,
}

/// Why a broker could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The message store did not open.
    #[error("cannot open the message store: {0}")]
    Store(#[from] StoreError),
    /// The ACL file could not be read or parsed.
    #[error("{0}")]
    Acl(String),
    /// The TLS settings or certificate files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The outbound client's credentials or TLS files are unusable.
    #[error("outbound client: {0}")]
    Outbound(String),
}

impl Broker {
    /// Opens the store and metadata, and loads the ACL file when ACL is enabled.
    pub fn open(config: BrokerConfig) -> Result<Arc<Broker>, OpenError> {
        let acl = match config.acl.enabled {
            true => Some(Arc::new(Acl::load(&config.acl.file).map_err(OpenError::Acl)?)),
            false => None,
        };
        let tls = TlsServer::new(&config.tls)?;
        let admin_tls = match &config.ha.grpc_tls {
            Some(files) => crate::grpc::tls_server(files)?,
            None => None,
        };
        let outbound = Arc::new(Outbound::new(config.outbound.clone()).map_err(OpenError::Outbound)?);
        let state = crate::ha::role::load_state(&config.store_root);
        let mut store_config = config.store_config();
        store_config.truncate_commit_log_to = state.truncate_to;
        let store = MessageStore::open(store_config)?;
        let pull_hold = Arc::new(PullHold::default());
        let hold = Arc::clone(&pull_hold);
        let replication = Arc::new(crate::ha::Replication::new(&config, &state));
        if let Err(e) = replication.cut_applied() {
            warn!(error = %e, "cannot clear the applied CommitLog cut from the replica state");
        }
        let transfers = Arc::clone(&replication);
        store.set_arrival_listener(Box::new(move |topic, queue_id, _| {
            hold.arrived(topic, queue_id);
            transfers.commit_log_grew();
        }));
        let (register_now, _) = watch::channel(0);
        let (restart, _) = watch::channel(false);
        let metrics = crate::metrics::BrokerMetrics::new(&config.cluster_name, &config.broker_name, &config.metrics);
        let broker = Arc::new(Broker {
            topics: TopicTable::load(&config),
            groups: GroupTable::load(&config.store_root),
            offsets: OffsetTable::load(&config.store_root),
            clients: ClientRegistry::default(),
            locks: Default::default(),
            transactions: Default::default(),
            delay_levels: config.delay_levels.clone(),
            delay: crate::schedule::delay::DelayService::load(&config.store_root),
            timer: crate::schedule::timer::TimerService::load(&config.store_root),
            namesrv: NamesrvLink::new(&config, Arc::clone(&outbound)),
            outbound,
            replication,
            stats: Stats::default(),
            permission: AtomicI32::new(config.policy.broker_permission),
            config_overrides: std::sync::RwLock::new(Vec::new()),
            boot_ms: now_ms(),
            acl,
            tls,
            admin_tls,
            register_now,
            restart,
            pull_hold,
            store,
            metrics,
            config,
        });
        let gauges = crate::metrics::collector::StateCollector::new(Arc::downgrade(&broker));
        if let Err(e) = broker.metrics.registry().register(Box::new(gauges)) {
            warn!(error = %e, "cannot register the scrape-time gauges");
        }
        let replication = crate::metrics::replication::ReplicationCollector::new(Arc::downgrade(&broker));
        if let Err(e) = broker.metrics.registry().register(Box::new(replication)) {
            warn!(error = %e, "cannot register the replication gauges");
        }
        Ok(broker)
    }

    /// The one definition of ready (`/readyz`): the store is recovered (it is, once a `Broker`
    /// exists), the last registration round was accepted by at least one NameServer, and a
    /// slave is receiving from its master.
    pub fn is_ready(&self) -> bool {
        self.namesrv.is_registered() && (!self.replication.is_slave() || self.replication.is_receiving())
    }

    /// Asks the broker to stop as on SIGTERM and start again in place ([`Broker::restart_requested`]
    /// tells `main`).
    pub fn request_restart(&self) {
        self.restart.send_replace(true);
    }

    /// Whether [`Broker::request_restart`] was called.
    pub fn restart_requested(&self) -> bool {
        *self.restart.borrow()
    }

    /// Asks the registration task to register with the NameServers now (after topic changes).
    pub fn register_soon(&self) {
        self.register_now.send_modify(|n| *n += 1);
    }

    /// Registers with every NameServer once.
    pub async fn register_once(&self) -> usize {
        // The epoch goes out as stateVersion: NameServers prefer the newest master of a group.
        let mut topics = self.topics.snapshot();
        // A fenced broker accepted a new epoch but does not serve it yet: it registers with the
        // one before, so the master promoted at the new epoch wins.
        let epoch = self.replication.epoch().saturating_sub(u64::from(self.replication.is_fenced()));
        topics.data_version.state_version = i64::try_from(epoch).unwrap_or(i64::MAX);
        let permission = self.permission.load(Ordering::Relaxed);
        let (accepted, master) = self.namesrv.register(topics, permission, self.replication.broker_id()).await;
        if accepted > 0 && self.replication.is_slave() {
            let (ha_addr, addr) = master.map_or((None, None), |m| (m.ha_server_addr, m.master_addr));
            self.replication.learn_master(ha_addr, addr);
        }
        accepted
    }
}

/// The broker's listening sockets.
#[derive(Debug)]
pub struct Listeners {
    /// `listenPort`.
    pub main: TcpListener,
    /// The VIP port `listenPort - 2`, when it could be bound.
    pub vip: Option<TcpListener>,
    /// The HA port `haListenPort` (slaves connect to a master there).
    pub ha: TcpListener,
    /// The gRPC admin API port `grpcAdminPort`, when set.
    pub grpc: Option<TcpListener>,
}

/// Binds the main, VIP and HA listeners of `config`.
pub async fn bind(config: &BrokerConfig) -> std::io::Result<Listeners> {
    let net = &config.network;
    let main = listen(SocketAddr::new(net.bind_address, net.listen_port))?;
    let vip = match net.listen_port.checked_sub(2) {
        Some(port) if port > 0 => match listen(SocketAddr::new(net.bind_address, port)) {
            Ok(l) => Some(l),
            Err(e) => {
                warn!(port, error = %e, "cannot bind the VIP port (listenPort - 2); continuing without it");
                None
            }
        },
        _ => None,
    };
    let ha = TcpListener::bind(SocketAddr::new(net.bind_address, config.ha.listen_port)).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on the HA port {}: {e}", config.ha.listen_port))
    })?;
    let grpc =
        match config.ha.grpc_admin_port {
            0 => None,
            port => Some(TcpListener::bind(SocketAddr::new(net.bind_address, port)).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on the gRPC admin port {port}: {e}"))
            })?),
        };
    Ok(Listeners { main, vip, ha, grpc })
}

/// Runs the broker on the given listeners until `shutdown` completes, then shuts down in order.
pub async fn run(broker: Arc<Broker>, listeners: Listeners, shutdown: impl Future<Output = ()>) {
    let Listeners { main, vip, ha, grpc } = listeners;
    let (stop_tx, stop_rx) = watch::channel(false);
    let server_config = ServerConfig {
        max_wait: broker.config.network.max_queue_wait,
        tls: broker.tls.clone(),
        ..broker.config.network.server.clone()
    };
    let handler = Arc::new(BrokerHandler::new(Arc::clone(&broker)));
    let mut servers = Vec::new();
    for listener in std::iter::once(main).chain(vip) {
        let mut rx = stop_rx.clone();
        servers.push(tokio::spawn(serve(listener, Arc::clone(&handler), server_config.clone(), async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })));
    }
    let mut tasks = vec![
        tokio::spawn(registration_loop(Arc::clone(&broker), stop_rx.clone())),
        tokio::spawn(serve_metrics(Arc::clone(&broker), stop_rx.clone())),
        tokio::spawn(housekeeping_loop(Arc::clone(&broker), stop_rx.clone())),
    ];
    tasks.push(tokio::spawn(crate::ha::master::serve(Arc::clone(&broker), ha, stop_rx.clone())));
    if let Some(grpc) = grpc {
        tasks.push(tokio::spawn(crate::grpc::serve(Arc::clone(&broker), grpc, stop_rx.clone())));
    }
    // Role-dependent loops all run and idle while the role does not need them, so a promotion
    // or a demotion takes effect without restarting anything.
    tasks.push(tokio::spawn(crate::ha::slave::run(Arc::clone(&broker), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::ha::metadata::run(Arc::clone(&broker), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::ha::fence::lease_loop(Arc::clone(&broker), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::schedule::delay::run(Arc::clone(&broker), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::schedule::timer::run(Arc::clone(&broker), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::transaction::run(Arc::clone(&broker), stop_rx.clone())));
    if let Some(acl) = &broker.acl {
        tasks.push(tokio::spawn(Arc::clone(acl).watch(broker.config.acl.reload_interval, stop_rx.clone())));
    }

    let mut restart = broker.restart.subscribe();
    tokio::select! {
        _ = shutdown => info!("shutting down"),
        _ = restart.wait_for(|r| *r) => info!("shutting down to restart"),
    }
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = s.await;
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_millis(500), t).await;
    }
    let _ =
        tokio::time::timeout(Duration::from_secs(4), broker.namesrv.unregister(broker.replication.broker_id())).await;
    broker.offsets.persist();
    broker.store.shutdown();
    info!("broker stopped");
}

async fn serve_metrics(broker: Arc<Broker>, stop: watch::Receiver<bool>) {
    if let Some(listener) = crate::metrics::http::bind(&broker).await {
        crate::metrics::http::serve(listener, broker, stop).await;
    }
}

async fn registration_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut wake = broker.register_now.subscribe();
    let period = broker.config.network.register_period;
    loop {
        let accepted = broker.register_once().await;
        if accepted == 0 && !broker.namesrv.addrs().is_empty() {
            warn!("no NameServer accepted the registration; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = wake.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn housekeeping_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut persist = tokio::time::interval(broker.config.flush_offset_interval);
    let mut expire = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = persist.tick() => broker.offsets.persist(),
            _ = expire.tick() => {
                for group in broker.clients.expire(Instant::now()) {
                    crate::processor::client::notify_consumer_ids_changed(&broker, &group).await;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

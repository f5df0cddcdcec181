//! The connection to a cluster shared by one producer or consumer: NameServer calls with
//! failover, broker calls, the route cache refreshed every 30 s, heartbeats, and the requests
//! brokers push to the client (see [`push`]).

mod heartbeat;
pub(crate) mod push;
pub(crate) mod reply;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_remoting::acl::Credentials;
use rmq_remoting::message::UniqIdGenerator;
use rmq_remoting::protocol::body::{from_fastjson, TopicRouteData};
use rmq_remoting::protocol::namesrv::GetRouteInfoRequest;
use rmq_remoting::rpc::tls::ClientTls;
use rmq_remoting::rpc::{ClientConfig, RemotingClient};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

pub(crate) use heartbeat::Registrations;
use push::PushHandler;

use crate::error::{ClientError, Result};
use crate::namesrv::NameServerSource;
use crate::route::TopicRoute;

/// The topic brokers auto-create new topics from.
pub(crate) const AUTO_CREATE_TOPIC: &str = "TBW102";

/// Settings shared by producers and consumers.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Where the NameServer addresses come from.
    pub name_servers: NameServerSource,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Interval of route refreshes and heartbeats.
    pub refresh_interval: Duration,
    /// Instance name, part of the client id (`ip@instance`); unique per client by default.
    pub instance_name: Option<String>,
    /// The ACL account every request is signed for (Apache's `AclClientRPCHook`), if any.
    pub credentials: Option<Credentials>,
    /// TLS for every connection (NameServers and brokers), as the Java client's `setUseTLS`.
    pub tls: Option<ClientTls>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            name_servers: NameServerSource::Env,
            request_timeout: Duration::from_secs(3),
            refresh_interval: Duration::from_secs(30),
            instance_name: None,
            credentials: None,
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Adds NameServer addresses, replacing a non-list source.
    pub fn add_name_server(&mut self, addr: String) {
        match &mut self.name_servers {
            NameServerSource::List(list) => list.push(addr),
            other => *other = NameServerSource::List(vec![addr]),
        }
    }
}

/// The builder setters of the [`ClientOptions`] found at `self.<path>`, shared by every builder.
macro_rules! client_setters {
    ($($path:ident).+) => {
        /// Adds NameServer addresses (`host:port`, or several separated by `;`).
        pub fn name_server(mut self, addr: impl Into<String>) -> Self {
            self.$($path).+.add_name_server(addr.into());
            self
        }

        /// Sets where NameServer addresses come from (default: `NAMESRV_ADDR`).
        pub fn name_server_source(mut self, source: $crate::namesrv::NameServerSource) -> Self {
            self.$($path).+.name_servers = source;
            self
        }

        /// Instance name, part of the client id (`ip@instance`; unique per client by default).
        pub fn instance_name(mut self, name: impl Into<String>) -> Self {
            self.$($path).+.instance_name = Some(name.into());
            self
        }

        /// Signs every request for this ACL account, as the Java client's `AclClientRPCHook`
        /// does (brokers with ACL enabled refuse unsigned requests).
        pub fn credentials(mut self, credentials: rmq_remoting::acl::Credentials) -> Self {
            self.$($path).+.credentials = Some(credentials);
            self
        }

        /// Connects to NameServers and brokers over TLS, as the Java client's `setUseTLS(true)`
        /// (servers in `tls.server.mode=enforcing` accept nothing else).
        pub fn tls(mut self, tls: rmq_remoting::rpc::tls::ClientTls) -> Self {
            self.$($path).+.tls = Some(tls);
            self
        }

        /// Route refresh and heartbeat interval (default 30 s).
        pub fn refresh_interval(mut self, interval: std::time::Duration) -> Self {
            self.$($path).+.refresh_interval = interval;
            self
        }
    };
}
pub(crate) use client_setters;

/// One client's view of a cluster.
pub(crate) struct ClientCore {
    pub options: ClientOptions,
    pub client_id: String,
    pub ids: UniqIdGenerator,
    pub push: Arc<PushHandler>,
    pub registrations: Mutex<Registrations>,
    pub shutdown: CancellationToken,
    rpc: RemotingClient<PushHandler>,
    name_servers: Vec<String>,
    next_name_server: AtomicUsize,
    routes: Mutex<HashMap<String, Arc<TopicRoute>>>,
}

impl ClientCore {
    /// Resolves the NameServers and starts the refresh/heartbeat task.
    pub async fn start(options: ClientOptions) -> Result<Arc<Self>> {
        let name_servers = options.name_servers.resolve().await?;
        let ip = local_ip(&name_servers[0]);
        let instance = options.instance_name.clone().unwrap_or_else(default_instance_name);
        let push = Arc::new(PushHandler::default());
        let core = Arc::new(ClientCore {
            client_id: format!("{ip}@{instance}"),
            ids: UniqIdGenerator::new(ip),
            rpc: RemotingClient::with_handler(
                ClientConfig {
                    credentials: options.credentials.clone(),
                    tls: options.tls.clone(),
                    ..ClientConfig::default()
                },
                Arc::clone(&push),
            ),
            push,
            registrations: Mutex::new(Registrations::default()),
            shutdown: CancellationToken::new(),
            next_name_server: AtomicUsize::new(rand::random::<usize>() % name_servers.len()),
            name_servers,
            routes: Mutex::new(HashMap::new()),
            options,
        });
        tokio::spawn(Arc::clone(&core).refresh_loop());
        Ok(core)
    }

    async fn refresh_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.options.refresh_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.refresh_routes().await;
            self.send_heartbeats().await;
        }
    }

    /// Sends `request` to a NameServer, trying each in turn until one answers.
    pub async fn call_name_server(&self, request: RemotingCommand) -> Result<(String, RemotingCommand)> {
        let n = self.name_servers.len();
        let start = self.next_name_server.load(Ordering::Relaxed);
        let mut last_error = String::new();
        for i in 0..n {
            let addr = &self.name_servers[(start + i) % n];
            match self.rpc.invoke(addr, request.clone(), self.options.request_timeout).await {
                Ok(resp) => {
                    self.next_name_server.store((start + i) % n, Ordering::Relaxed);
                    return Ok((addr.clone(), resp));
                }
                Err(e) => {
                    debug!(name_server = %addr, error = %e, "NameServer call failed, trying the next one");
                    last_error = e.to_string();
                }
            }
        }
        self.next_name_server.store((start + 1) % n, Ordering::Relaxed);
        Err(ClientError::NameServerUnreachable { addrs: self.name_servers.join(";"), last_error })
    }

    /// Sends `request` to `addr` and waits for the answer.
    pub async fn call(&self, addr: &str, request: RemotingCommand, timeout: Duration) -> Result<RemotingCommand> {
        Ok(self.rpc.invoke(addr, request, timeout).await?)
    }

    /// Like [`ClientCore::call`], failing unless the answer is `SUCCESS`.
    pub async fn call_ok(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand> {
        let resp = self.call(addr, request, self.options.request_timeout).await?;
        expect_success(addr, resp)
    }

    /// Sends a one-way request to `addr`.
    pub async fn oneway(&self, addr: &str, request: RemotingCommand) -> Result<()> {
        Ok(self.rpc.invoke_oneway(addr, request).await?)
    }

    /// The NameServer addresses in use.
    pub fn name_servers(&self) -> &[String] {
        &self.name_servers
    }

    /// Fetches a route from the NameServers; `None` when the topic does not exist.
    pub async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequest { topic: topic.to_owned(), accept_standard_json_only: None };
        let request = RemotingCommand::request(RequestCode::GetRouteinfoByTopic).with_header(&header);
        let (addr, resp) = self.call_name_server(request).await?;
        match resp.response_code() {
            ResponseCode::Success => {
                let data = from_fastjson(&resp.body).map_err(|e| ClientError::protocol(&addr, e))?;
                Ok(Some(data))
            }
            ResponseCode::TopicNotExist => Ok(None),
            code => Err(ClientError::Broker { addr, code, remark: resp.remark.unwrap_or_default() }),
        }
    }

    /// The cached route of `topic`, fetched on first use.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(r) = self.cached_route(topic) {
            return Ok(r);
        }
        match self.fetch_route(topic).await? {
            Some(raw) => Ok(self.cache_and_announce(TopicRoute::new(topic, raw)).await),
            None => Err(ClientError::TopicNotFound(topic.to_owned())),
        }
    }

    /// Caches `route`; brokers seen for the first time get a heartbeat right away, so that they
    /// know this client's groups (e.g. to check transactions back) before the next interval.
    async fn cache_and_announce(&self, route: TopicRoute) -> Arc<TopicRoute> {
        let before = self.known_brokers();
        let route = self.cache_route(route);
        if !self.known_brokers().is_subset(&before) {
            self.send_heartbeats().await;
        }
        route
    }

    /// The route to publish `topic`: its own, or — like the Java producer — the auto-create
    /// topic's route when the topic does not exist yet (the broker then creates it on first send).
    pub async fn publish_route(&self, topic: &str, default_queues: i32) -> Result<Arc<TopicRoute>> {
        match self.route(topic).await {
            Err(ClientError::TopicNotFound(_)) => {}
            other => return other,
        }
        match self.route(AUTO_CREATE_TOPIC).await {
            Ok(default_route) => {
                let route = TopicRoute::with_queue_limit(topic, default_route.raw.clone(), Some(default_queues));
                if route.write_queues.is_empty() {
                    return Err(ClientError::TopicNotFound(topic.to_owned()));
                }
                // Not cached: the next refresh finds the real route once the broker created it.
                Ok(Arc::new(route))
            }
            Err(ClientError::TopicNotFound(_)) => Err(ClientError::TopicNotFound(topic.to_owned())),
            Err(e) => Err(e),
        }
    }

    /// The cached route, if any.
    pub fn cached_route(&self, topic: &str) -> Option<Arc<TopicRoute>> {
        self.routes.lock().ok()?.get(topic).cloned()
    }

    fn cache_route(&self, route: TopicRoute) -> Arc<TopicRoute> {
        let route = Arc::new(route);
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(route.topic.clone(), Arc::clone(&route));
        }
        route
    }

    /// Re-reads every cached route; a failure keeps the old route.
    pub async fn refresh_routes(&self) {
        let topics: Vec<String> = self.routes.lock().map(|r| r.keys().cloned().collect()).unwrap_or_default();
        for topic in topics {
            match self.fetch_route(&topic).await {
                Ok(Some(raw)) => {
                    self.cache_route(TopicRoute::new(&topic, raw));
                }
                Ok(None) => debug!(%topic, "topic no longer has a route"),
                Err(e) => warn!(%topic, error = %e, "route refresh failed; keeping the cached route"),
            }
        }
    }

    /// Forces a fresh route for `topic`.
    pub async fn refresh_route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        match self.fetch_route(topic).await? {
            Some(raw) => Ok(self.cache_and_announce(TopicRoute::new(topic, raw)).await),
            None => Err(ClientError::TopicNotFound(topic.to_owned())),
        }
    }

    /// Every broker address of every cached route.
    pub fn known_brokers(&self) -> BTreeSet<String> {
        let routes = match self.routes.lock() {
            Ok(r) => r,
            Err(_) => return BTreeSet::new(),
        };
        routes.values().flat_map(|r| r.brokers.values().flat_map(|ids| ids.values().cloned())).collect()
    }

    /// The master address of `broker_name`, from any cached route.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        let routes = self.routes.lock().ok()?;
        routes.values().find_map(|r| r.master_addr(broker_name).map(str::to_owned))
    }
}

/// Fails with [`ClientError::Broker`] unless `resp` is `SUCCESS`.
pub(crate) fn expect_success(addr: &str, resp: RemotingCommand) -> Result<RemotingCommand> {
    match resp.response_code() {
        ResponseCode::Success => Ok(resp),
        code => Err(ClientError::Broker { addr: addr.to_owned(), code, remark: resp.remark.unwrap_or_default() }),
    }
}

fn default_instance_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}#{}", std::process::id(), nanos)
}

/// The local address used to reach `peer` (no packet is sent), else loopback.
fn local_ip(peer: &str) -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        socket.connect(peer)?;
        Ok(socket.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

//! Cluster administration, the requests `mqadmin` sends, as typed async calls: clusters and
//! brokers ([`cluster`]), topics ([`topic`]), consumer groups ([`consumer`]) and their offsets
//! ([`offset`]), and message lookups ([`message`]). Every result is a plain struct that also
//! serializes to JSON; the `rmqadmin` CLI is a thin layer over this module.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rmq_client::admin::AdminError> {
//! use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
//! let admin = Admin::builder().name_server("127.0.0.1:9876").build().await?;
//! admin.create_topic(&TopicSpec::new("orders"), &TopicTarget::Cluster("DefaultCluster".into())).await?;
//! for q in admin.topic_status("orders").await? {
//!     println!("{} #{}: {}..{}", q.broker_name, q.queue_id, q.min_offset, q.max_offset);
//! }
//! # Ok(()) }
//! ```

pub mod cluster;
pub mod consumer;
pub mod error;
mod group;
pub mod message;
pub mod offset;
pub mod topic;

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::protocol::body::{from_fastjson, BrokerData, ClusterInfo, TopicRouteData};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;

pub use cluster::ClusterBroker;
pub use consumer::{ConsumerConnections, ConsumerProgress, QueueProgress};
pub use error::{AdminError, AdminResult, ErrorKind};
pub use message::{MessageView, PullBatch, PullStatus};
pub use offset::{OffsetReset, QueueReset};
pub use topic::{QueueStatus, TopicDeletion, TopicSpec, TopicTarget};

use crate::core::{expect_success, ClientCore, ClientOptions};
use crate::error::ClientError;
use crate::route::MASTER_ID;

/// Configures an [`Admin`].
#[derive(Debug, Clone, Default)]
pub struct AdminBuilder {
    options: ClientOptions,
}

impl AdminBuilder {
    crate::core::client_setters!(options);

    /// Timeout of one request, connecting included (default 3 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Resolves the NameServer addresses; nothing is sent until the first call.
    pub async fn build(self) -> AdminResult<Admin> {
        Ok(Admin { core: ClientCore::start(self.options).await? })
    }
}

/// An admin client of one cluster (or of every cluster its NameServers know).
pub struct Admin {
    core: Arc<ClientCore>,
}

impl Admin {
    /// A builder with the defaults (NameServers from `NAMESRV_ADDR`, 3 s timeout).
    pub fn builder() -> AdminBuilder {
        AdminBuilder::default()
    }

    /// The NameServer addresses in use.
    pub fn name_servers(&self) -> &[String] {
        self.core.name_servers()
    }

    /// The timeout of one request.
    pub fn timeout(&self) -> Duration {
        self.core.options.request_timeout
    }

    /// Stops the background route refresh; also done on drop.
    pub fn shutdown(&self) {
        self.core.shutdown.cancel();
    }

    /// Sends `request` to a NameServer (with failover), failing unless it answers `SUCCESS`.
    async fn name_server_ok(&self, request: RemotingCommand) -> AdminResult<(String, RemotingCommand)> {
        let (addr, resp) = self.core.call_name_server(request).await?;
        Ok((addr.clone(), expect_success(&addr, resp)?))
    }

    /// Sends `request` to the broker or NameServer at `addr`, failing unless it answers `SUCCESS`.
    async fn call_ok(&self, addr: &str, request: RemotingCommand) -> AdminResult<RemotingCommand> {
        Ok(self.core.call_ok(addr, request).await?)
    }

    /// Sends `request` to the broker or NameServer at `addr` and returns whatever it answers.
    async fn call(&self, addr: &str, request: RemotingCommand) -> AdminResult<RemotingCommand> {
        Ok(self.core.call(addr, request, self.timeout()).await?)
    }

    /// Every broker group of every cluster (GET_BROKER_CLUSTER_INFO).
    pub async fn cluster_info(&self) -> AdminResult<ClusterInfo> {
        let (addr, resp) = self.name_server_ok(RemotingCommand::request(RequestCode::GetBrokerClusterInfo)).await?;
        parse_body(&addr, &resp)
    }

    /// The NameServers' route of `topic`; [`ErrorKind::NotFound`] when no broker serves it.
    pub async fn topic_route(&self, topic: &str) -> AdminResult<TopicRouteData> {
        self.core.fetch_route(topic).await?.ok_or_else(|| {
            AdminError::not_found(format!("topic {topic} does not exist (the NameServers have no route)"))
        })
    }

    /// `(broker name, address)` of the broker each group of `route` is read from: its master,
    /// else any slave (Java's `BrokerData.selectBrokerAddr`).
    fn route_brokers(route: &TopicRouteData) -> Vec<(String, String)> {
        let mut out: Vec<_> = route
            .broker_datas
            .iter()
            .filter_map(|b| select_addr(b).map(|a| (b.broker_name.clone(), a.to_owned())))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `(broker name, master address)` of every broker group of `cluster`.
    pub async fn cluster_masters(&self, cluster: &str) -> AdminResult<Vec<(String, String)>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| AdminError::not_found(format!("cluster {cluster} is not known to the NameServers")))?;
        Ok(names
            .iter()
            .filter_map(|name| {
                let addr = info.broker_addr_table.get(name)?.broker_addrs.get(&MASTER_ID)?;
                Some((name.clone(), addr.clone()))
            })
            .collect())
    }

    /// The master address of `broker_name` in the route of `topic`.
    async fn broker_addr_of(&self, topic: &str, broker_name: &str) -> AdminResult<String> {
        let route = self.topic_route(topic).await?;
        route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
            .and_then(select_addr)
            .map(str::to_owned)
            .ok_or_else(|| AdminError::not_found(format!("broker {broker_name} does not serve topic {topic}")))
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        self.core.shutdown.cancel();
    }
}

/// The master's address, else the lowest-id slave's.
fn select_addr(b: &BrokerData) -> Option<&str> {
    b.broker_addrs.get(&MASTER_ID).or_else(|| b.broker_addrs.values().next()).map(String::as_str)
}

/// Parses a fastjson body answered by `addr`.
fn parse_body<T: DeserializeOwned>(addr: &str, resp: &RemotingCommand) -> AdminResult<T> {
    from_fastjson(&resp.body).map_err(|e| ClientError::protocol(addr, format!("bad response body: {e}")).into())
}

/// A [`ClientError::Broker`] for an answer that is not `SUCCESS`.
fn refused(addr: &str, resp: &RemotingCommand) -> AdminError {
    ClientError::Broker {
        addr: addr.to_owned(),
        code: resp.response_code(),
        remark: resp.remark.clone().unwrap_or_default(),
    }
    .into()
}

/// Whether an answer is `SUCCESS`.
fn is_success(resp: &RemotingCommand) -> bool {
    resp.response_code() == ResponseCode::Success
}

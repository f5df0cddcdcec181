//! Registration with every NameServer: at start, on topic changes, every
//! `registerNameServerPeriod`, and an unregistration at shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rmq_remoting::protocol::body::{perm, to_json, RegisterBrokerBody, TopicConfigWrapper};
use rmq_remoting::protocol::namesrv::{BrokerIdentityRequest, RegisterBrokerRequest, RegisterBrokerResponse};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, warn};

use crate::config::BrokerConfig;
use crate::outbound::Outbound;

const REGISTER_TIMEOUT: Duration = Duration::from_secs(6);
/// Apache's `MixAll.MASTER_ID`.
const MASTER_ID: i64 = 0;

/// The broker's link to its NameServers.
pub struct NamesrvLink {
    client: Arc<Outbound>,
    addrs: Vec<String>,
    identity: BrokerIdentityRequest,
    /// `masterServiceAddress`: registered instead of `identity.broker_addr` while master.
    master_service: Option<String>,
    ha_addr: String,
    /// Whether the last registration round was accepted by at least one NameServer.
    registered: AtomicBool,
}

impl NamesrvLink {
    /// A link for this broker's identity and NameServer list.
    pub fn new(config: &BrokerConfig, client: Arc<Outbound>) -> Self {
        NamesrvLink {
            client,
            addrs: config.network.namesrv_addrs.clone(),
            identity: BrokerIdentityRequest {
                broker_name: config.broker_name.clone(),
                broker_addr: config.broker_addr(),
                cluster_name: config.cluster_name.clone(),
                broker_id: config.broker_id,
            },
            master_service: config.network.master_service_address.clone(),
            ha_addr: config.ha_addr(),
            registered: AtomicBool::new(false),
        }
    }

    /// The NameServer addresses.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Registers `topics` with every NameServer in parallel; the broker permission is AND-ed into
    /// every topic's perm. Returns how many NameServers accepted, and the group's master as one
    /// of them reported it (what a slave follows).
    pub async fn register(
        &self,
        mut topics: TopicConfigWrapper,
        broker_permission: i32,
        broker_id: i64,
    ) -> (usize, Option<RegisterBrokerResponse>) {
        if broker_permission & perm::READ_WRITE != perm::READ_WRITE {
            for tc in topics.topic_config_table.values_mut() {
                tc.perm &= broker_permission | perm::INHERIT;
            }
        }
        let body =
            to_json(&RegisterBrokerBody { topic_config_serialize_wrapper: topics, filter_server_list: Vec::new() });
        let crc = (crc32fast::hash(&body) & 0x7FFF_FFFF) as i32;
        let header = RegisterBrokerRequest {
            broker_name: self.identity.broker_name.clone(),
            broker_addr: self.advertised(broker_id).to_owned(),
            cluster_name: self.identity.cluster_name.clone(),
            ha_server_addr: Some(self.ha_addr.clone()),
            broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(crc),
        };
        let calls = self.addrs.iter().map(|addr| {
            let req =
                RemotingCommand::request(RequestCode::RegisterBroker).with_header(&header).with_body(body.clone());
            async move {
                match self.client.client().invoke(addr, req, REGISTER_TIMEOUT).await {
                    Ok(resp) if resp.response_code() == ResponseCode::Success => {
                        debug!(namesrv = %addr, "registered");
                        Some(resp.header::<RegisterBrokerResponse>().ok())
                    }
                    Ok(resp) => {
                        warn!(namesrv = %addr, code = resp.code, remark = ?resp.remark, "registration refused");
                        None
                    }
                    Err(e) => {
                        warn!(namesrv = %addr, error = %e, "registration failed");
                        None
                    }
                }
            }
        });
        let answers: Vec<Option<RegisterBrokerResponse>> = join_all(calls).await.into_iter().flatten().collect();
        let answers_len = answers.len();
        self.registered.store(!answers.is_empty(), Ordering::Release);
        let master = answers.into_iter().flatten().find(|r| r.master_addr.as_ref().is_some_and(|a| !a.is_empty()));
        (answers_len, master)
    }

    /// Whether the last registration round was accepted by at least one NameServer.
    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// The address registered as `broker_id`: the master Service's for the master when set.
    pub fn advertised(&self, broker_id: i64) -> &str {
        match &self.master_service {
            Some(service) if broker_id == MASTER_ID => service,
            _ => &self.identity.broker_addr,
        }
    }

    /// Unregisters `broker_id` from every NameServer (at shutdown). A master registered under
    /// the master Service's address stays: that address is the group's, and the next master
    /// re-registers it (unregistering could remove a new master's entry).
    pub async fn unregister(&self, broker_id: i64) {
        if broker_id == MASTER_ID && self.master_service.is_some() {
            return;
        }
        let identity = BrokerIdentityRequest { broker_id, ..self.identity.clone() };
        let calls = self.addrs.iter().map(|addr| {
            let req = RemotingCommand::request(RequestCode::UnregisterBroker).with_header(&identity);
            async move {
                if let Err(e) = self.client.client().invoke(addr, req, Duration::from_secs(3)).await {
                    warn!(namesrv = %addr, error = %e, "unregister failed");
                }
            }
        });
        join_all(calls).await;
    }
}

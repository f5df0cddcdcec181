//! One broker of a group as the controller sees it: its last `Status`, and the calls the
//! controller makes on it over the broker's gRPC admin API (`rmq.admin.v1.ReplicationAdmin`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmq_admin_api::connect::{ClientTls, Stamp};
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{FenceReply, FenceRequest, FollowRequest, PromoteRequest, StatusReply, StatusRequest};
use tonic::transport::Channel;

/// A broker's role as its status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `ASYNC_MASTER` or `SYNC_MASTER`.
    Master,
    /// `SLAVE`.
    Slave,
}

/// What a member reported in its last status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// Its role.
    pub role: Role,
    /// The BrokerId it registers with.
    pub broker_id: i64,
    /// The epoch it knows.
    pub epoch: u64,
    /// Where its CommitLog ends.
    pub max_offset: i64,
    /// Its remoting address.
    pub addr: String,
    /// Its HA address.
    pub ha_addr: String,
    /// On a slave: the master it follows (empty when unknown).
    pub master_addr: String,
    /// On a master: where its epoch starts.
    pub epoch_start: i64,
    /// A fence accepted its epoch and no master is known at it yet.
    pub fenced: bool,
    /// On a master: whether it accepts writes now.
    pub writable: bool,
}

impl From<StatusReply> for MemberStatus {
    fn from(s: StatusReply) -> Self {
        MemberStatus {
            role: if s.role == "SLAVE" { Role::Slave } else { Role::Master },
            broker_id: s.broker_id,
            epoch: s.epoch,
            max_offset: s.max_offset,
            addr: s.addr,
            ha_addr: s.ha_addr,
            master_addr: s.master_addr,
            epoch_start: s.epoch_start_offset,
            fenced: s.fenced,
            writable: s.writable,
        }
    }
}

/// A call to a member failed.
#[derive(Debug, thiserror::Error)]
#[error("{addr}: {status}")]
pub struct CallError {
    /// The member's admin address.
    pub addr: String,
    /// What the broker (or the transport) answered.
    pub status: tonic::Status,
}

/// A group member reached over its gRPC admin API.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its gRPC admin address, as configured (`host:port`).
    pub admin_addr: String,
    timeout: Duration,
    client: Arc<Mutex<MemberChannel>>,
}

/// A member's channel, the TLS settings it is made from and the state of their files then.
#[derive(Debug)]
struct MemberChannel {
    tls: Option<ClientTls>,
    stamp: Option<Stamp>,
    client: ReplicationAdminClient<Channel>,
}

impl Member {
    /// A member at `admin_addr` (`host:port` or a URI), over mutual TLS when `tls` is given;
    /// calls time out after `timeout`. Changed TLS files are used from the next call on.
    pub fn new(admin_addr: &str, tls: Option<&ClientTls>, timeout: Duration) -> Result<Member, String> {
        let stamp = tls.map(ClientTls::stamp);
        let channel = rmq_admin_api::connect::channel(admin_addr, tls, timeout)?;
        let client = ReplicationAdminClient::new(channel);
        Ok(Member {
            admin_addr: admin_addr.to_owned(),
            timeout,
            client: Arc::new(Mutex::new(MemberChannel { tls: tls.cloned(), stamp, client })),
        })
    }

    /// Switches to other TLS settings (a rotated Secret) from the next call on.
    pub fn set_tls(&self, tls: Option<ClientTls>) {
        let mut current = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if current.tls != tls {
            current.tls = tls;
            current.stamp = Some(Stamp::new()); // matches no real stamp: remade at the next call
        }
    }

    /// The client for a call, remade first when the TLS files or settings changed. Settings that
    /// do not load keep the previous channel, with a warning, and are retried at the next call.
    fn client(&self) -> ReplicationAdminClient<Channel> {
        let mut current = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let now = current.tls.as_ref().map(ClientTls::stamp);
        if now != current.stamp {
            match rmq_admin_api::connect::channel(&self.admin_addr, current.tls.as_ref(), self.timeout) {
                Ok(channel) => {
                    tracing::info!(member = %self.admin_addr, "admin TLS changed; reconnecting with it");
                    current.client = ReplicationAdminClient::new(channel);
                    current.stamp = now;
                }
                Err(e) => tracing::warn!(member = %self.admin_addr, error = %e, "admin TLS changed but does not load"),
            }
        }
        current.client.clone()
    }

    fn failed(&self, status: tonic::Status) -> CallError {
        CallError { addr: self.admin_addr.clone(), status }
    }

    /// Its status.
    pub async fn status(&self) -> Result<MemberStatus, CallError> {
        let reply = self.client().status(StatusRequest {}).await.map_err(|s| self.failed(s))?;
        Ok(reply.into_inner().into())
    }

    /// Fences it at `epoch`.
    pub async fn fence(&self, epoch: u64) -> Result<FenceReply, CallError> {
        let reply = self.client().fence(FenceRequest { epoch }).await.map_err(|s| self.failed(s))?;
        Ok(reply.into_inner())
    }

    /// Promotes it at `epoch`; it must hold at least `min_offset`.
    pub async fn promote(&self, epoch: u64, min_offset: i64) -> Result<(), CallError> {
        let request = PromoteRequest { epoch, min_offset, force: false };
        self.client().promote(request).await.map_err(|s| self.failed(s))?;
        Ok(())
    }

    /// Makes it follow `plan`.
    pub async fn follow(&self, plan: &FollowPlan) -> Result<bool, CallError> {
        let request = FollowRequest {
            epoch: plan.epoch,
            broker_id: plan.broker_id,
            master_addr: plan.master_addr.clone(),
            master_ha_addr: plan.master_ha_addr.clone(),
            master_start_offset: plan.master_start,
        };
        let reply = self.client().follow(request).await.map_err(|s| self.failed(s))?;
        Ok(reply.into_inner().restarting)
    }
}

/// How a member is to follow the group's master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowPlan {
    /// The master's epoch.
    pub epoch: u64,
    /// The BrokerId the member takes as a slave.
    pub broker_id: i64,
    /// The master's remoting address.
    pub master_addr: String,
    /// The master's HA address.
    pub master_ha_addr: String,
    /// Where the master's epoch starts.
    pub master_start: i64,
}

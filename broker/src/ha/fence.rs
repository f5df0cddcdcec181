//! Epoch fencing for a group under a failover controller (`groupPeers` set).
//!
//! Every member persists the highest epoch it accepted. A controller raises the epoch before it
//! promotes anybody by [`Replication::fence`]-ing a majority of the group; from then on those
//! members refuse to confirm the old master's epoch. A master accepts writes only while a
//! majority of the group (itself included) confirmed its epoch within `fencingLease`
//! ([`lease_loop`]), the lease counted from before the confirmations were asked for. Two
//! majorities always share a member, so once a new epoch is accepted the old master's lease
//! cannot be renewed, and ends at most `fencingLease` after that member's last confirmation,
//! which the fence answer reports so the controller waits that long before it promotes.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use rmq_admin_api::connect::ClientTls;
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::ConfirmEpochRequest;
use tokio::sync::watch;
use tonic::transport::Channel;
use tracing::{info, warn};

use super::role::{ReplicaState, RoleChangeError};
use super::Replication;
use crate::meta::load_json;
use crate::runtime::Broker;

/// A write in flight (see [`Replication::begin_write`]).
#[derive(Debug)]
pub struct WriteGuard<'a>(&'a Replication);

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.0.writes_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why this broker does not accept a write now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotWritable {
    /// A slave never accepts writes.
    #[error("this broker is a slave and does not accept sends")]
    Slave,
    /// A higher epoch was accepted (a failover or switchover is under way).
    #[error("this master is fenced: a newer epoch of its group was accepted")]
    Fenced,
    /// Too few group members confirmed this master's epoch lately.
    #[error("this master's write lease expired: a majority of its group has not confirmed its epoch")]
    LeaseExpired,
}

impl Replication {
    /// Whether a fence accepted the current epoch and no master is known at it yet.
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::Acquire)
    }

    /// On a master: where its epoch starts in the CommitLog.
    pub fn epoch_start(&self) -> i64 {
        self.epoch_start.load(Ordering::Acquire)
    }

    /// Whether this broker accepts a write now: a master, not fenced, and (in a fenced group)
    /// holding a valid lease. One or two atomic loads and a clock read.
    pub fn writable(&self) -> Result<(), NotWritable> {
        if self.is_slave() {
            return Err(NotWritable::Slave);
        }
        if self.is_fenced() {
            return Err(NotWritable::Fenced);
        }
        if self.config.fenced_group() && self.millis_now() >= self.lease_until_ms.load(Ordering::Acquire) {
            return Err(NotWritable::LeaseExpired);
        }
        Ok(())
    }

    /// Starts a write (a send's append): refused unless [`Replication::writable`]. While the
    /// guard lives the write counts as in flight, so a fence can wait for it
    /// ([`Replication::drain_writes`]) and report a CommitLog end nothing is still added to.
    pub fn begin_write(&self) -> Result<WriteGuard<'_>, NotWritable> {
        self.writes_in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = WriteGuard(self);
        self.writable()?;
        Ok(guard)
    }

    /// Slave side: starts appending a frame from the master; refused once fenced. While the
    /// guard lives the append counts as in flight, so a fence waits for it and reports a
    /// CommitLog end the slave does not grow past (nor acknowledge) afterwards.
    pub fn begin_replicated_append(&self) -> Option<WriteGuard<'_>> {
        self.writes_in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = WriteGuard(self);
        (!self.is_fenced()).then_some(guard)
    }

    /// After a fence: waits (at most `timeout`) until no write that passed the check before the
    /// fence is still appending. Returns whether they all finished.
    pub async fn drain_writes(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.writes_in_flight.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }

    /// Accepts `epoch` ahead of a promotion: this broker confirms no older master from now on,
    /// and a master stops accepting writes. Refused unless `epoch` is above the one it knows.
    pub fn fence(&self, epoch: u64) -> Result<(), RoleChangeError> {
        let current = self.epoch();
        if epoch <= current {
            return Err(RoleChangeError::StaleEpoch { requested: epoch, current });
        }
        let state = load_json::<ReplicaState>(&self.state_file).unwrap_or_default();
        self.save(&ReplicaState { epoch, fenced: true, ..state })?;
        self.fenced.store(true, Ordering::SeqCst);
        self.epoch.store(epoch, Ordering::Release);
        warn!(epoch, previous = current, "fenced: accepted a new epoch of the group");
        Ok(())
    }

    /// A master of the group asks to renew its lease under `epoch`: confirmed when this broker
    /// knows the same epoch.
    pub fn confirm_epoch(&self, epoch: u64) -> bool {
        let ok = epoch == self.epoch();
        if ok {
            *self.last_confirm.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
        ok
    }

    /// How long ago this broker last confirmed a master's epoch.
    pub fn last_confirm_ago(&self) -> Option<Duration> {
        self.last_confirm.lock().unwrap_or_else(PoisonError::into_inner).map(|t| t.elapsed())
    }

    fn millis_now(&self) -> u64 {
        u64::try_from(self.clock_base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A majority confirmed this master's epoch after `asked_at`: writes are allowed until
    /// `asked_at + fencingLease`.
    fn renew_lease(&self, asked_at: Instant) {
        let until = asked_at.saturating_duration_since(self.clock_base) + self.config.fencing_lease;
        let until = u64::try_from(until.as_millis()).unwrap_or(u64::MAX);
        self.lease_until_ms.fetch_max(until, Ordering::AcqRel);
    }

    /// Members needed for a majority of the group (`groupPeers` plus this broker).
    pub fn majority(&self) -> usize {
        let members = self.config.group_peers.len() + 1;
        members / 2 + 1
    }
}

/// `host:port` → a lazily connecting admin client with `timeout` per call.
fn peer_client(peer: &str, tls: Option<&ClientTls>, timeout: Duration) -> Option<ReplicationAdminClient<Channel>> {
    match rmq_admin_api::connect::channel(peer, tls, timeout) {
        Ok(channel) => Some(ReplicationAdminClient::new(channel)),
        Err(e) => {
            warn!(%peer, error = %e, "ignoring a groupPeers entry that is no address");
            None
        }
    }
}

/// On a master of a fenced group: asks the peers to confirm its epoch every quarter lease, and
/// renews the write lease when a majority did. Idle on a slave and in an unfenced group.
pub async fn lease_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let replication = &broker.replication;
    let config = replication.config();
    if !config.fenced_group() {
        return;
    }
    let lease = config.fencing_lease;
    let tls = config.grpc_tls.as_ref();
    let connect = || config.group_peers.iter().filter_map(|p| peer_client(p, tls, lease / 2)).collect::<Vec<_>>();
    // Channels keep the certificates they were made with: remade when the files change.
    let mut stamp = tls.map(ClientTls::stamp);
    let mut peers = connect();
    let mut tick = tokio::time::interval((lease / 4).max(Duration::from_millis(25)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut holding = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if replication.is_slave() || replication.is_fenced() {
            holding = false;
            continue;
        }
        let now = tls.map(ClientTls::stamp);
        if now != stamp {
            // Files caught mid-rotation may not load: keep the old channels and retry next tick.
            let fresh = connect();
            if fresh.len() == peers.len() {
                info!("the gRPC admin TLS files changed; reconnecting to the group's peers with them");
                (stamp, peers) = (now, fresh);
            }
        }
        let epoch = replication.epoch();
        let asked_at = Instant::now();
        let answers = join_all(peers.iter().cloned().map(|mut peer| async move {
            peer.confirm_epoch(ConfirmEpochRequest { epoch }).await.map(|r| r.into_inner())
        }))
        .await;
        let confirmed = 1 + answers.iter().filter(|a| a.as_ref().is_ok_and(|r| r.ok)).count();
        let newer = answers.iter().filter_map(|a| a.as_ref().ok()).map(|r| r.epoch).max().filter(|e| *e > epoch);
        if confirmed >= replication.majority() && newer.is_none() {
            replication.renew_lease(asked_at);
            if !holding {
                info!(epoch, confirmed, "write lease granted by a majority of the group");
            }
            holding = true;
        } else if holding {
            holding = false;
            warn!(epoch, confirmed, newer_epoch = ?newer, "write lease not renewed: writes stop when it ends");
        }
    }
}

//! Master/slave replication by BrokerId, on Apache's classic HA transfer: a slave connects to
//! the master's HA port and reports its CommitLog end as an 8-byte offset; the master streams
//! frames of `offset i64 ‖ size i32 ‖ records` from there ([`master`]); the slave appends them
//! verbatim, so offsets and message ids are the same on both, and reports again ([`slave`]).
//! An empty frame is the idle master's heartbeat.
//!
//! [`Replication`] holds the role and the master's view of its slaves: their acknowledged
//! offsets, which slaves are in sync, and the wait of a `SYNC_MASTER` send for its replicas.

pub mod fence;
pub mod master;
pub mod metadata;
pub mod role;
pub mod slave;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::{BrokerConfig, BrokerRole, HaConfig};

/// Size of a transfer frame's header: offset (i64) and body size (i32), big-endian.
pub const FRAME_HEADER_LEN: usize = 12;
/// Largest frame body a slave accepts (a whole record is never split, and records are at most
/// `maxMessageSize` plus headers).
pub const MAX_FRAME_BODY: usize = 64 * 1024 * 1024;

/// What the master knows of one connected slave.
#[derive(Debug, Clone)]
pub struct SlaveLink {
    /// The slave's address on the HA connection.
    pub addr: SocketAddr,
    /// The CommitLog offset the slave last reported having (its acknowledgement).
    pub acked: i64,
    /// When it last reported.
    pub reported_at: Instant,
}

/// Keeps a transfer counted (see [`Replication::transfer_started`]).
#[derive(Debug)]
pub struct TransferGuard<'a>(&'a Replication);

impl Drop for TransferGuard<'_> {
    fn drop(&mut self) {
        self.0.transfers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a `SYNC_MASTER` send was not replicated enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaShortfall {
    /// Fewer replicas are in sync than `minInSyncReplicas`: refused before storing.
    NotEnoughInSync,
    /// Stored, but not acknowledged by enough slaves within `slaveTimeout`.
    Timeout,
}

/// The broker's replication state.
#[derive(Debug)]
pub struct Replication {
    config: HaConfig,
    role: AtomicU8,
    /// The group's replication epoch as this broker knows it (raised by each failover),
    /// persisted in `<root>/config/replicaState.json`.
    epoch: AtomicU64,
    state_file: std::path::PathBuf,
    /// The BrokerId this broker registers with (0 once promoted).
    broker_id: AtomicI64,
    /// Master side: connected slaves by connection number.
    slaves: Mutex<HashMap<u64, SlaveLink>>,
    /// Master side: signalled when a slave acknowledges more.
    acked: Notify,
    /// Master side: signalled when the CommitLog grows (wakes idle transfers).
    grown: Notify,
    /// Master side: transfers to slaves running now.
    transfers: std::sync::atomic::AtomicUsize,
    /// Slave side: when the last frame from the master arrived (`None`: not connected).
    last_frame: Mutex<Option<Instant>>,
    /// Slave side: the master's HA and remoting addresses as the NameServer last reported them.
    learned_master: RwLock<(Option<String>, Option<String>)>,
    /// A fence accepted `epoch` and no master is known at it yet (persisted).
    fenced: AtomicBool,
    /// Master side: where this master's epoch starts in the CommitLog (persisted).
    epoch_start: AtomicI64,
    /// Master side, fenced groups: the write lease's end, in milliseconds since `clock_base`.
    lease_until_ms: AtomicU64,
    /// Any member: when it last confirmed a master's epoch.
    last_confirm: Mutex<Option<Instant>>,
    /// Master side: sends between their write check and the end of their append.
    writes_in_flight: std::sync::atomic::AtomicUsize,
    /// Slave side: the master was assigned by a follow (the controller); the NameServers'
    /// answers and `haMasterAddress` no longer override it.
    pinned: AtomicBool,
    clock_base: Instant,
}

fn role_code(role: BrokerRole) -> u8 {
    match role {
        BrokerRole::AsyncMaster => 0,
        BrokerRole::SyncMaster => 1,
        BrokerRole::Slave => 2,
    }
}

impl Replication {
    /// The state of a broker starting with `config` and the persisted `state` (which wins: a
    /// broker told to follow stays a slave and a promoted one the master, whatever `broker.conf` says).
    pub fn new(config: &BrokerConfig, state: &role::ReplicaState) -> Replication {
        let (role, broker_id, master) = match &state.follow {
            Some(f) => (BrokerRole::Slave, f.broker_id, (Some(f.ha_addr.clone()), Some(f.addr.clone()))),
            None if state.promoted && config.role == BrokerRole::Slave => {
                let role =
                    if config.ha.in_sync_replicas > 1 { BrokerRole::SyncMaster } else { BrokerRole::AsyncMaster };
                (role, 0, (None, None))
            }
            None => (config.role, config.broker_id, (None, None)),
        };
        Replication {
            config: config.ha.clone(),
            role: AtomicU8::new(role_code(role)),
            epoch: AtomicU64::new(state.epoch),
            state_file: role::state_file(&config.store_root),
            broker_id: AtomicI64::new(broker_id),
            slaves: Mutex::new(HashMap::new()),
            acked: Notify::new(),
            grown: Notify::new(),
            transfers: std::sync::atomic::AtomicUsize::new(0),
            last_frame: Mutex::new(None),
            learned_master: RwLock::new(master),
            fenced: AtomicBool::new(state.fenced),
            epoch_start: AtomicI64::new(state.epoch_start),
            lease_until_ms: AtomicU64::new(0),
            last_confirm: Mutex::new(None),
            writes_in_flight: std::sync::atomic::AtomicUsize::new(0),
            pinned: AtomicBool::new(state.follow.is_some()),
            clock_base: Instant::now(),
        }
    }

    /// The replication settings.
    pub fn config(&self) -> &HaConfig {
        &self.config
    }

    /// The current role.
    pub fn role(&self) -> BrokerRole {
        match self.role.load(Ordering::Acquire) {
            0 => BrokerRole::AsyncMaster,
            1 => BrokerRole::SyncMaster,
            _ => BrokerRole::Slave,
        }
    }

    /// The replication epoch this broker knows.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The BrokerId this broker registers with now.
    pub fn broker_id(&self) -> i64 {
        self.broker_id.load(Ordering::Acquire)
    }

    /// Whether this broker is a slave now.
    pub fn is_slave(&self) -> bool {
        self.role() == BrokerRole::Slave
    }

    /// Wakes the transfers to slaves: the CommitLog grew. Called on every put; without a slave
    /// connected it costs one atomic load.
    pub fn commit_log_grew(&self) {
        if self.transfers.load(Ordering::Acquire) > 0 {
            self.grown.notify_waiters();
        }
    }

    /// Counts a transfer to a slave while the returned guard lives.
    pub fn transfer_started(&self) -> TransferGuard<'_> {
        self.transfers.fetch_add(1, Ordering::AcqRel);
        TransferGuard(self)
    }

    /// A future resolved at the next [`Replication::commit_log_grew`] (enable it before checking
    /// for new records, so none is missed).
    pub fn grown_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.grown.notified()
    }

    /// The master's HA address a slave should follow: the one a follow assigned, else
    /// `haMasterAddress`, else what the NameServer reported.
    pub fn master_ha_addr(&self) -> Option<String> {
        let learned = || self.learned_master.read().unwrap_or_else(PoisonError::into_inner).0.clone();
        if self.pinned.load(Ordering::Acquire) {
            return learned();
        }
        self.config.master_address.clone().or_else(learned)
    }

    /// The master's remoting address (for the metadata sync), as the NameServer reported it.
    pub fn master_addr(&self) -> Option<String> {
        self.learned_master.read().unwrap_or_else(PoisonError::into_inner).1.clone()
    }

    /// Records the master's HA and remoting addresses from a registration answer; ignored once
    /// a follow assigned the master.
    pub fn learn_master(&self, ha_addr: Option<String>, addr: Option<String>) {
        if !self.pinned.load(Ordering::Acquire) {
            self.set_master(ha_addr, addr);
        }
    }

    /// Sets the master's HA and remoting addresses.
    fn set_master(&self, ha_addr: Option<String>, addr: Option<String>) {
        let known = |a: Option<String>| a.filter(|a| !a.is_empty());
        *self.learned_master.write().unwrap_or_else(PoisonError::into_inner) = (known(ha_addr), known(addr));
    }

    /// Slave side: a frame (records or heartbeat) arrived, or with `false` the connection to the
    /// master is gone.
    pub fn master_frame(&self, connected: bool) {
        *self.last_frame.lock().unwrap_or_else(PoisonError::into_inner) = connected.then(Instant::now);
    }

    /// Slave side: whether the master sent a frame within `haHousekeepingInterval`.
    pub fn is_receiving(&self) -> bool {
        let last = *self.last_frame.lock().unwrap_or_else(PoisonError::into_inner);
        last.is_some_and(|t| t.elapsed() < self.config.housekeeping_interval)
    }

    fn lock_slaves(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SlaveLink>> {
        self.slaves.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a slave's report on HA connection `link`.
    pub fn slave_reported(&self, link: u64, addr: SocketAddr, acked: i64) {
        let mut slaves = self.lock_slaves();
        let entry = slaves.entry(link).or_insert(SlaveLink { addr, acked, reported_at: Instant::now() });
        entry.acked = entry.acked.max(acked);
        entry.reported_at = Instant::now();
        drop(slaves);
        self.acked.notify_waiters();
    }

    /// Forgets HA connection `link`.
    pub fn slave_gone(&self, link: u64) {
        self.lock_slaves().remove(&link);
        self.acked.notify_waiters();
    }

    /// The connected slaves.
    pub fn slaves(&self) -> Vec<SlaveLink> {
        self.lock_slaves().values().cloned().collect()
    }

    /// Copies in sync with a master whose CommitLog ends at `master_end`, the master's included
    /// (Apache's `inSyncReplicasNums`).
    pub fn in_sync_replicas(&self, master_end: i64) -> usize {
        1 + self.lock_slaves().values().filter(|s| master_end - s.acked < self.config.max_gap_not_in_sync).count()
    }

    /// The highest offset any slave acknowledged (Apache's `push2SlaveMaxOffset`).
    pub fn max_acked(&self) -> Option<i64> {
        self.lock_slaves().values().map(|s| s.acked).max()
    }

    /// Before a `SYNC_MASTER` send is stored: refuses it when fewer than `minInSyncReplicas`
    /// copies are in sync with `master_end`.
    pub fn check_in_sync(&self, master_end: i64) -> Result<(), ReplicaShortfall> {
        if self.needs_replicas() && self.in_sync_replicas(master_end) < self.config.min_in_sync_replicas {
            return Err(ReplicaShortfall::NotEnoughInSync);
        }
        Ok(())
    }

    /// Whether sends wait for slaves: a `SYNC_MASTER` with `inSyncReplicas` ≥ 2.
    pub fn needs_replicas(&self) -> bool {
        self.role() == BrokerRole::SyncMaster && self.config.in_sync_replicas > 1
    }

    /// Waits until `inSyncReplicas - 1` slaves acknowledged `end` (the CommitLog offset after a
    /// stored send), at most `slaveTimeout`. Returns at once when sends need no replicas.
    pub async fn wait_replicated(&self, end: i64) -> Result<(), ReplicaShortfall> {
        if !self.needs_replicas() {
            return Ok(());
        }
        let needed = self.config.in_sync_replicas - 1;
        let deadline = tokio::time::Instant::now() + self.config.slave_timeout;
        loop {
            let notified = self.acked.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock_slaves().values().filter(|s| s.acked >= end).count() >= needed {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(ReplicaShortfall::Timeout);
            }
        }
    }

    /// How long a connection may stay silent.
    pub fn housekeeping(&self) -> Duration {
        self.config.housekeeping_interval
    }
}

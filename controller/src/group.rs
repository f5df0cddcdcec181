//! One watched broker group: polls its members, keeps them pointed at the master, fails a dead
//! master over to the most caught-up slave, and hands mastership over on request.
//!
//! Failover: when no reachable, unfenced master was seen for `failover_after`, the controller
//! fences a majority of the group at a new epoch (so no old master can renew its write lease),
//! waits out the lease the old master may still hold, promotes the slave with the longest
//! CommitLog (ties: lowest BrokerId) and re-points everybody else at it. Switchover: fence the
//! master first (its writes stop at once), wait for the chosen slave to hold everything the
//! master has, fence the others (a fenced slave stops replicating, so this comes last), promote
//! the slave, re-point the old master.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use tracing::{info, warn};

use crate::config::{ControllerConfig, GroupConfig};
use crate::decide::{current_master, lease_wait, majority, pick_candidate, repoint_plans, FenceAck};
use crate::member::{CallError, Member, MemberStatus, Role};

/// Why a failover or switchover did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Fewer members than a majority accepted the new epoch.
    #[error("only {got} of the {needed} members a majority needs accepted epoch {epoch}")]
    NoMajority {
        /// Members that accepted.
        got: usize,
        /// Members needed.
        needed: usize,
        /// The epoch offered.
        epoch: u64,
    },
    /// No slave among the members that answered.
    #[error("no reachable slave to promote")]
    NoCandidate,
    /// The group has no reachable master (switchover).
    #[error("the group has no reachable master")]
    NoMaster,
    /// No member has that BrokerId.
    #[error("no member of the group has BrokerId {0}")]
    UnknownBrokerId(i64),
    /// The target is not a slave.
    #[error("BrokerId {0} is not a slave")]
    NotASlave(i64),
    /// The slave did not catch up within the timeout; the master got its writes back.
    #[error("the slave did not catch up with the master within {0:?}; the master keeps its role")]
    CatchUpTimeout(Duration),
    /// A call to a member failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// What the controller last saw of a group.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// Each member's last status (`None`: unreachable), in configuration order.
    pub statuses: Vec<Option<MemberStatus>>,
    /// The current master (index into the members).
    pub master: Option<usize>,
    /// When a master was last seen.
    pub master_seen: Instant,
    /// Failovers and switchovers this controller carried out.
    pub failovers: u64,
}

/// A watched group.
#[derive(Debug)]
pub struct Group {
    /// The group's `brokerName`.
    pub name: String,
    members: Vec<Member>,
    view: Mutex<GroupView>,
    /// Held by whatever changes roles, so a tick never acts in the middle of a switchover.
    busy: tokio::sync::Mutex<()>,
}

impl Group {
    /// A group of `config`'s members, reached over `tls` when given, calls timing out after
    /// `call_timeout`.
    pub fn new(
        config: &GroupConfig,
        tls: Option<&rmq_admin_api::connect::ClientTls>,
        call_timeout: Duration,
    ) -> Result<Group, String> {
        let members =
            config.members.iter().map(|m| Member::new(m, tls, call_timeout)).collect::<Result<Vec<_>, _>>()?;
        let view =
            GroupView { statuses: vec![None; members.len()], master: None, master_seen: Instant::now(), failovers: 0 };
        Ok(Group { name: config.name.clone(), members, view: Mutex::new(view), busy: tokio::sync::Mutex::new(()) })
    }

    /// Switches every member to other TLS settings from its next call on.
    pub fn set_tls(&self, tls: Option<&rmq_admin_api::connect::ClientTls>) {
        for member in &self.members {
            member.set_tls(tls.cloned());
        }
    }

    /// The members' admin addresses.
    pub fn member_addrs(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.admin_addr.as_str())
    }

    /// What the controller last saw.
    pub fn view(&self) -> GroupView {
        self.view.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update_view(&self, f: impl FnOnce(&mut GroupView)) {
        f(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Every member's status now, recorded in the view.
    async fn poll(&self) -> Vec<Option<MemberStatus>> {
        let statuses: Vec<_> = join_all(self.members.iter().map(|m| async { m.status().await.ok() })).await;
        let master = current_master(&statuses);
        self.update_view(|v| {
            v.statuses.clone_from(&statuses);
            v.master = master;
            if master.is_some() {
                v.master_seen = Instant::now();
            }
        });
        statuses
    }

    /// One round: poll; when `acting`, re-point stale members or fail over a master gone for
    /// `failover_after`.
    pub async fn tick(&self, config: &ControllerConfig, acting: bool) {
        let Ok(_busy) = self.busy.try_lock() else {
            return; // a switchover is changing roles
        };
        let statuses = self.poll().await;
        if !acting {
            return;
        }
        match current_master(&statuses) {
            Some(m) => self.repoint(&statuses, m).await,
            None if self.view().master_seen.elapsed() >= config.failover_after => {
                match self.failover(config, &statuses).await {
                    Ok(()) => {}
                    Err(e) => warn!(group = %self.name, error = %e, "failover attempt failed; retrying"),
                }
            }
            None => {}
        }
    }

    /// Tells every member that is not in line with master `m` to follow it.
    async fn repoint(&self, statuses: &[Option<MemberStatus>], m: usize) {
        for (i, plan) in repoint_plans(statuses, m) {
            match self.members[i].follow(&plan).await {
                Ok(restarting) => info!(
                    group = %self.name, member = %self.members[i].admin_addr, epoch = plan.epoch,
                    broker_id = plan.broker_id, restarting, "re-pointed at the master"
                ),
                Err(e) => warn!(group = %self.name, error = %e, "re-pointing a member failed"),
            }
        }
    }

    /// Fences member `i` at `epoch`.
    async fn fence_one(&self, i: usize, epoch: u64) -> Result<FenceAck, CallError> {
        let r = self.members[i].fence(epoch).await?;
        let role = if r.role == "SLAVE" { Role::Slave } else { Role::Master };
        let ago = (r.last_confirm_ms_ago != u64::MAX).then(|| Duration::from_millis(r.last_confirm_ms_ago));
        Ok(FenceAck { role, broker_id: r.broker_id, max_offset: r.max_offset, last_confirm_ago: ago })
    }

    /// Fences every reachable member at `epoch` but the one already fenced (`done`, counted);
    /// the acknowledgements by member index, at least a majority.
    async fn fence_all(
        &self,
        statuses: &[Option<MemberStatus>],
        epoch: u64,
        done: Option<(usize, FenceAck)>,
    ) -> Result<Vec<(usize, FenceAck)>, ControlError> {
        let skip = done.as_ref().map(|(i, _)| *i);
        let rest = (0..statuses.len()).filter(|i| statuses[*i].is_some() && Some(*i) != skip);
        let answers = join_all(rest.map(|i| async move { (i, self.fence_one(i, epoch).await) })).await;
        let mut acks: Vec<(usize, FenceAck)> = done.into_iter().collect();
        for (i, answer) in answers {
            match answer {
                Ok(ack) => acks.push((i, ack)),
                Err(e) => warn!(group = %self.name, error = %e, epoch, "a member refused the fence"),
            }
        }
        let needed = majority(self.members.len());
        if acks.len() < needed {
            return Err(ControlError::NoMajority { got: acks.len(), needed, epoch });
        }
        Ok(acks)
    }

    fn next_epoch(statuses: &[Option<MemberStatus>]) -> u64 {
        statuses.iter().flatten().map(|s| s.epoch).max().unwrap_or(0) + 1
    }

    async fn failover(&self, config: &ControllerConfig, statuses: &[Option<MemberStatus>]) -> Result<(), ControlError> {
        let started = Instant::now();
        let epoch = Self::next_epoch(statuses);
        warn!(group = %self.name, epoch, "no master reachable for {:?}: failing over", config.failover_after);
        let acks = self.fence_all(statuses, epoch, None).await?;
        let candidate = pick_candidate(&acks).ok_or(ControlError::NoCandidate)?;
        let offset = acks.iter().find(|(i, _)| *i == candidate).map_or(0, |(_, a)| a.max_offset);
        let wait = lease_wait(config.fencing_lease, &acks);
        if !wait.is_zero() {
            info!(group = %self.name, ?wait, "waiting for the old master's write lease to end");
            tokio::time::sleep(wait).await;
        }
        self.members[candidate].promote(epoch, offset).await?;
        self.update_view(|v| {
            v.failovers += 1;
            v.master_seen = Instant::now();
        });
        warn!(
            group = %self.name, epoch, new_master = %self.members[candidate].admin_addr, offset,
            took_ms = started.elapsed().as_millis(), "failover done: slave promoted"
        );
        let statuses = self.poll().await;
        if let Some(m) = current_master(&statuses) {
            self.repoint(&statuses, m).await;
        }
        Ok(())
    }

    /// Hands mastership to slave `target` (`None`: the most caught-up slave) with nothing
    /// acknowledged lost. Returns the new epoch and the new master's admin address.
    pub async fn switchover(
        &self,
        config: &ControllerConfig,
        target: Option<i64>,
    ) -> Result<(u64, String), ControlError> {
        let _busy = self.busy.lock().await;
        let statuses = self.poll().await;
        let m = current_master(&statuses).ok_or(ControlError::NoMaster)?;
        let t = match target {
            Some(id) => {
                let (i, s) = statuses
                    .iter()
                    .enumerate()
                    .find_map(|(i, s)| s.as_ref().filter(|s| s.broker_id == id && i != m).map(|s| (i, s)))
                    .ok_or(ControlError::UnknownBrokerId(id))?;
                if s.role != Role::Slave {
                    return Err(ControlError::NotASlave(id));
                }
                i
            }
            None => statuses
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().filter(|s| s.role == Role::Slave).map(|s| (i, s)))
                .max_by_key(|(_, s)| (s.max_offset, std::cmp::Reverse(s.broker_id)))
                .map(|(i, _)| i)
                .ok_or(ControlError::NoCandidate)?,
        };
        let epoch = Self::next_epoch(&statuses);
        info!(group = %self.name, epoch, target = %self.members[t].admin_addr, "switchover: fencing the master");
        // The master first: its writes stop at once, and its answer holds its final CommitLog
        // end (it lets the appends under way finish). The others are fenced only once the
        // target caught up, since a fenced slave stops replicating.
        let master_ack = self.fence_one(m, epoch).await?;
        let master_end = master_ack.max_offset;
        let deadline = Instant::now() + config.catch_up_timeout;
        while !self.members[t].status().await.is_ok_and(|slave| slave.max_offset >= master_end) {
            if Instant::now() >= deadline {
                warn!(group = %self.name, "switchover: the slave never caught up; the master keeps its role");
                self.members[m].promote(epoch, 0).await?;
                return Err(ControlError::CatchUpTimeout(config.catch_up_timeout));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match self.fence_all(&statuses, epoch, Some((m, master_ack))).await {
            Ok(acks) if acks.iter().any(|(i, _)| *i == t) => {}
            outcome => {
                let error = outcome.err().unwrap_or(ControlError::NoCandidate);
                warn!(group = %self.name, error = %error, "switchover: the fence did not reach a majority and the target");
                self.members[m].promote(epoch, 0).await?;
                return Err(error);
            }
        }
        self.members[t].promote(epoch, master_end).await?;
        self.update_view(|v| {
            v.failovers += 1;
            v.master_seen = Instant::now();
        });
        info!(group = %self.name, epoch, new_master = %self.members[t].admin_addr, offset = master_end, "switchover: promoted");
        let statuses = self.poll().await;
        if let Some(m) = current_master(&statuses) {
            self.repoint(&statuses, m).await;
        }
        Ok((epoch, self.members[t].admin_addr.clone()))
    }
}

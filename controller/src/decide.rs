//! The controller's decisions as pure functions of what the members reported: who the master
//! is, who must be re-pointed at it (and under which BrokerId), which slave a failover
//! promotes, and how long a failover waits for the old master's write lease to end.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::member::{FollowPlan, MemberStatus, Role};

/// Members needed for a majority of a group of `members`.
pub fn majority(members: usize) -> usize {
    members / 2 + 1
}

/// The group's master: a reachable master that is not fenced and can still gather a majority
/// for its write lease (members that accepted a newer epoch never confirm it: a master restarted
/// after a failover attempt fenced the others is no master); among those the highest epoch,
/// then a writable one, then the longest CommitLog wins (two can only coexist briefly, while an
/// old master has not learned the new epoch yet).
pub fn current_master(statuses: &[Option<MemberStatus>]) -> Option<usize> {
    let may_refuse = statuses.len() - majority(statuses.len());
    let can_gather_majority = |epoch: u64| statuses.iter().flatten().filter(|s| s.epoch > epoch).count() <= may_refuse;
    statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
        .filter(|(_, s)| s.role == Role::Master && !s.fenced && can_gather_majority(s.epoch))
        .max_by_key(|(i, s)| (s.epoch, s.writable, s.max_offset, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// Whether member `s` must be told to follow `master`: it is another master, knows an older
/// epoch, is fenced, or follows another address. A slave that has not learned its master's
/// address yet is left alone.
fn needs_repoint(s: &MemberStatus, master: &MemberStatus) -> bool {
    s.role == Role::Master
        || s.epoch < master.epoch
        || s.fenced
        || (!s.master_addr.is_empty() && s.master_addr != master.addr)
}

/// The members (by index) to re-point at master `m`, each with the plan it gets. A slave keeps
/// its BrokerId unless another member uses it; others get the lowest free one.
pub fn repoint_plans(statuses: &[Option<MemberStatus>], m: usize) -> Vec<(usize, FollowPlan)> {
    let Some(master) = statuses.get(m).and_then(Option::as_ref) else {
        return Vec::new();
    };
    let stale: Vec<usize> = statuses
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != m && s.as_ref().is_some_and(|s| needs_repoint(s, master)))
        .map(|(i, _)| i)
        .collect();
    let mut used: BTreeSet<i64> = statuses
        .iter()
        .enumerate()
        .filter(|(i, _)| !stale.contains(i))
        .filter_map(|(_, s)| s.as_ref().map(|s| s.broker_id))
        .collect();
    used.insert(0);
    // Slaves keeping their ids first, so a former master never takes an id a slave still has.
    let mut ids: Vec<(usize, Option<i64>)> = Vec::new();
    for &i in &stale {
        let Some(s) = statuses[i].as_ref() else { continue };
        let keep = s.role == Role::Slave && s.broker_id > 0 && used.insert(s.broker_id);
        ids.push((i, keep.then_some(s.broker_id)));
    }
    ids.into_iter()
        .map(|(i, id)| {
            let broker_id = id.unwrap_or_else(|| {
                let free = (1..).find(|id| !used.contains(id)).unwrap_or(1);
                used.insert(free);
                free
            });
            let plan = FollowPlan {
                epoch: master.epoch,
                broker_id,
                master_addr: master.addr.clone(),
                master_ha_addr: master.ha_addr.clone(),
                master_start: master.epoch_start,
            };
            (i, plan)
        })
        .collect()
}

/// A member's answer to a fence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceAck {
    /// Its role when fenced.
    pub role: Role,
    /// Its BrokerId.
    pub broker_id: i64,
    /// Where its CommitLog ended.
    pub max_offset: i64,
    /// How long ago it last confirmed a master's epoch (`None`: never).
    pub last_confirm_ago: Option<Duration>,
}

/// The slave a failover promotes among the fenced members: the longest CommitLog (replication
/// copies a prefix of the master's log, so it holds every record any in-sync slave holds, and
/// thus every `SYNC_MASTER`-acknowledged one), ties to the lowest BrokerId.
pub fn pick_candidate(acks: &[(usize, FenceAck)]) -> Option<usize> {
    acks.iter()
        .filter(|(_, a)| a.role == Role::Slave)
        .max_by_key(|(_, a)| (a.max_offset, std::cmp::Reverse(a.broker_id)))
        .map(|(i, _)| *i)
}

/// How long a failover waits after the fence before it promotes: the old master's lease was
/// last renewed no later than the latest confirmation any fenced member gave, and lasts
/// `lease` from there.
pub fn lease_wait(lease: Duration, acks: &[(usize, FenceAck)]) -> Duration {
    acks.iter().filter_map(|(_, a)| a.last_confirm_ago).min().map_or(Duration::ZERO, |ago| lease.saturating_sub(ago))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role, id: i64, epoch: u64, offset: i64, addr: &str, master: &str) -> Option<MemberStatus> {
        Some(MemberStatus {
            role,
            broker_id: id,
            epoch,
            max_offset: offset,
            addr: addr.into(),
            ha_addr: format!("{addr}-ha"),
            master_addr: master.into(),
            epoch_start: 0,
            fenced: false,
            writable: role == Role::Master,
        })
    }

    fn ack(role: Role, id: i64, offset: i64, ago_ms: Option<u64>) -> FenceAck {
        FenceAck { role, broker_id: id, max_offset: offset, last_confirm_ago: ago_ms.map(Duration::from_millis) }
    }

    #[test]
    fn majority_of_groups() {
        assert_eq!([1, 2, 3, 4, 5].map(majority), [1, 2, 2, 3, 3]);
    }

    #[test]
    fn the_master_with_the_newest_epoch_wins_and_a_fenced_one_never() {
        let mut old = member(Role::Master, 0, 1, 500, "a", "");
        let new = member(Role::Master, 0, 2, 400, "b", "");
        assert_eq!(current_master(&[old.clone(), new.clone(), None]), Some(1));
        if let Some(s) = old.as_mut() {
            s.epoch = 3;
            s.fenced = true;
        }
        assert_eq!(current_master(&[old, new, None]), Some(1));
        assert_eq!(current_master(&[None, member(Role::Slave, 1, 2, 0, "c", "b")]), None);
    }

    #[test]
    fn a_master_behind_an_epoch_another_member_accepted_is_no_master() {
        // A failover attempt fenced the slave at epoch 2 but found no majority; the killed
        // master restarted at epoch 0. The slave never confirms it, so a new failover is due.
        let mut fenced = member(Role::Slave, 1, 2, 800, "s1", "m");
        if let Some(s) = fenced.as_mut() {
            s.fenced = true;
        }
        let restarted = member(Role::Master, 0, 0, 900, "m", "");
        assert_eq!(current_master(&[restarted, fenced]), None);
    }

    #[test]
    fn an_old_master_is_repointed_and_takes_the_free_broker_id() {
        let statuses = [
            member(Role::Master, 0, 1, 900, "old", ""),
            member(Role::Master, 0, 2, 800, "new", ""),
            member(Role::Slave, 2, 2, 800, "s2", "new"),
        ];
        let plans = repoint_plans(&statuses, 1);
        assert_eq!(plans.len(), 1);
        let (i, plan) = &plans[0];
        assert_eq!(*i, 0);
        assert_eq!(plan.broker_id, 1);
        assert_eq!((plan.epoch, plan.master_addr.as_str(), plan.master_ha_addr.as_str()), (2, "new", "new-ha"));
    }

    #[test]
    fn slaves_of_an_older_epoch_or_fenced_are_repointed_keeping_their_ids() {
        let mut fenced = member(Role::Slave, 2, 2, 800, "s2", "new");
        if let Some(s) = fenced.as_mut() {
            s.fenced = true;
        }
        let statuses =
            [member(Role::Master, 0, 2, 800, "new", ""), member(Role::Slave, 1, 1, 700, "s1", "old"), fenced];
        let plans = repoint_plans(&statuses, 0);
        let ids: Vec<(usize, i64)> = plans.iter().map(|(i, p)| (*i, p.broker_id)).collect();
        assert_eq!(ids, [(1, 1), (2, 2)]);
    }

    #[test]
    fn a_former_master_never_takes_the_id_of_a_slave_listed_after_it() {
        let mut fenced = member(Role::Slave, 1, 3, 800, "s1", "old");
        if let Some(s) = fenced.as_mut() {
            s.fenced = true;
        }
        let statuses = [member(Role::Master, 0, 2, 800, "old", ""), fenced, member(Role::Master, 0, 3, 800, "new", "")];
        let plans = repoint_plans(&statuses, 2);
        assert_eq!(plans.iter().map(|(i, p)| (*i, p.broker_id)).collect::<Vec<_>>(), [(0, 2), (1, 1)]);
    }

    #[test]
    fn a_slave_in_line_or_without_a_known_master_is_left_alone() {
        let statuses = [
            member(Role::Master, 0, 2, 800, "m", ""),
            member(Role::Slave, 1, 2, 800, "s1", "m"),
            member(Role::Slave, 2, 2, 0, "s2", ""),
        ];
        assert!(repoint_plans(&statuses, 0).is_empty());
    }

    #[test]
    fn clashing_broker_ids_are_resolved() {
        let statuses = [
            member(Role::Master, 0, 2, 800, "m", ""),
            member(Role::Slave, 1, 2, 800, "s1", "m"),
            member(Role::Slave, 1, 1, 800, "s2", "old"),
        ];
        let plans = repoint_plans(&statuses, 0);
        assert_eq!(plans.iter().map(|(i, p)| (*i, p.broker_id)).collect::<Vec<_>>(), [(2, 2)]);
    }

    #[test]
    fn the_longest_slave_log_is_promoted_ties_to_the_lowest_broker_id() {
        let acks = [
            (0, ack(Role::Slave, 2, 900, None)),
            (1, ack(Role::Slave, 1, 900, None)),
            (2, ack(Role::Slave, 3, 800, None)),
        ];
        assert_eq!(pick_candidate(&acks), Some(1));
        let acks = [(0, ack(Role::Master, 0, 1000, None)), (1, ack(Role::Slave, 1, 10, None))];
        assert_eq!(pick_candidate(&acks), Some(1));
        assert_eq!(pick_candidate(&[(0, ack(Role::Master, 0, 1000, None))]), None);
    }

    #[test]
    fn a_failover_waits_out_the_latest_confirmed_lease() {
        let lease = Duration::from_millis(1000);
        let acks = [(0, ack(Role::Slave, 1, 0, Some(300))), (1, ack(Role::Slave, 2, 0, Some(900)))];
        assert_eq!(lease_wait(lease, &acks), Duration::from_millis(700));
        assert_eq!(lease_wait(lease, &[(0, ack(Role::Slave, 1, 0, Some(5000)))]), Duration::ZERO);
        assert_eq!(lease_wait(lease, &[(0, ack(Role::Slave, 1, 0, None))]), Duration::ZERO);
    }
}

//! Health-gated rolls of a broker group, as a pure decision: which pod to restart next. Slaves
//! go first, one at a time, each only while every member is ready (a slave is ready once it
//! replicates again); the master goes last, after a switchover to an updated slave, so no client
//! ever sees a write refused.

/// One member of a group as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPod {
    /// The pod's name.
    pub name: String,
    /// Its StatefulSet ordinal.
    pub ordinal: i32,
    /// Whether it runs the StatefulSet's update revision.
    pub updated: bool,
    /// Whether it is ready (and not being deleted).
    pub ready: bool,
    /// Whether it is the group's master now.
    pub master: bool,
}

/// What to do next for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollStep {
    /// Every member runs the update revision.
    Done,
    /// A member is missing or not ready: wait before touching another.
    Wait,
    /// Delete this pod; the StatefulSet recreates it at the update revision.
    Restart(String),
    /// Hand mastership to this (updated, ready) slave ordinal first.
    Switchover(i32),
}

/// The next step of rolling `members` of a group that should have `replicas` members.
pub fn next_step(members: &[MemberPod], replicas: i32) -> RollStep {
    if members.iter().all(|m| m.updated) && members.len() as i32 >= replicas {
        return RollStep::Done;
    }
    if (members.len() as i32) < replicas || members.iter().any(|m| !m.ready) {
        return RollStep::Wait;
    }
    // Outdated slaves first, highest ordinal first (as a StatefulSet rolls).
    if let Some(slave) = members.iter().filter(|m| !m.updated && !m.master).max_by_key(|m| m.ordinal) {
        return RollStep::Restart(slave.name.clone());
    }
    let Some(master) = members.iter().find(|m| !m.updated && m.master) else {
        return RollStep::Done;
    };
    match members.iter().filter(|m| m.updated && !m.master).min_by_key(|m| m.ordinal) {
        Some(slave) => RollStep::Switchover(slave.ordinal),
        None => RollStep::Restart(master.name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ordinal: i32, updated: bool, ready: bool, master: bool) -> MemberPod {
        MemberPod { name: format!("g-{ordinal}"), ordinal, updated, ready, master }
    }

    #[test]
    fn an_updated_group_is_done() {
        let pods = [pod(0, true, true, true), pod(1, true, true, false)];
        assert_eq!(next_step(&pods, 2), RollStep::Done);
    }

    #[test]
    fn slaves_roll_first_highest_ordinal_first() {
        let pods = [pod(0, false, true, true), pod(1, false, true, false), pod(2, false, true, false)];
        assert_eq!(next_step(&pods, 3), RollStep::Restart("g-2".into()));
        let pods = [pod(0, false, true, true), pod(1, false, true, false), pod(2, true, true, false)];
        assert_eq!(next_step(&pods, 3), RollStep::Restart("g-1".into()));
    }

    #[test]
    fn nothing_rolls_while_a_member_is_not_ready_or_missing() {
        let pods = [pod(0, false, true, true), pod(1, true, false, false)];
        assert_eq!(next_step(&pods, 2), RollStep::Wait);
        let pods = [pod(0, false, true, true)];
        assert_eq!(next_step(&pods, 2), RollStep::Wait);
    }

    #[test]
    fn the_master_switches_over_to_an_updated_slave_before_it_restarts() {
        let pods = [pod(0, false, true, true), pod(1, true, true, false), pod(2, true, true, false)];
        assert_eq!(next_step(&pods, 3), RollStep::Switchover(1));
        // After the switchover the old master is a slave and rolls like one.
        let pods = [pod(0, false, true, false), pod(1, true, true, true), pod(2, true, true, false)];
        assert_eq!(next_step(&pods, 3), RollStep::Restart("g-0".into()));
    }

    #[test]
    fn a_lone_master_just_restarts() {
        assert_eq!(next_step(&[pod(0, false, true, true)], 1), RollStep::Restart("g-0".into()));
    }
}

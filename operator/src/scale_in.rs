//! Scale-in of broker groups, the decision part (pure): a group beyond `spec.broker.groups` first
//! loses its write permission (producers move to the other groups), then stays until its
//! consumer groups have consumed what it holds, and only then is removed. If that takes longer
//! than `spec.broker.scaleInDrainSeconds` the operator refuses: the group stays, read-only, and
//! the cluster's `Degraded` condition says why and what the user can do. A limit of 0 removes
//! the group at once (the user accepts losing what was not consumed).

use std::time::Duration;

/// What the operator could learn of a draining group's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// Messages its consumer groups have not consumed yet.
    Messages(i64),
    /// Not measurable now (no master reachable, an admin call failed): why.
    Unknown(String),
}

/// What to do with a group being scaled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delete its objects; the message says why that is safe (or asked for).
    Remove(String),
    /// Keep waiting for its consumers.
    Wait,
    /// Keep the group and report `Degraded` with reason [`REFUSED`] and this message.
    Refuse(String),
}

/// The `Degraded` reason of a refused scale-in.
pub const REFUSED: &str = "ScaleInRefused";

/// Decides about `group`, drained for `elapsed` of the allowed `limit`.
pub fn decide(group: &str, backlog: &Backlog, elapsed: Duration, limit: Duration) -> Verdict {
    if limit.is_zero() {
        return Verdict::Remove(format!("{group} removed without draining (scaleInDrainSeconds is 0)"));
    }
    if *backlog == Backlog::Messages(0) {
        return Verdict::Remove(format!("{group} drained (every consumer group is at its end) and removed"));
    }
    if elapsed < limit {
        return Verdict::Wait;
    }
    let what = match backlog {
        Backlog::Messages(n) => format!("{n} messages are still not consumed"),
        Backlog::Unknown(why) => format!("its backlog cannot be read ({why})"),
    };
    Verdict::Refuse(format!(
        "scale-in of {group} refused: {what} after {}s (broker.scaleInDrainSeconds); it stays read-only. \
         Let its consumers catch up, raise broker.groups again, or set broker.scaleInDrainSeconds to 0 to remove it \
         anyway",
        limit.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_drained_group_is_removed_at_once() {
        assert!(matches!(decide("b-1", &Backlog::Messages(0), Duration::ZERO, MINUTE), Verdict::Remove(_)));
    }

    #[test]
    fn a_group_with_a_backlog_waits_until_the_limit_then_is_refused() {
        assert_eq!(decide("b-1", &Backlog::Messages(5), MINUTE / 2, MINUTE), Verdict::Wait);
        match decide("b-1", &Backlog::Messages(5), MINUTE, MINUTE) {
            Verdict::Refuse(why) => assert!(why.contains("5 messages") && why.contains("60s"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_unreadable_backlog_counts_as_not_drained() {
        let unknown = Backlog::Unknown("no master".into());
        assert_eq!(decide("b-1", &unknown, Duration::ZERO, MINUTE), Verdict::Wait);
        match decide("b-1", &unknown, 2 * MINUTE, MINUTE) {
            Verdict::Refuse(why) => assert!(why.contains("no master"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_zero_limit_removes_without_draining() {
        assert!(matches!(decide("b-1", &Backlog::Messages(7), Duration::ZERO, Duration::ZERO), Verdict::Remove(_)));
    }
}

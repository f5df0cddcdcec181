//! The cluster's status conditions, computed from what the operator observed (pure): `Ready`,
//! `Progressing`, `Degraded`, `FailoverInProgress`, `Paused`. A condition keeps its
//! `lastTransitionTime` while its status stays the same, so an unchanged cluster writes an
//! unchanged status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::chrono::{DateTime, Utc};

/// A point in time, as conditions record it.
pub type Timestamp = DateTime<Utc>;

/// What the reconciler observed of one StatefulSet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetObservation {
    /// The StatefulSet's name.
    pub name: String,
    /// The replicas it should have.
    pub desired: i32,
    /// Ready replicas.
    pub ready: i32,
    /// Replicas at the update revision.
    pub updated: i32,
}

/// Everything the conditions depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The NameServer StatefulSet and every broker group's.
    pub sets: Vec<SetObservation>,
    /// Broker groups without a reachable master (a failover is pending or running).
    pub groups_without_master: Vec<String>,
    /// The pause annotation is set.
    pub paused: bool,
    /// A refusal to report (e.g. a scale-in that cannot drain), as (reason, message).
    pub blocked: Option<(String, String)>,
    /// External Services whose address (a load balancer's) is not known yet.
    pub waiting_for_addresses: Vec<String>,
}

/// The conditions for `seen`, reusing `previous` transition times where the status is unchanged.
pub fn conditions(
    seen: &Observation,
    generation: Option<i64>,
    previous: &[Condition],
    now: Timestamp,
) -> Vec<Condition> {
    let unready: Vec<&SetObservation> = seen.sets.iter().filter(|s| s.ready < s.desired).collect();
    let outdated: Vec<&SetObservation> = seen.sets.iter().filter(|s| s.updated < s.desired).collect();
    let ready = unready.is_empty() && seen.groups_without_master.is_empty();
    let names = |sets: &[&SetObservation]| sets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    let mut out = vec![
        if ready {
            cond("Ready", true, "AllReady", "every NameServer and broker is ready and every group has a master")
        } else if !unready.is_empty() {
            cond("Ready", false, "PodsNotReady", &format!("not every pod is ready in {}", names(&unready)))
        } else {
            cond("Ready", false, "NoMaster", &format!("no master in {}", seen.groups_without_master.join(", ")))
        },
        if !seen.waiting_for_addresses.is_empty() {
            let services = seen.waiting_for_addresses.join(", ");
            let message = format!("waiting for the addresses of the external Services {services}");
            cond("Progressing", true, "WaitingForExternalAddress", &message)
        } else if outdated.is_empty() && unready.is_empty() {
            cond("Progressing", false, "UpToDate", "every pod runs the current spec")
        } else {
            let sets = if outdated.is_empty() { &unready } else { &outdated };
            cond("Progressing", true, "RollingOut", &format!("rolling out {}", names(sets)))
        },
        match &seen.blocked {
            Some((reason, message)) => cond("Degraded", true, reason, message),
            None if !seen.groups_without_master.is_empty() => {
                cond("Degraded", true, "NoMaster", &format!("no master in {}", seen.groups_without_master.join(", ")))
            }
            None => cond("Degraded", false, "Healthy", "nothing is refused or lost"),
        },
        if seen.groups_without_master.is_empty() {
            cond("FailoverInProgress", false, "MastersPresent", "every group has a master")
        } else {
            cond(
                "FailoverInProgress",
                true,
                "MasterUnreachable",
                &format!("waiting for or promoting a new master in {}", seen.groups_without_master.join(", ")),
            )
        },
        if seen.paused {
            cond("Paused", true, "Annotation", "rmq.io/paused is set: the operator changes nothing")
        } else {
            cond("Paused", false, "Reconciling", "the operator reconciles this cluster")
        },
    ];
    stamp(&mut out, generation, previous, now);
    out
}

/// Sets each condition's observed generation and transition time: `previous`'s where the
/// condition kept its status, else `now`.
pub fn stamp(conditions: &mut [Condition], generation: Option<i64>, previous: &[Condition], now: Timestamp) {
    for c in conditions {
        c.observed_generation = generation;
        let kept = previous.iter().find(|p| p.type_ == c.type_ && p.status == c.status);
        c.last_transition_time = kept.map_or(Time(now), |p| p.last_transition_time.clone());
    }
}

fn cond(type_: &str, status: bool, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        last_transition_time: Time(DateTime::UNIX_EPOCH),
        observed_generation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, desired: i32, ready: i32, updated: i32) -> SetObservation {
        SetObservation { name: name.into(), desired, ready, updated }
    }

    fn status_of<'a>(c: &'a [Condition], t: &str) -> (&'a str, &'a str) {
        let c = c.iter().find(|c| c.type_ == t).expect("condition present");
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn all_ready_and_updated_is_ready_and_not_progressing() {
        let seen = Observation { sets: vec![set("ns", 2, 2, 2), set("b0", 2, 2, 2)], ..Default::default() };
        let c = conditions(&seen, Some(3), &[], DateTime::UNIX_EPOCH);
        assert_eq!(status_of(&c, "Ready"), ("True", "AllReady"));
        assert_eq!(status_of(&c, "Progressing"), ("False", "UpToDate"));
        assert_eq!(status_of(&c, "Degraded"), ("False", "Healthy"));
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
    }

    #[test]
    fn a_missing_master_means_failover_in_progress_and_not_ready() {
        let seen = Observation {
            sets: vec![set("b0", 2, 2, 2)],
            groups_without_master: vec!["b0".into()],
            ..Default::default()
        };
        let c = conditions(&seen, None, &[], DateTime::UNIX_EPOCH);
        assert_eq!(status_of(&c, "Ready"), ("False", "NoMaster"));
        assert_eq!(status_of(&c, "FailoverInProgress"), ("True", "MasterUnreachable"));
    }

    #[test]
    fn unready_pods_are_progressing_and_named() {
        let seen = Observation { sets: vec![set("ns", 2, 1, 2)], ..Default::default() };
        let c = conditions(&seen, None, &[], DateTime::UNIX_EPOCH);
        assert_eq!(status_of(&c, "Ready"), ("False", "PodsNotReady"));
        assert_eq!(status_of(&c, "Progressing"), ("True", "RollingOut"));
        assert!(c[0].message.contains("ns"));
    }

    #[test]
    fn a_load_balancer_without_an_address_is_progressing_and_named() {
        let seen = Observation {
            sets: vec![set("b0", 2, 0, 0)],
            waiting_for_addresses: vec!["demo-broker-0-1-external".into()],
            ..Default::default()
        };
        let c = conditions(&seen, None, &[], DateTime::UNIX_EPOCH);
        assert_eq!(status_of(&c, "Progressing"), ("True", "WaitingForExternalAddress"));
        assert!(c[1].message.contains("demo-broker-0-1-external"), "{}", c[1].message);
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time() {
        let seen = Observation { sets: vec![set("ns", 1, 1, 1)], ..Default::default() };
        let first = conditions(&seen, None, &[], DateTime::UNIX_EPOCH);
        let later = DateTime::from_timestamp(1_000, 0).expect("timestamp");
        let again = conditions(&seen, None, &first, later);
        assert_eq!(first, again);
        let paused = Observation { paused: true, ..seen };
        let changed = conditions(&paused, None, &first, later);
        let p = changed.iter().find(|c| c.type_ == "Paused").expect("paused");
        assert_eq!(p.last_transition_time, Time(later));
    }
}

//! Leader election between operator replicas: one `coordination.k8s.io/v1` Lease in the
//! operator's namespace (held and renewed by `kube-lease-manager`). Only the holder runs the
//! controllers and the failover supervisors; the other replicas stand by, ready to take over
//! once the holder stops renewing (it crashed) or releases the Lease (it was asked to stop).

use std::future::Future;
use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tracing::{info, warn};

use crate::metrics::Metrics;

/// How this replica takes part in the election.
#[derive(Debug, Clone)]
pub struct Election {
    /// The Lease's name (the chart's RBAC grants exactly this one).
    pub lease_name: String,
    /// The Lease's namespace: the operator's own.
    pub namespace: String,
    /// This replica's name in the Lease (the pod name).
    pub identity: String,
    /// How long a Lease lasts without renewal; a crashed leader is replaced after this.
    pub lease_duration: Duration,
    /// How long before expiry the holder renews (less than `lease_duration`).
    pub renew_before: Duration,
}

/// Why [`lead`] stopped without the work finishing.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// `renew_before` is not shorter than `lease_duration`, or either is under a second.
    #[error("invalid lease timing: renewal {renew_before:?} must be at least 1 s and shorter than the lease {lease_duration:?}")]
    Timing {
        /// The lease's duration.
        lease_duration: Duration,
        /// The renewal margin.
        renew_before: Duration,
    },
    /// The Lease could not be read or created.
    #[error("Lease {namespace}/{name}: {source}")]
    Lease {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// What the API answered.
        #[source]
        source: LeaseManagerError,
    },
    /// Another replica holds the Lease now (this one failed to renew in time): the work was
    /// stopped, and the process should exit so that nothing it started outlives the leadership.
    #[error("lost the leader Lease {namespace}/{name} to another replica")]
    Lost {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
    },
}

/// Waits until this replica holds the Lease, then runs `work` while it does. Returns `Ok` when
/// the work finishes (a shutdown signal), after releasing the Lease for the next replica, and
/// [`LeaderError::Lost`] when the Lease is lost, `work` dropped unfinished. The
/// `rocketmq_operator_leader` gauge and `/readyz` follow the state.
///
/// A leader cut off from the API server keeps leading until it hears otherwise; that is safe
/// because promotions do not depend on it: a promotion needs a majority of the group to accept
/// a new epoch, and each broker accepts an epoch once (`broker/src/ha/fence.rs`), so two replicas
/// racing to fail a group over cannot both succeed.
pub async fn lead<F>(client: Client, election: &Election, metrics: &Metrics, work: F) -> Result<(), LeaderError>
where
    F: Future<Output = ()>,
{
    let secs = |d: Duration| d.as_secs();
    if secs(election.renew_before) == 0 || election.renew_before >= election.lease_duration {
        return Err(LeaderError::Timing {
            lease_duration: election.lease_duration,
            renew_before: election.renew_before,
        });
    }
    let lease_error = |source| LeaderError::Lease {
        namespace: election.namespace.clone(),
        name: election.lease_name.clone(),
        source,
    };
    let manager = LeaseManagerBuilder::new(client, &election.lease_name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_field_manager(format!("rmq-operator-{}", election.identity))
        .with_duration(secs(election.lease_duration))
        .with_grace(secs(election.renew_before))
        .build()
        .await
        .map_err(lease_error)?;
    let (mut leading, task) = manager.watch().await;
    metrics.set_standby(true);
    info!(lease = %election.lease_name, namespace = %election.namespace, identity = %election.identity,
        "standing by until this replica holds the leader Lease");
    while !*leading.borrow_and_update() {
        if leading.changed().await.is_err() {
            // The manager's task ended on its own: it only does so after an API error it
            // could not recover from; its result says which.
            metrics.set_standby(false);
            return match task.await {
                Ok(Err(e)) => Err(lease_error(e)),
                _ => {
                    Err(LeaderError::Lost { namespace: election.namespace.clone(), name: election.lease_name.clone() })
                }
            };
        }
    }
    metrics.set_standby(false);
    metrics.set_leader(true);
    info!(identity = %election.identity, "holding the leader Lease: running the controllers");
    let lost = async {
        while *leading.borrow_and_update() {
            if leading.changed().await.is_err() {
                break;
            }
        }
    };
    let outcome = tokio::select! {
        () = work => Ok(()),
        () = lost => Err(LeaderError::Lost { namespace: election.namespace.clone(), name: election.lease_name.clone() }),
    };
    metrics.set_leader(false);
    // Closing the channel makes the manager release the Lease (a no-op if it is lost already).
    drop(leading);
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(_))) => info!("released the leader Lease"),
        Ok(Ok(Err(e))) => warn!(error = %e, "cannot release the leader Lease; it expires on its own"),
        Ok(Err(e)) => warn!(error = %e, "the Lease manager's task failed"),
        Err(_) => warn!("releasing the leader Lease timed out; it expires on its own"),
    }
    outcome
}

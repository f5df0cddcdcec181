//! rmq's Kubernetes operator.
//!
//! - [`crd`]: the `RocketMQCluster` and `Topic` custom resources (`rmq.io/v1alpha1`).
//! - [`resources`]: the objects a cluster stands for, computed from its spec (pure).
//! - [`rollout`]: which broker pod a health-gated roll restarts next (pure).
//! - [`scale_in`]: when a broker group a scale-in drops may go (pure).
//! - [`seeding`]: what a broker group added by a scale-out is seeded with (pure).
//! - [`status`]: the status conditions from what was observed (pure).
//! - [`topic_sync`]: a `Topic` as the brokers must hold it, drift, and its conditions (pure).
//! - [`reconcile`]: the controllers that apply all of it, and the failover supervisors.
//! - [`leader`]: leader election between replicas (a Lease).
//! - [`metrics`]: the operator's `/metrics`, `/healthz`, `/readyz`.

pub mod crd;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod resources;
pub mod rollout;
pub mod scale_in;
pub mod seeding;
pub mod status;
pub mod topic_sync;

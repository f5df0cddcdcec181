//! The controllers: [`cluster`] reconciles each `RocketMQCluster` into its NameServer and broker
//! objects, keeps one failover supervisor per broker group ([`supervisor`]) and rolls groups
//! health-gated; their shared context, errors and the loop that runs them ([`run`]).

pub mod cluster;
pub mod supervisor;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::watcher::Config as WatcherConfig;
use kube::runtime::Controller;
use kube::{Api, Client};
use tracing::{info, warn};

use crate::crd::cluster::RocketMQCluster;
use crate::metrics::Metrics;

/// Why a reconcile failed (each retried with a backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The resource lacks what the API always sets (a namespace, a name).
    #[error("malformed resource: {0}")]
    Malformed(&'static str),
    /// A call to a broker's admin API failed.
    #[error("broker admin API: {0}")]
    Broker(String),
}

impl Error {
    /// Every [`Error::metric_label`].
    pub const LABELS: &'static [&'static str] = &["kube", "malformed", "broker"];

    /// A short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Malformed(_) => "malformed",
            Error::Broker(_) => "broker",
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Publishes Events about the resources.
    pub recorder: Recorder,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// The failover supervisors of every group of every cluster.
    pub supervisors: supervisor::Supervisors,
    /// Every `RocketMQCluster` the controller watches.
    pub clusters: Store<RocketMQCluster>,
}

/// Runs the controllers until SIGTERM/SIGINT.
pub async fn run(client: Client, metrics: Metrics, identity: String) {
    let reporter = Reporter { controller: crate::resources::FIELD_MANAGER.to_owned(), instance: Some(identity) };
    metrics.kind_series("RocketMQCluster", Error::LABELS);
    let controller =
        Controller::new(Api::<RocketMQCluster>::all(client.clone()), WatcherConfig::default().any_semantic());
    let ctx = Arc::new(Context {
        clusters: controller.store(),
        recorder: Recorder::new(client.clone(), reporter),
        metrics: metrics.clone(),
        supervisors: supervisor::Supervisors::default(),
        client: client.clone(),
    });
    let owned = WatcherConfig::default().labels("app.kubernetes.io/managed-by=rmq-operator");
    let clusters = controller
        .owns(Api::<StatefulSet>::all(client.clone()), owned.clone())
        .owns(Api::<Service>::all(client.clone()), owned.clone())
        .owns(Api::<ConfigMap>::all(client.clone()), owned.clone())
        .owns(Api::<PodDisruptionBudget>::all(client.clone()), owned)
        .shutdown_on_signal()
        .run(timed_reconcile, error_policy, ctx.clone());
    metrics.set_running(true);
    info!("reconciling RocketMQCluster resources");
    clusters
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "reconcile loop");
            }
        })
        .await;
    metrics.set_running(false);
    ctx.supervisors.stop_all();
}

async fn timed_reconcile(cluster: Arc<RocketMQCluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = cluster::reconcile(&cluster, &ctx).await;
    let error = result.as_ref().err().map(Error::metric_label);
    ctx.metrics.reconciled("RocketMQCluster", started.elapsed().as_secs_f64(), error);
    ctx.metrics.set_managed("RocketMQCluster", ctx.clusters.state().len());
    result
}

fn error_policy(cluster: Arc<RocketMQCluster>, error: &Error, _ctx: Arc<Context>) -> Action {
    warn!(cluster = %kube::ResourceExt::name_any(cluster.as_ref()), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

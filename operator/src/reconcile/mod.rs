//! The controllers: [`cluster`] reconciles each `RocketMQCluster` into its NameServer and broker
//! objects, keeps one failover supervisor per broker group ([`supervisor`]) and rolls groups
//! health-gated, seeding groups a scale-out added (`seed`) and draining those a scale-in
//! drops (`scale_in`); [`topic`] keeps each `Topic` on its cluster's brokers; their shared context,
//! errors and the loop that runs them ([`run`]).

mod access;
pub mod cluster;
mod nodes;
mod scale_in;
mod seed;
pub mod supervisor;
pub mod topic;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::Config as WatcherConfig;
use kube::runtime::Controller;
use kube::{Api, Client};
use tracing::{info, warn};

use crate::crd::cluster::RocketMQCluster;
use crate::crd::topic::Topic;
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
    /// A Secret `spec.security` names is missing or incomplete.
    #[error("{0}")]
    Secret(String),
}

impl Error {
    /// Every [`Error::metric_label`].
    pub const LABELS: &'static [&'static str] = &["kube", "malformed", "broker", "secret"];

    /// A short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Malformed(_) => "malformed",
            Error::Broker(_) => "broker",
            Error::Secret(_) => "secret",
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
    /// Every Node's name and addresses (`externalAccess.nodeAddressType`).
    pub nodes: Store<k8s_openapi::api::core::v1::Node>,
    /// How often a synced `Topic` is compared with the brokers again (drift).
    pub topic_resync: Duration,
}

/// What the operator is told at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This replica's name in Events.
    pub identity: String,
    /// How often a synced `Topic` is compared with the brokers again.
    pub topic_resync: Duration,
}

/// Runs the controllers until SIGTERM/SIGINT.
pub async fn run(client: Client, metrics: Metrics, settings: Settings) {
    let reporter =
        Reporter { controller: crate::resources::FIELD_MANAGER.to_owned(), instance: Some(settings.identity) };
    metrics.kind_series("RocketMQCluster", Error::LABELS);
    metrics.kind_series("Topic", Error::LABELS);
    let controller =
        Controller::new(Api::<RocketMQCluster>::all(client.clone()), WatcherConfig::default().any_semantic());
    let (nodes, node_changes, node_watch) = nodes::watch(client.clone());
    let ctx = Arc::new(Context {
        clusters: controller.store(),
        nodes,
        recorder: Recorder::new(client.clone(), reporter),
        metrics: metrics.clone(),
        supervisors: supervisor::Supervisors::default(),
        client: client.clone(),
        topic_resync: settings.topic_resync,
    });
    let owned = WatcherConfig::default().labels("app.kubernetes.io/managed-by=rmq-operator");
    let clusters = controller
        .owns(Api::<StatefulSet>::all(client.clone()), owned.clone())
        .owns(Api::<Service>::all(client.clone()), owned.clone())
        .owns(Api::<ConfigMap>::all(client.clone()), owned.clone())
        .owns(Api::<PodDisruptionBudget>::all(client.clone()), owned)
        .reconcile_all_on(node_changes)
        .shutdown_on_signal()
        .run(timed_reconcile, error_policy, ctx.clone())
        .for_each(|result| {
            let ctx = ctx.clone();
            async move {
                match result {
                    // A cluster deleted without our seeing its deletion timestamp (it has no
                    // finalizer): its groups' failover supervisors and metrics go with it.
                    Err(kube::runtime::controller::Error::ObjectNotFound(gone)) => {
                        let key = format!("{}/{}", gone.namespace.as_deref().unwrap_or_default(), gone.name);
                        ctx.supervisors.remove(&key);
                        ctx.metrics.forget_cluster(&key);
                        info!(cluster = %key, "cluster deleted: its failover supervisors stopped");
                    }
                    Err(e) => warn!(error = %e, "cluster reconcile loop"),
                    Ok(_) => {}
                }
            }
        });
    // A cluster's change (its deletion above all) wakes the topics that name it.
    let topics = Controller::new(Api::<Topic>::all(client.clone()), WatcherConfig::default().any_semantic());
    let topic_store = topics.store();
    let topics = topics
        .watches(Api::<RocketMQCluster>::all(client.clone()), WatcherConfig::default(), move |cluster| {
            let ns = cluster.metadata.namespace.clone();
            let name = cluster.metadata.name.clone().unwrap_or_default();
            topic_store
                .state()
                .into_iter()
                .filter(|t| t.metadata.namespace == ns && t.spec.cluster_ref == name)
                .map(|t| ObjectRef::from_obj(t.as_ref()))
                .collect::<Vec<_>>()
        })
        .shutdown_on_signal()
        .run(timed_topic_reconcile, topic_error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "topic reconcile loop");
            }
        });
    metrics.set_running(true);
    info!("reconciling RocketMQCluster and Topic resources");
    // The node watch ends with the process: the controllers' end (a signal) ends the select.
    tokio::select! {
        _ = async { tokio::join!(clusters, topics) } => {}
        () = node_watch => {}
    }
    metrics.set_running(false);
    ctx.supervisors.stop_all();
}

/// Publishes an Event about `cluster` (a failure is logged, never fatal).
pub async fn publish_cluster_event(
    ctx: &Context,
    cluster: &RocketMQCluster,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    publish_event(ctx, &kube::Resource::object_ref(cluster, &()), type_, reason, note).await;
}

/// Publishes an Event about the object `regarding` (a failure is logged, never fatal).
pub async fn publish_event(ctx: &Context, regarding: &ObjectReference, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.to_owned()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, regarding).await {
        warn!(error = %e, reason, "cannot publish an event");
    }
}

async fn timed_topic_reconcile(topic: Arc<Topic>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = topic::reconcile(&topic, &ctx).await;
    let error = result.as_ref().err().map(Error::metric_label);
    ctx.metrics.reconciled("Topic", started.elapsed().as_secs_f64(), error);
    result
}

fn topic_error_policy(topic: Arc<Topic>, error: &Error, _ctx: Arc<Context>) -> Action {
    warn!(topic = %kube::ResourceExt::name_any(topic.as_ref()), %error, "topic reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
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

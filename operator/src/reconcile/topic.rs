//! Reconciles one `Topic`: the resource is the source of truth. Every master of the referenced
//! cluster must hold the topic as specified; one that lacks it gets it, one whose copy drifted
//! (say, changed with mqadmin) is corrected, and both are reported (status, Event). A finalizer
//! deletes the topic from the brokers and NameServers before the resource goes; when the
//! cluster is gone (or going) first, the finalizer is released with a condition saying so.
//! Drift is looked for every `topic_resync`.

use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use rmq_client::admin::{Admin, TopicTarget};
use serde_json::json;
use tracing::{info, warn};

use super::{Context, Error};
use crate::crd::cluster::RocketMQCluster;
use crate::crd::topic::{Topic, TopicStatus};
use crate::resources::names;
use crate::topic_sync::{self, conditions, desired, drift, Outcome};

/// The finalizer that deletes the topic from the brokers.
pub const FINALIZER: &str = "rmq.io/topic-cleanup";

/// One reconcile of `topic`.
pub async fn reconcile(topic: &Topic, ctx: &Context) -> Result<Action, Error> {
    let ns = topic.namespace().ok_or(Error::Malformed("no namespace"))?;
    let clusters: Api<RocketMQCluster> = Api::namespaced(ctx.client.clone(), &ns);
    let cluster = clusters.get_opt(&topic.spec.cluster_ref).await?.filter(|c| c.meta().deletion_timestamp.is_none());
    let deleting = topic.meta().deletion_timestamp.is_some();
    let Some(cluster) = cluster else {
        set_finalizer(ctx, topic, &ns, false).await?;
        if !deleting {
            write_status(ctx, topic, &ns, &Outcome::ClusterGone).await?;
        }
        return Ok(Action::requeue(ctx.topic_resync));
    };
    if !deleting {
        set_finalizer(ctx, topic, &ns, true).await?;
    }
    let admin = admin_of(ctx, &cluster).await?;
    let name = topic_sync::topic_name(topic);
    if deleting {
        if topic.finalizers().iter().any(|f| f == FINALIZER) {
            let gone = admin.delete_topic(&name, Some(&cluster.name_any())).await.map_err(broker_error)?;
            info!(topic = %name, brokers = ?gone.brokers, "topic deleted from the brokers");
            publish(ctx, topic, EventType::Normal, "Deleted", &format!("deleted {name} from {:?}", gone.brokers)).await;
            set_finalizer(ctx, topic, &ns, false).await?;
        }
        return Ok(Action::await_change());
    }
    let outcome = sync(&admin, topic, &cluster.name_any()).await?;
    if let Outcome::Synced { created, corrected, .. } = &outcome {
        if !created.is_empty() {
            let note = format!("created {name} on {}", created.join(", "));
            publish(ctx, topic, EventType::Normal, "Created", &note).await;
        }
        if !corrected.is_empty() {
            let note = format!("corrected drift of {name}: {}", corrected.join("; "));
            warn!(topic = %name, "{note}");
            publish(ctx, topic, EventType::Warning, "DriftCorrected", &note).await;
        }
    }
    write_status(ctx, topic, &ns, &outcome).await?;
    Ok(Action::requeue(ctx.topic_resync))
}

/// An admin client talking to `cluster`'s NameServers by their stable DNS names, signing its
/// requests when the cluster has ACL on, over TLS when its remoting ports have it.
pub(super) async fn admin_of(ctx: &Context, cluster: &RocketMQCluster) -> Result<Admin, Error> {
    let mut builder = Admin::builder().timeout(std::time::Duration::from_secs(3));
    for addr in names::namesrv_addrs(cluster) {
        builder = builder.name_server(addr);
    }
    let access = super::access::load(ctx, cluster).await?;
    if let Some(credentials) = access.credentials {
        builder = builder.credentials(credentials);
    }
    if let Some(ca) = &access.remoting_ca {
        let tls = rmq_client::ClientTls::trusting_ca_only(ca)
            .map_err(|e| Error::Secret(format!("security.tls: ca.crt does not load: {e}")))?;
        builder = builder.tls(tls);
    }
    builder.build().await.map_err(broker_error)
}

pub(super) fn broker_error(e: rmq_client::admin::AdminError) -> Error {
    Error::Broker(e.to_string())
}

/// Makes every master of `cluster` hold `topic` as specified.
async fn sync(admin: &Admin, topic: &Topic, cluster: &str) -> Result<Outcome, Error> {
    let want = desired(topic);
    let masters = match admin.cluster_masters(cluster).await {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => return Ok(Outcome::NoMasters),
        Err(e) if e.kind() == rmq_client::admin::ErrorKind::NotFound => return Ok(Outcome::NoMasters),
        Err(e) => return Err(broker_error(e)),
    };
    let (mut created, mut corrected) = (Vec::new(), Vec::new());
    for (broker, addr) in &masters {
        match admin.broker_topic_config(addr, &want.topic).await.map_err(broker_error)? {
            None => created.push(broker.clone()),
            Some(held) => {
                let found = drift(&want, &held);
                if found.is_empty() {
                    continue;
                }
                corrected.push(format!("{broker}: {}", found.join(", ")));
            }
        }
        admin.create_topic(&want, &TopicTarget::Broker(addr.clone())).await.map_err(broker_error)?;
    }
    Ok(Outcome::Synced { masters: masters.len(), created, corrected })
}

/// Adds or removes our finalizer (a patch guarded by the resource version, so a concurrent
/// change of the list fails and is retried instead of lost).
async fn set_finalizer(ctx: &Context, topic: &Topic, ns: &str, present: bool) -> Result<(), Error> {
    let has = topic.finalizers().iter().any(|f| f == FINALIZER);
    if has == present {
        return Ok(());
    }
    let mut list: Vec<String> = topic.finalizers().iter().filter(|f| *f != FINALIZER).cloned().collect();
    if present {
        list.push(FINALIZER.to_owned());
    }
    let version = topic.resource_version().ok_or(Error::Malformed("no resourceVersion"))?;
    let patch = json!({"metadata": {"finalizers": list, "resourceVersion": version}});
    let api: Api<Topic> = Api::namespaced(ctx.client.clone(), ns);
    api.patch(&topic.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
    Ok(())
}

/// Writes the status when it changed.
async fn write_status(ctx: &Context, topic: &Topic, ns: &str, outcome: &Outcome) -> Result<(), Error> {
    let previous = topic.status.clone().unwrap_or_default();
    let generation = topic.meta().generation;
    let status = TopicStatus {
        observed_generation: generation,
        conditions: conditions(outcome, &topic.spec.cluster_ref, generation, &previous.conditions, Utc::now()),
    };
    if status == previous {
        return Ok(());
    }
    let api: Api<Topic> = Api::namespaced(ctx.client.clone(), ns);
    let body = json!({"status": status});
    api.patch_status(&topic.name_any(), &PatchParams::default(), &Patch::Merge(body)).await?;
    Ok(())
}

async fn publish(ctx: &Context, topic: &Topic, type_: EventType, reason: &str, note: &str) {
    super::publish_event(ctx, &topic.object_ref(&()), type_, reason, note).await;
}

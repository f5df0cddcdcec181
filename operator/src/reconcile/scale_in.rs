//! Scale-in: the broker groups at or beyond `spec.broker.groups` ([`crate::scale_in`] decides
//! when each may go). Each loses its write permission (`brokerPermission=4` through the admin
//! API, renewed on every reconcile so a promoted slave is read-only too), its consumer groups'
//! backlog is read from its master, and once it is drained its objects are deleted (volumes
//! follow `storage.whenScaled`). A group put back into the spec while draining gets its
//! permission back. Broker errors never fail the reconcile: they make the backlog unknown.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::chrono::Utc;
use kube::api::{DeleteParams, ListParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use rmq_client::admin::Admin;
use rmq_remoting::protocol::names::is_system_group;
use tracing::{info, warn};

use super::topic::admin_of;
use super::{Context, Error};
use crate::crd::cluster::{DrainStatus, RocketMQCluster};
use crate::resources::broker::GROUP_LABEL;
use crate::resources::names;
use crate::scale_in::{decide, Backlog, Verdict, REFUSED};

/// `brokerPermission` of a draining master: read only.
const READ_ONLY: &str = "4";

/// What the scale-in left for the status.
#[derive(Debug, Default)]
pub struct ScaleIn {
    /// The groups still draining.
    pub draining: Vec<DrainStatus>,
    /// A refusal for the `Degraded` condition, as (reason, message).
    pub blocked: Option<(String, String)>,
}

/// Drains and removes the groups `cluster`'s spec dropped; gives write permission back to
/// those it took up again.
pub async fn scale_in(cluster: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<ScaleIn, Error> {
    let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let selector = format!("app.kubernetes.io/instance={},app.kubernetes.io/component=broker", cluster.name_any());
    let wanted: Vec<String> = (0..cluster.spec.broker.groups).map(|g| names::broker_group(cluster, g)).collect();
    let mut dropped = Vec::new();
    for set in sets.list(&ListParams::default().labels(&selector)).await? {
        if let Some(group) = set.labels().get(GROUP_LABEL) {
            if !wanted.contains(group) && owned_by(&set, cluster) {
                dropped.push(group.clone());
            }
        }
    }
    let previous: Vec<DrainStatus> = cluster.status.iter().flat_map(|s| s.draining.clone()).collect();
    let taken_back: Vec<&DrainStatus> = previous.iter().filter(|d| wanted.contains(&d.name)).collect();
    let mut out = ScaleIn::default();
    if dropped.is_empty() && taken_back.is_empty() {
        return Ok(out);
    }
    let limit = Duration::from_secs(u64::try_from(cluster.spec.broker.scale_in_drain_seconds).unwrap_or(0));
    let brokers = Brokers::connect(ctx, cluster).await;
    for d in taken_back {
        let permission = cluster.spec.broker.config.get("brokerPermission").map_or("6", String::as_str);
        match brokers.set_permission(&d.name, permission).await {
            Ok(()) => {
                let note = format!("scale-in of {} cancelled: write permission restored", d.name);
                super::publish_cluster_event(ctx, cluster, EventType::Normal, "ScaleInCancelled", &note).await;
            }
            Err(why) => {
                warn!(group = %d.name, %why, "restoring the write permission failed; retrying");
                out.draining.push(d.clone());
            }
        }
    }
    let now = Utc::now();
    for group in dropped {
        let known = previous.iter().find(|d| d.name == group);
        let since = known.map_or(now, |d| d.since.0);
        let backlog = if limit.is_zero() { Backlog::Messages(0) } else { brokers.drain(&group).await };
        let elapsed = (now - since).to_std().unwrap_or(Duration::ZERO);
        match decide(&group, &backlog, elapsed, limit) {
            Verdict::Remove(note) => {
                remove_group(ctx, ns, &group).await?;
                info!(cluster = %cluster.name_any(), group, "scale-in: {note}");
                super::publish_cluster_event(ctx, cluster, EventType::Normal, "GroupRemoved", &note).await;
                continue;
            }
            Verdict::Wait if known.is_none() => {
                let note = format!(
                    "scale-in of {group}: write permission removed; waiting up to {}s for its consumers",
                    limit.as_secs()
                );
                super::publish_cluster_event(ctx, cluster, EventType::Normal, "ScaleInDraining", &note).await;
            }
            Verdict::Wait => {}
            Verdict::Refuse(why) => {
                if !already_refused(cluster) {
                    super::publish_cluster_event(ctx, cluster, EventType::Warning, REFUSED, &why).await;
                }
                out.blocked = Some((REFUSED.to_owned(), why));
            }
        }
        let backlog = match backlog {
            Backlog::Messages(n) => Some(n),
            Backlog::Unknown(_) => None,
        };
        out.draining.push(DrainStatus { name: group, since: Time(since), backlog });
    }
    Ok(out)
}

/// The cluster's brokers as the scale-in reaches them: each group's master through the admin API.
struct Brokers {
    admin: Result<Admin, String>,
    /// Master address by group, or why the NameServers could not say.
    masters: Result<BTreeMap<String, String>, String>,
}

impl Brokers {
    async fn connect(ctx: &Context, cluster: &RocketMQCluster) -> Brokers {
        let admin = admin_of(ctx, cluster).await.map_err(|e| e.to_string());
        let masters = match &admin {
            Ok(a) => a.cluster_masters(&cluster.name_any()).await.map(|m| m.into_iter().collect()),
            Err(_) => Ok(BTreeMap::new()),
        };
        let masters = masters.map_err(|e| format!("the NameServers did not list the masters: {e}"));
        Brokers { admin, masters }
    }

    fn master(&self, group: &str) -> Result<(&Admin, &str), String> {
        let admin = self.admin.as_ref().map_err(Clone::clone)?;
        let masters = self.masters.as_ref().map_err(Clone::clone)?;
        let addr = masters.get(group).ok_or_else(|| format!("{group} has no master registered"))?;
        Ok((admin, addr))
    }

    async fn set_permission(&self, group: &str, permission: &str) -> Result<(), String> {
        let (admin, addr) = self.master(group)?;
        let values = BTreeMap::from([("brokerPermission".to_owned(), permission.to_owned())]);
        admin.update_broker_config(addr, &values).await.map_err(|e| e.to_string())
    }

    /// Takes `group`'s write permission away and reads its consumer groups' backlog.
    async fn drain(&self, group: &str) -> Backlog {
        match self.try_drain(group).await {
            Ok(n) => Backlog::Messages(n),
            Err(why) => Backlog::Unknown(why),
        }
    }

    async fn try_drain(&self, group: &str) -> Result<i64, String> {
        self.set_permission(group, READ_ONLY).await?;
        let (admin, addr) = self.master(group)?;
        let backlog = admin.broker_backlog(addr).await.map_err(|e| e.to_string())?;
        Ok(backlog.into_iter().filter(|(g, _)| !is_system_group(g)).map(|(_, n)| n).sum())
    }
}

fn already_refused(cluster: &RocketMQCluster) -> bool {
    let conditions = cluster.status.iter().flat_map(|s| &s.conditions);
    conditions.into_iter().any(|c| c.type_ == "Degraded" && c.reason == REFUSED)
}

/// Deletes a group's StatefulSet, ConfigMap, Services and PodDisruptionBudget (its volumes
/// follow the StatefulSet's retention policy).
async fn remove_group(ctx: &Context, ns: &str, group: &str) -> Result<(), Error> {
    let dp = DeleteParams::background();
    let _ = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns).delete(group, &dp).await?;
    let _ = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns).delete(group, &dp).await;
    let _ = Api::<Service>::namespaced(ctx.client.clone(), ns).delete(group, &dp).await;
    let services = Api::<Service>::namespaced(ctx.client.clone(), ns);
    let _ = services.delete(&format!("{group}-master"), &dp).await;
    for ordinal in 0..crate::resources::external::MAX_MEMBERS {
        let _ = services.delete(&format!("{group}-{ordinal}-external"), &dp).await;
    }
    let _ = Api::<PodDisruptionBudget>::namespaced(ctx.client.clone(), ns).delete(group, &dp).await;
    Ok(())
}

/// Whether `object` is owned by `cluster`.
pub fn owned_by<K: Resource>(object: &K, cluster: &RocketMQCluster) -> bool {
    let uid = cluster.meta().uid.as_deref();
    object.owner_references().iter().any(|o| Some(o.uid.as_str()) == uid)
}

//! Reconciles one `RocketMQCluster`: applies every object [`crate::resources`] computes (server-side
//! apply, our field manager, owner references so the garbage collector removes them with the
//! cluster), drains and removes the groups a scale-in dropped (`scale_in`), keeps the failover supervisors and the
//! pods' role labels current, rolls outdated groups one pod at a time, and writes the status
//! when it changed. `rmq.io/paused: "true"` stops every change but the status.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::chrono::Utc;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use rmq_controller::config::GroupConfig;
use rmq_controller::group::ControlError;
use rmq_controller::member::Role;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use tracing::info;

use super::scale_in::ScaleIn;
use super::supervisor::Seen;
use super::{Context, Error};
use crate::crd::cluster::{DrainStatus, GroupStatus, RocketMQCluster, RocketMQClusterStatus};
use crate::resources::broker::{GROUP_LABEL, ROLE_LABEL};
use crate::resources::{broker, broker_conf, external, names, namesrv, FIELD_MANAGER};
use crate::rollout::{next_step, MemberPod, RollStep};
use crate::status::{conditions, Observation, SetObservation};

/// The annotation that pauses reconciliation.
pub const PAUSED: &str = "rmq.io/paused";

/// The annotation that requests a switchover: `<group>` (to its most caught-up slave) or
/// `<group>/<ordinal>` (to that pod). Removed once tried (a chosen pod that is not a slave yet,
/// restarting say, is waited for); the outcome is an Event.
pub const SWITCHOVER: &str = "rmq.io/switchover";

/// One reconcile of `cluster`.
pub async fn reconcile(cluster: &RocketMQCluster, ctx: &Context) -> Result<Action, Error> {
    let ns = cluster.namespace().ok_or(Error::Malformed("no namespace"))?;
    let key = format!("{ns}/{}", cluster.name_any());
    if cluster.meta().deletion_timestamp.is_some() {
        ctx.supervisors.remove(&key);
        ctx.metrics.forget_cluster(&key);
        return Ok(Action::await_change());
    }
    let paused = cluster.annotations().get(PAUSED).is_some_and(|v| v == "true");
    let mut scale_in = ScaleIn::default();
    let mut waiting_for_addresses = Vec::new();
    if paused {
        scale_in.draining = cluster.status.iter().flat_map(|s| s.draining.clone()).collect();
    } else {
        waiting_for_addresses = apply_all(cluster, ctx, &ns).await?;
        scale_in = super::scale_in::scale_in(cluster, ctx, &ns).await?;
    }
    let supervised = supervised_groups(cluster);
    for g in &supervised {
        ctx.metrics.failover_series(&key, &g.name);
    }
    let admin_tls = super::access::load(ctx, cluster).await?.admin_tls;
    let seen = ctx.supervisors.ensure(&key, &super::supervisor::controller_config(cluster, admin_tls), &supervised);
    report_failovers(cluster, ctx, &key, &seen).await;
    let switchover_pending = !paused && manual_switchover(cluster, ctx, &ns, &key, &seen).await?;
    let soon = switchover_pending || !scale_in.draining.is_empty();
    let mut observation =
        Observation { paused, blocked: scale_in.blocked, waiting_for_addresses, ..Observation::default() };
    let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
    observation.sets.push(observe(&sets, &names::namesrv(cluster), cluster.spec.name_server.replicas).await?);
    let mut groups = Vec::new();
    for g in 0..cluster.spec.broker.groups {
        let name = names::broker_group(cluster, g);
        observation.sets.push(observe(&sets, &name, cluster.spec.broker.replicas_per_group).await?);
        let group = reconcile_group(cluster, ctx, &ns, g, seen.get(&name), paused).await?;
        if group.master_pod.is_none() {
            observation.groups_without_master.push(name);
        }
        groups.push(group);
    }
    super::seed::seed_groups(cluster, ctx, &mut groups, paused).await;
    let rolling = observation.sets.iter().any(|s| s.updated < s.desired || s.ready < s.desired);
    write_status(cluster, ctx, &ns, &observation, groups, scale_in.draining).await?;
    let ready = observation.sets.iter().all(|s| s.ready >= s.desired) && observation.groups_without_master.is_empty();
    ctx.metrics.set_ready(&key, ready);
    Ok(Action::requeue(if rolling || soon || !ready { Duration::from_secs(5) } else { Duration::from_secs(60) }))
}

/// Server-side applies `object` (named by its metadata) with our field manager.
async fn apply<K>(ctx: &Context, ns: &str, object: &K) -> Result<K, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), ns);
    let name = object.meta().name.clone().ok_or(Error::Malformed("an object without a name"))?;
    let mut body = serde_json::to_value(object).map_err(|_| Error::Malformed("an unserializable object"))?;
    body["apiVersion"] = json!(K::api_version(&()));
    body["kind"] = json!(K::kind(&()));
    Ok(api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(body)).await?)
}

/// Applies every object; the answer names the external Services whose address is not known yet
/// (their group's ConfigMap and StatefulSet wait for it).
async fn apply_all(cluster: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<Vec<String>, Error> {
    apply(ctx, ns, &namesrv::service(cluster)).await?;
    apply(ctx, ns, &namesrv::config_map(cluster)).await?;
    apply(ctx, ns, &namesrv::stateful_set(cluster)).await?;
    if external::enabled(cluster) {
        apply(ctx, ns, &external::namesrv_service(cluster)).await?;
    }
    if external::node_address_type(cluster).is_some() {
        write_node_addresses(cluster, ctx, ns).await?;
    }
    let mut waiting = Vec::new();
    for g in 0..cluster.spec.broker.groups {
        // External Services first: the addresses they give go into the pods' configuration.
        let mut overlays = external::Overlays::new();
        let mut unknown = Vec::new();
        if external::enabled(cluster) {
            for ordinal in 0..cluster.spec.broker.replicas_per_group {
                let service = apply(ctx, ns, &external::broker_service(cluster, g, ordinal)).await?;
                if let Some(overlay) = external::overlay(cluster, &service) {
                    overlays.insert(ordinal, overlay);
                } else {
                    unknown.push(service.name_any());
                }
            }
        }
        // A broker would register an address clients cannot reach: its pods wait (a load
        // balancer's address arrives in its Service's status, which wakes this reconcile).
        let known = unknown.is_empty();
        if !known {
            info!(group = g, services = ?unknown, "waiting for the external Services' addresses");
            waiting.extend(unknown);
        }
        if known {
            apply(ctx, ns, &broker::config_map_with_external(cluster, g, &overlays)).await?;
        }
        apply(ctx, ns, &broker::headless_service(cluster, g)).await?;
        apply(ctx, ns, &broker::master_service(cluster, g)).await?;
        if known {
            apply(ctx, ns, &broker::stateful_set_with_external(cluster, g, &overlays)).await?;
        }
        apply(ctx, ns, &broker::disruption_budget(cluster, g)).await?;
    }
    remove_unwanted_external_services(cluster, ctx, ns).await?;
    // Once every group's StatefulSet no longer mounts it (a pod recreated from an older
    // template would wait for it).
    if external::node_address_type(cluster).is_none() && waiting.is_empty() {
        remove_node_addresses(cluster, ctx, ns).await?;
    }
    Ok(waiting)
}

/// Writes the node-addresses ConfigMap, once the node watch has listed every node (an early
/// empty list would hide every node).
async fn write_node_addresses(cluster: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<(), Error> {
    if tokio::time::timeout(Duration::from_secs(10), ctx.nodes.wait_until_ready()).await.map_or(true, |r| r.is_err()) {
        tracing::warn!("the node list is not known yet: node addresses left as they are");
        return Ok(());
    }
    let nodes = ctx.nodes.state();
    if let Some(map) = external::node_addresses(cluster, nodes.iter().map(|n| n.as_ref())) {
        apply(ctx, ns, &map).await?;
    }
    Ok(())
}

/// Deletes the node-addresses ConfigMap of a cluster that no longer advertises node addresses.
async fn remove_node_addresses(cluster: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<(), Error> {
    let maps = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns);
    let name = names::node_addresses(cluster);
    if maps.get_opt(&name).await?.is_some() {
        info!(config_map = %name, "deleting the node addresses no longer advertised");
        maps.delete(&name, &DeleteParams::background()).await?;
    }
    Ok(())
}

/// Deletes the cluster's external Services no longer wanted ([`external::unwanted`]).
async fn remove_unwanted_external_services(cluster: &RocketMQCluster, ctx: &Context, ns: &str) -> Result<(), Error> {
    let services = Api::<Service>::namespaced(ctx.client.clone(), ns);
    let selector = format!("{},{}=true", external::cluster_selector(cluster), external::EXTERNAL_LABEL);
    for service in services.list(&ListParams::default().labels(&selector)).await?.items {
        let name = service.name_any();
        if external::unwanted(cluster, &name) {
            info!(service = %name, "deleting an external Service no longer wanted");
            let _ = services.delete(&name, &DeleteParams::background()).await;
        }
    }
    Ok(())
}

/// Carries out the switchover the `rmq.io/switchover` annotation asks for, then removes it.
/// While it cannot start yet (the chosen pod is restarting or not a slave yet, the group has no
/// master) the request waits and the annotation stays; the answer is whether it is pending.
async fn manual_switchover(
    cluster: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    key: &str,
    seen: &HashMap<String, Seen>,
) -> Result<bool, Error> {
    let Some(request) = cluster.annotations().get(SWITCHOVER) else { return Ok(false) };
    let (group, ordinal) = match request.split_once('/') {
        Some((g, o)) => (g, Some(o.parse::<usize>().map_err(|_| format!("{o} is not a pod ordinal")))),
        None => (request.as_str(), None),
    };
    let members = usize::try_from(cluster.spec.broker.replicas_per_group).unwrap_or(0);
    let target = match (seen.get(group), ordinal) {
        (None, _) => Err(format!("{group} is not a broker group with automatic failover")),
        (Some(_), Some(Err(why))) => Err(why),
        (Some(_), Some(Ok(o))) if o >= members => Err(format!("{group} has no pod {o} ({members} per group)")),
        (Some(s), Some(Ok(o))) if s.view.master == Some(o) => Err(format!("{group}-{o} is the master already")),
        (Some(s), Some(Ok(o))) => match s.view.statuses.get(o).cloned().flatten() {
            Some(st) if st.role == Role::Slave && st.broker_id > 0 => Ok(Some(st.broker_id)),
            _ => {
                info!(group, pod = o, "switchover asked: waiting for the pod to be a slave");
                return Ok(true);
            }
        },
        (Some(_), None) => Ok(None),
    };
    let outcome = match target {
        Ok(id) => match ctx.supervisors.switchover(key, group, id).await {
            // Nothing was changed yet and it may be possible soon: ask again at the next reconcile.
            Err(
                e @ (ControlError::NoMaster
                | ControlError::NoCandidate
                | ControlError::UnknownBrokerId(_)
                | ControlError::NotASlave(_)),
            ) => {
                info!(group, error = %e, "switchover asked: not possible yet");
                return Ok(true);
            }
            other => other.map_err(|e| e.to_string()),
        },
        Err(why) => Err(why),
    };
    match outcome {
        Ok(epoch) => {
            let note = format!("switchover of {group} as {SWITCHOVER}={request} asked: done (epoch {epoch})");
            super::publish_cluster_event(ctx, cluster, EventType::Normal, "Switchover", &note).await;
        }
        Err(why) => {
            let note = format!("switchover {SWITCHOVER}={request} refused: {why}");
            super::publish_cluster_event(ctx, cluster, EventType::Warning, "SwitchoverFailed", &note).await;
        }
    }
    let api: Api<RocketMQCluster> = Api::namespaced(ctx.client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {SWITCHOVER: null}}});
    api.patch(&cluster.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
    Ok(false)
}

/// The groups the failover controller watches: every group with slaves, when enabled.
fn supervised_groups(cluster: &RocketMQCluster) -> Vec<GroupConfig> {
    if !broker_conf::fenced(cluster) {
        return Vec::new();
    }
    (0..cluster.spec.broker.groups)
        .map(|g| GroupConfig { name: names::broker_group(cluster, g), members: names::admin_addrs(cluster, g) })
        .collect()
}

async fn report_failovers(cluster: &RocketMQCluster, ctx: &Context, key: &str, seen: &HashMap<String, Seen>) {
    for (group, s) in seen {
        if s.new_failovers == 0 {
            continue;
        }
        let master = s.view.master.map_or_else(|| "none".to_owned(), |m| format!("{group}-{m}"));
        for _ in 0..s.new_failovers {
            ctx.metrics.failover(key, group);
        }
        let note = format!("group {group} has a new master: pod {master}");
        super::publish_cluster_event(ctx, cluster, EventType::Warning, "MasterChanged", &note).await;
    }
}

async fn observe(sets: &Api<StatefulSet>, name: &str, desired: i32) -> Result<SetObservation, Error> {
    let status = sets.get_opt(name).await?.and_then(|s| s.status);
    Ok(SetObservation {
        name: name.to_owned(),
        desired,
        ready: status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
        updated: status.as_ref().and_then(|s| s.updated_replicas).unwrap_or(0),
    })
}

/// Labels the group's pods with their roles, takes one roll step, and says who is master.
async fn reconcile_group(
    cluster: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    g: i32,
    seen: Option<&Seen>,
    paused: bool,
) -> Result<GroupStatus, Error> {
    let name = names::broker_group(cluster, g);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let members = pods.list(&ListParams::default().labels(&format!("{GROUP_LABEL}={name}"))).await?;
    // The master: what the failover controller sees, or ordinal 0 for a group it does not watch.
    let (master, epoch) = match seen {
        Some(s) => (
            s.view.master.map(|m| m as i32),
            s.view.master.and_then(|m| s.view.statuses[m].as_ref()).map_or(0, |st| st.epoch as i64),
        ),
        None => (members.iter().any(|p| ordinal(p) == Some(0) && pod_ready(p)).then_some(0), 0),
    };
    let update_revision = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
        .get_opt(&name)
        .await?
        .and_then(|s| s.status)
        .and_then(|s| s.update_revision);
    let mut view = Vec::new();
    for pod in &members {
        let Some(ord) = ordinal(pod) else { continue };
        let role = if Some(ord) == master { "master" } else { "slave" };
        // Failover goes on while paused, and the master Service follows this label: a master
        // advertising that Service must keep it even then.
        let relabel = !paused || cluster.spec.broker.advertise_master_service;
        if relabel && pod.labels().get(ROLE_LABEL).map(String::as_str) != Some(role) {
            let patch = json!({ "metadata": { "labels": { ROLE_LABEL: role } } });
            pods.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await?;
        }
        let revision = pod.labels().get("controller-revision-hash");
        view.push(MemberPod {
            name: pod.name_any(),
            ordinal: ord,
            updated: update_revision.is_some() && revision == update_revision.as_ref(),
            ready: pod_ready(pod) && pod.metadata.deletion_timestamp.is_none(),
            master: Some(ord) == master,
        });
    }
    if !paused && update_revision.is_some() {
        roll(cluster, ctx, ns, &name, &view, seen).await?;
    }
    Ok(GroupStatus { name: name.clone(), master_pod: master.map(|m| format!("{name}-{m}")), epoch, seeded: false })
}

async fn roll(
    cluster: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    group: &str,
    view: &[MemberPod],
    seen: Option<&Seen>,
) -> Result<(), Error> {
    match next_step(view, cluster.spec.broker.replicas_per_group) {
        RollStep::Done | RollStep::Wait => {}
        RollStep::Restart(pod) => restart(cluster, ctx, ns, group, &pod).await?,
        // A group without a failover supervisor cannot switch over: its master just restarts.
        RollStep::Switchover(_) if seen.is_none() => {
            if let Some(master) = view.iter().find(|m| m.master) {
                restart(cluster, ctx, ns, group, &master.name).await?;
            }
        }
        RollStep::Switchover(ordinal) => {
            let target = seen
                .and_then(|s| s.view.statuses.get(ordinal as usize).cloned().flatten())
                .map(|s| s.broker_id)
                .ok_or_else(|| Error::Broker(format!("{group}-{ordinal} reports no status")))?;
            let key = format!("{ns}/{}", cluster.name_any());
            let epoch = ctx
                .supervisors
                .switchover(&key, group, Some(target))
                .await
                .map_err(|e| Error::Broker(e.to_string()))?;
            let note = format!("rolling: {group} switched over to {group}-{ordinal} (epoch {epoch})");
            super::publish_cluster_event(ctx, cluster, EventType::Normal, "Switchover", &note).await;
        }
    }
    Ok(())
}

async fn restart(cluster: &RocketMQCluster, ctx: &Context, ns: &str, group: &str, pod: &str) -> Result<(), Error> {
    info!(group, pod, "rolling: restarting a pod at the new revision");
    Api::<Pod>::namespaced(ctx.client.clone(), ns).delete(pod, &DeleteParams::default()).await?;
    ctx.metrics.rolling_restart(&format!("{ns}/{}", cluster.name_any()));
    super::publish_cluster_event(
        ctx,
        cluster,
        EventType::Normal,
        "RollingRestart",
        &format!("restarted {pod} at the new revision"),
    )
    .await;
    Ok(())
}

fn ordinal(pod: &Pod) -> Option<i32> {
    pod.labels().get("apps.kubernetes.io/pod-index").and_then(|i| i.parse().ok())
}

fn pod_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn write_status(
    cluster: &RocketMQCluster,
    ctx: &Context,
    ns: &str,
    observation: &Observation,
    groups: Vec<GroupStatus>,
    draining: Vec<DrainStatus>,
) -> Result<(), Error> {
    let previous = cluster.status.clone().unwrap_or_default();
    let status = RocketMQClusterStatus {
        observed_generation: cluster.meta().generation,
        conditions: conditions(observation, cluster.meta().generation, &previous.conditions, Utc::now()),
        name_server_addresses: names::namesrv_addrs(cluster),
        groups,
        draining,
    };
    if status == previous {
        return Ok(());
    }
    let api: Api<RocketMQCluster> = Api::namespaced(ctx.client.clone(), ns);
    let body = json!({ "apiVersion": "rmq.io/v1alpha1", "kind": "RocketMQCluster", "status": status });
    api.patch_status(&cluster.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(body)).await?;
    Ok(())
}

//! Seeds the broker groups a scale-out added ([`crate::seeding`] decides what): the new master
//! gets the topics and subscription groups the seeded masters hold, through the admin API, and
//! an Event says what was copied. Failures are logged and retried on the next reconcile; they
//! never fail the reconcile of the rest of the cluster.

use std::collections::{BTreeMap, BTreeSet};

use kube::runtime::events::EventType;
use kube::ResourceExt;
use rmq_client::admin::{Admin, TopicSpec, TopicTarget};
use tracing::{info, warn};

use super::topic::{admin_of, broker_error};
use super::{Context, Error};
use crate::crd::cluster::{GroupStatus, RocketMQCluster};
use crate::seeding::{missing, plan, GroupSeed, SeedAction};

/// Carries the `seeded` marks over from the last status and, unless `paused`, seeds the groups
/// that need it.
pub async fn seed_groups(cluster: &RocketMQCluster, ctx: &Context, groups: &mut [GroupStatus], paused: bool) {
    let before: BTreeSet<&str> =
        cluster.status.iter().flat_map(|s| &s.groups).filter(|g| g.seeded).map(|g| g.name.as_str()).collect();
    for g in groups.iter_mut() {
        g.seeded = before.contains(g.name.as_str());
    }
    if paused || groups.iter().all(|g| g.seeded) {
        return;
    }
    // A new cluster's groups start alike: marking them needs no broker call.
    if before.is_empty() {
        for g in groups.iter_mut().filter(|g| g.master_pod.is_some()) {
            g.seeded = true;
        }
        return;
    }
    if let Err(e) = seed_added_groups(cluster, ctx, groups).await {
        warn!(cluster = %cluster.name_any(), error = %e, "seeding new broker groups failed; retrying");
    }
}

async fn seed_added_groups(cluster: &RocketMQCluster, ctx: &Context, groups: &mut [GroupStatus]) -> Result<(), Error> {
    let admin = admin_of(ctx, cluster).await?;
    let masters: BTreeMap<String, String> =
        admin.cluster_masters(&cluster.name_any()).await.map_err(broker_error)?.into_iter().collect();
    let view: Vec<GroupSeed> = groups
        .iter()
        .map(|g| GroupSeed { name: g.name.clone(), seeded: g.seeded, has_master: masters.contains_key(&g.name) })
        .collect();
    for action in plan(&view) {
        let target = match &action {
            SeedAction::MarkSeeded(target) => target,
            SeedAction::Seed { target, sources } => {
                copy(cluster, ctx, &admin, &masters, target, sources).await?;
                target
            }
        };
        if let Some(g) = groups.iter_mut().find(|g| &g.name == target) {
            g.seeded = true;
        }
    }
    Ok(())
}

async fn copy(
    cluster: &RocketMQCluster,
    ctx: &Context,
    admin: &Admin,
    masters: &BTreeMap<String, String>,
    target: &str,
    sources: &[String],
) -> Result<(), Error> {
    let metadata = |addr: &str| {
        let addr = addr.to_owned();
        async move {
            let topics = admin.broker_topic_configs(&addr).await.map_err(broker_error)?;
            let groups = admin.broker_groups(&addr).await.map_err(broker_error)?;
            Ok::<_, Error>((topics, groups))
        }
    };
    let mut held = Vec::new();
    for source in sources {
        if let Some(addr) = masters.get(source) {
            held.push(metadata(addr).await?);
        }
    }
    let target_addr = masters.get(target).ok_or(Error::Broker(format!("{target} has no master")))?;
    let brokers: BTreeSet<String> = masters.keys().cloned().collect();
    let (topics, groups) = missing(&held, &metadata(target_addr).await?, &cluster.name_any(), &brokers);
    for t in &topics {
        let spec = TopicSpec {
            topic: t.topic_name.clone(),
            read_queues: t.read_queue_nums,
            write_queues: t.write_queue_nums,
            perm: t.perm,
            order: t.order,
            attributes: t.attributes.iter().map(|(k, v)| (k.trim_start_matches('+').to_owned(), v.clone())).collect(),
        };
        admin.create_topic(&spec, &TopicTarget::Broker(target_addr.clone())).await.map_err(broker_error)?;
    }
    for g in &groups {
        admin.create_group(target_addr, g).await.map_err(broker_error)?;
    }
    let note = format!(
        "seeded {target} with {} topics and {} subscription groups from {}",
        topics.len(),
        groups.len(),
        sources.join(", ")
    );
    info!(cluster = %cluster.name_any(), "{note}");
    super::publish_cluster_event(ctx, cluster, EventType::Normal, "Seeded", &note).await;
    Ok(())
}

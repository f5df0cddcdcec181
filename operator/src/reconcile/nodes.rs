//! The nodes' addresses, for `externalAccess.nodeAddressType`: a reflector keeping each Node's
//! name and addresses only (a Node's status is large, its images above all), and a trigger that
//! fires when some node's addresses change, so every cluster rewrites its node-addresses
//! ConfigMap at once rather than at its next periodic reconcile. (A broker reads its node's
//! address when it starts: one already running keeps the old one until it restarts.)

use std::collections::HashMap;

use futures::channel::mpsc;
use futures::{Future, Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeStatus};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Config as WatcherConfig, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, ResourceExt};
use tracing::warn;

/// The node store, the change trigger, and the future that keeps both current (run it).
pub fn watch(client: Client) -> (Store<Node>, impl Stream<Item = ()> + Send + Sync, impl Future<Output = ()>) {
    let (store, writer) = reflector::store();
    let (mut trigger, changes) = mpsc::channel(0);
    let mut known: HashMap<String, Vec<NodeAddress>> = HashMap::new();
    let driver = watcher::watcher(Api::<Node>::all(client), WatcherConfig::default())
        .modify(keep_addresses_only)
        .default_backoff()
        .reflect(writer)
        .for_each(move |event| {
            match event {
                // A re-list: what it lists is compared afresh (deletions missed meanwhile go).
                Ok(Event::Init) => known.clear(),
                Ok(Event::Apply(node) | Event::InitApply(node)) => {
                    let addresses = addresses(&node);
                    if known.get(&node.name_any()) != Some(&addresses) {
                        known.insert(node.name_any(), addresses);
                        // Full: a reconcile of every cluster is pending already.
                        let _ = trigger.try_send(());
                    }
                }
                Ok(Event::Delete(node)) => {
                    known.remove(&node.name_any());
                }
                Ok(Event::InitDone) => {}
                Err(e) => warn!(error = %e, "watching nodes (externalAccess.nodeAddressType)"),
            }
            futures::future::ready(())
        });
    (store, changes, driver)
}

fn addresses(node: &Node) -> Vec<NodeAddress> {
    node.status.as_ref().and_then(|s| s.addresses.clone()).unwrap_or_default()
}

fn keep_addresses_only(node: &mut Node) {
    let addresses = node.status.take().and_then(|s| s.addresses);
    node.status = Some(NodeStatus { addresses, ..NodeStatus::default() });
    node.spec = None;
    node.metadata.managed_fields = None;
    node.metadata.annotations = None;
    node.metadata.labels = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerImage, NodeSpec};
    use kube::api::ObjectMeta;

    #[test]
    fn a_stored_node_keeps_its_name_and_addresses_only() {
        let address = NodeAddress { type_: "ExternalIP".into(), address: "203.0.113.5".into() };
        let mut node = Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                labels: Some([("a".into(), "b".into())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec { pod_cidr: Some("10.1.0.0/24".into()), ..NodeSpec::default() }),
            status: Some(NodeStatus {
                addresses: Some(vec![address.clone()]),
                images: Some(vec![ContainerImage { names: Some(vec!["big".into()]), size_bytes: Some(1 << 30) }]),
                ..NodeStatus::default()
            }),
        };
        keep_addresses_only(&mut node);
        assert_eq!(node.name_any(), "n1");
        assert_eq!(addresses(&node), vec![address]);
        assert!(node.spec.is_none() && node.metadata.labels.is_none());
        assert!(node.status.as_ref().is_some_and(|s| s.images.is_none()), "the image list is dropped");
    }
}

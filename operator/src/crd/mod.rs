//! The custom resources, from Rust types: [`cluster::RocketMQCluster`] and [`topic::Topic`]
//! (`rmq.io/v1alpha1`). `crdgen` writes their definitions to `crds/`; a test fails when the
//! checked-in YAML differs from what the types generate.

pub mod cluster;
pub mod security;
pub mod topic;

use kube::CustomResourceExt;

/// Every CRD as (file name, YAML), in a stable order.
pub fn all_yaml() -> Result<Vec<(&'static str, String)>, serde_yaml::Error> {
    Ok(vec![
        ("rocketmqcluster.yaml", serde_yaml::to_string(&cluster::RocketMQCluster::crd())?),
        ("topic.yaml", serde_yaml::to_string(&topic::Topic::crd())?),
    ])
}

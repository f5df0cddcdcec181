//! rmq's Kubernetes operator: the `RocketMQCluster` and `Topic` custom resources ([`crd`]).
//! The reconcilers that turn them into NameServer and broker StatefulSets come next (the
//! operator issue); today the crate defines and publishes the resource types.

pub mod crd;

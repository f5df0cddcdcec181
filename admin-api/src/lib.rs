//! rmq's gRPC admin API (`proto/rmq/admin/v1/*.proto`), generated with tonic and prost at build
//! time without a system `protoc`. The broker serves it, the admin CLI and the failover
//! controller call it.

#![allow(missing_docs)] // generated code

/// `rmq.admin.v1`.
pub mod v1 {
    tonic::include_proto!("rmq.admin.v1");
}

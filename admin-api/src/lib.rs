//! rmq's gRPC admin API (`proto/rmq/admin/v1/*.proto`), generated with tonic and prost at build
//! time without a system `protoc`. The broker serves it, the admin CLI and the failover
//! controller call it.

/// `rmq.admin.v1`.
#[allow(missing_docs)] // generated code
pub mod v1 {
    tonic::include_proto!("rmq.admin.v1");
}

pub mod connect;

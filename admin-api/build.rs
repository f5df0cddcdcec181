//! Compiles `proto/` with protox (a protobuf compiler in Rust, so no system `protoc` is needed)
//! and generates the tonic client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/rmq/admin/v1/replication.proto", "proto/rmq/admin/v1/controller.proto"];
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_build::configure().compile_fds(descriptors)?;
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    Ok(())
}

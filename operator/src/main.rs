//! rmq-operator: placeholder binary. The Kubernetes operator (RocketMQCluster and Topic CRDs)
//! is built under its own issue; this binary only reports that it is not implemented yet.

fn main() {
    eprintln!("rmq-operator is not implemented yet (see the Kubernetes operator issue)");
    std::process::exit(2);
}

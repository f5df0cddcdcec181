//! `rmq-operator`: reconciles `RocketMQCluster` resources in every namespace it may watch, and
//! serves its metrics and probes. Its configuration is the in-cluster service account (or
//! `KUBECONFIG` outside a cluster).

use clap::Parser;
use rmq_operator::metrics::{self, Metrics};
use rmq_operator::reconcile;
use tokio::net::TcpListener;

/// Kubernetes operator for rmq (RocketMQ-compatible) clusters.
#[derive(Parser, Debug)]
#[command(name = "rmq-operator", version, about)]
struct Args {
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, env = "RMQ_OPERATOR_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: String,
    /// This replica's name in Events (the pod name in a cluster).
    #[arg(long, env = "POD_NAME", default_value = "rmq-operator")]
    identity: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()));
    if std::env::var("RMQ_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
    let args = Args::parse();
    let client = kube::Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the Kubernetes API (in-cluster config or KUBECONFIG): {e}"))?;
    let listener = TcpListener::bind(&args.metrics_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {}: {e}", args.metrics_addr))?;
    tracing::info!(addr = %args.metrics_addr, "serving /metrics, /healthz and /readyz");
    let metrics = Metrics::new();
    let server = tokio::spawn(metrics::serve(listener, metrics.clone()));
    reconcile::run(client, metrics, args.identity).await;
    server.abort();
    Ok(())
}

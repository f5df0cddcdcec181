//! `rmq-operator`: reconciles `RocketMQCluster` and `Topic` resources in every namespace it may watch, and
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
    /// Seconds between two comparisons of a synced `Topic` with the brokers (drift).
    #[arg(long, env = "RMQ_OPERATOR_TOPIC_RESYNC_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    topic_resync_secs: u64,
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
    let settings = reconcile::Settings {
        identity: args.identity,
        topic_resync: std::time::Duration::from_secs(args.topic_resync_secs),
    };
    reconcile::run(client, metrics, settings).await;
    server.abort();
    Ok(())
}

//! `rmq-operator`: reconciles `RocketMQCluster` and `Topic` resources in every namespace it may watch, and
//! serves its metrics and probes. Its configuration is the in-cluster service account (or
//! `KUBECONFIG` outside a cluster). Replicas elect a leader through a Lease: one reconciles, the
//! others stand by; a replica that loses the Lease exits (its pod restarts as a standby).

use clap::Parser;
use std::time::Duration;

use rmq_operator::leader::{self, Election};
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
    /// Elect a leader among the operator's replicas through a Lease (off: this replica
    /// reconciles at once; run one replica only).
    #[arg(long, env = "RMQ_OPERATOR_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// The leader Lease's name.
    #[arg(long, env = "RMQ_OPERATOR_LEASE_NAME", default_value = "rmq-operator")]
    lease_name: String,
    /// The leader Lease's namespace (the operator's own; default: the client's namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Seconds a leader's Lease lasts unrenewed: how soon a standby replaces a crashed leader.
    #[arg(long, env = "RMQ_OPERATOR_LEASE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..))]
    lease_secs: u64,
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
        identity: args.identity.clone(),
        topic_resync: Duration::from_secs(args.topic_resync_secs),
    };
    let controllers = reconcile::run(client.clone(), metrics.clone(), settings);
    let result = if args.leader_election {
        let election = Election {
            lease_name: args.lease_name,
            namespace: args.lease_namespace.unwrap_or_else(|| client.default_namespace().to_owned()),
            identity: args.identity,
            lease_duration: Duration::from_secs(args.lease_secs),
            // Renew a third of the way before expiry (at least a second).
            renew_before: Duration::from_secs((args.lease_secs / 3).max(1)),
        };
        leader::lead(client, &election, &metrics, controllers).await.map_err(anyhow::Error::from)
    } else {
        controllers.await;
        Ok(())
    };
    server.abort();
    result
}

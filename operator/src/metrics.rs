//! The operator's own metrics and its HTTP endpoint (axum): `/metrics` (Prometheus text format),
//! `/healthz` (the process answers) and `/readyz` (the controllers are running, or the replica stands by for
//! the leader Lease).
//!
//! - `rocketmq_operator_reconciliations_total{kind,result}`: reconciles run, by outcome;
//! - `rocketmq_operator_reconcile_errors_total{kind,error}`: failed reconciles, by error kind;
//! - `rocketmq_operator_reconcile_duration_seconds{kind}`: how long a reconcile took;
//! - `rocketmq_operator_failovers_total{cluster,broker_name}`: masters replaced (failover or switchover);
//! - `rocketmq_operator_rolling_restarts_total{cluster}`: broker pods restarted by a roll;
//! - `rocketmq_operator_cluster_ready{cluster}`: 1 while a cluster's `Ready` condition is true;
//! - `rocketmq_operator_managed_resources{kind}`: resources this operator reconciles now;
//! - `rocketmq_operator_leader`: 1 while this replica holds the leader Lease and runs the controllers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::net::TcpListener;

/// The operator's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciliations: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    failovers: IntCounterVec,
    restarts: IntCounterVec,
    cluster_ready: IntGaugeVec,
    managed: IntGaugeVec,
    leader: IntGauge,
    running: Arc<AtomicBool>,
    standby: Arc<AtomicBool>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, registered.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let reconciliations =
            counter("rocketmq_operator_reconciliations_total", "Reconciles run, by outcome", &["kind", "result"]);
        let errors =
            counter("rocketmq_operator_reconcile_errors_total", "Failed reconciles, by error", &["kind", "error"]);
        let failovers = counter(
            "rocketmq_operator_failovers_total",
            "Masters replaced by a failover or a switchover",
            &["cluster", "broker_name"],
        );
        let restarts =
            counter("rocketmq_operator_rolling_restarts_total", "Broker pods restarted by a roll", &["cluster"]);
        let cluster_ready = gauge("rocketmq_operator_cluster_ready", "1 while the cluster is Ready", &["cluster"]);
        let managed = gauge("rocketmq_operator_managed_resources", "Resources reconciled now", &["kind"]);
        let duration = HistogramVec::new(
            HistogramOpts::new("rocketmq_operator_reconcile_duration_seconds", "How long a reconcile took")
                .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0]),
            &["kind"],
        )
        .expect("valid metric");
        registry.register(Box::new(duration.clone())).expect("unique metric");
        let leader = IntGauge::new("rocketmq_operator_leader", "1 while this replica holds the leader Lease")
            .expect("valid metric");
        registry.register(Box::new(leader.clone())).expect("unique metric");
        Metrics {
            registry,
            reconciliations,
            errors,
            duration,
            failovers,
            restarts,
            cluster_ready,
            managed,
            leader,
            running: Arc::new(AtomicBool::new(false)),
            standby: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A reconcile of a `kind` resource took `seconds`; `error` names its failure.
    pub fn reconciled(&self, kind: &str, seconds: f64, error: Option<&str>) {
        self.duration.with_label_values(&[kind]).observe(seconds);
        let result = if error.is_some() { "error" } else { "success" };
        self.reconciliations.with_label_values(&[kind, result]).inc();
        if let Some(e) = error {
            self.errors.with_label_values(&[kind, e]).inc();
        }
    }

    /// A group's master was replaced.
    pub fn failover(&self, cluster: &str, broker_name: &str) {
        self.failovers.with_label_values(&[cluster, broker_name]).inc();
    }

    /// Makes the failover series of a group exist (at 0) before its first failover.
    pub fn failover_series(&self, cluster: &str, broker_name: &str) {
        let _ = self.failovers.with_label_values(&[cluster, broker_name]);
    }

    /// Makes a kind's reconcile series exist (at 0) before its first reconcile or error.
    pub fn kind_series(&self, kind: &str, errors: &[&str]) {
        for result in ["success", "error"] {
            let _ = self.reconciliations.with_label_values(&[kind, result]);
        }
        for error in errors {
            let _ = self.errors.with_label_values(&[kind, error]);
        }
    }

    /// A roll restarted a broker pod.
    pub fn rolling_restart(&self, cluster: &str) {
        self.restarts.with_label_values(&[cluster]).inc();
    }

    /// Whether `cluster` is Ready now.
    pub fn set_ready(&self, cluster: &str, ready: bool) {
        self.cluster_ready.with_label_values(&[cluster]).set(i64::from(ready));
    }

    /// A cluster is gone: its series go too.
    pub fn forget_cluster(&self, cluster: &str) {
        let _ = self.cluster_ready.remove_label_values(&[cluster]);
    }

    /// `count` resources of `kind` are reconciled now.
    pub fn set_managed(&self, kind: &str, count: usize) {
        self.managed.with_label_values(&[kind]).set(count as i64);
    }

    /// The controllers run (ready) or stopped.
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    /// Whether this replica holds the leader Lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Whether this replica waits for the leader Lease (ready, as a standby).
    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::Relaxed);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Result<(String, Vec<u8>), prometheus::Error> {
        let encoder = TextEncoder::new();
        let mut body = Vec::with_capacity(4096);
        encoder.encode(&self.registry.gather(), &mut body)?;
        Ok((encoder.format_type().to_owned(), body))
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Metrics) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(metrics);
    axum::serve(listener, app).await
}

async fn render(State(metrics): State<Metrics>) -> impl IntoResponse {
    match metrics.render() {
        Ok((content_type, body)) => (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            e.to_string().into_bytes(),
        ),
    }
}

async fn readyz(State(metrics): State<Metrics>) -> impl IntoResponse {
    if metrics.running.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else if metrics.standby.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready: standing by, another replica holds the leader Lease\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: the controllers are not running\n")
    }
}

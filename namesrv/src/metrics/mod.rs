//! NameServer metrics, served as Prometheus text on `metricsPromExporterPort` (default 5558)
//! together with `/healthz` and `/readyz` ([`http`]).
//!
//! Requests are counted on the hot path with one cached counter child per request code (a
//! lookup and an atomic add); broker, topic and readiness gauges are computed from the route
//! table when `/metrics` is scraped.

pub mod http;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use rmq_remoting::code::apache_name;
use rmq_remoting::RequestCode;

use crate::route::RouteTable;

/// Registered broker processes, per cluster (label `cluster`).
pub const BROKERS: &str = "rocketmq_namesrv_brokers";
/// Topics with at least one queue in the route table.
pub const TOPICS: &str = "rocketmq_namesrv_topics";
/// Requests received, per request code (label `request_code`, Apache's constant in lower case).
pub const REQUESTS: &str = "rocketmq_namesrv_requests_total";
/// 1 when `/readyz` answers 200.
pub const READY: &str = "rocketmq_namesrv_ready";

/// The NameServer's metric handles, created once with the [`crate::Namesrv`].
pub struct NamesrvMetrics {
    registry: Registry,
    requests: IntCounterVec,
    /// Index of each known request code in `RequestCode::ALL`.
    code_index: HashMap<i32, usize>,
    /// One counter child per known code, created on first use.
    children: Box<[OnceLock<IntCounter>]>,
    brokers: IntGaugeVec,
    topics: IntGauge,
    ready_gauge: IntGauge,
    ready: AtomicBool,
    /// Serializes scrapes: each resets and refills the gauges before gathering.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for NamesrvMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamesrvMetrics").field("ready", &self.is_ready()).finish_non_exhaustive()
    }
}

fn register<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    registry.register(Box::new(c.clone())).unwrap_or_else(|e| panic!("registering a NameServer metric: {e}"));
    c
}

impl Default for NamesrvMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NamesrvMetrics {
    /// Registers the NameServer's families in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let metric = |name: &str, help: &str| Opts::new(name, help);
        let requests = IntCounterVec::new(metric(REQUESTS, "Requests received"), &["request_code"])
            .unwrap_or_else(|e| panic!("metric {REQUESTS}: {e}"));
        let brokers = IntGaugeVec::new(metric(BROKERS, "Registered broker processes"), &["cluster"])
            .unwrap_or_else(|e| panic!("metric {BROKERS}: {e}"));
        let topics = IntGauge::with_opts(metric(TOPICS, "Topics in the route table"))
            .unwrap_or_else(|e| panic!("metric {TOPICS}: {e}"));
        let ready_gauge = IntGauge::with_opts(metric(READY, "1 when /readyz answers 200"))
            .unwrap_or_else(|e| panic!("metric {READY}: {e}"));
        NamesrvMetrics {
            requests: register(&registry, requests),
            brokers: register(&registry, brokers),
            topics: register(&registry, topics),
            ready_gauge: register(&registry, ready_gauge),
            code_index: RequestCode::ALL.iter().enumerate().map(|(i, c)| (c.value(), i)).collect(),
            children: RequestCode::ALL.iter().map(|_| OnceLock::new()).collect(),
            ready: AtomicBool::new(false),
            scrape: Mutex::new(()),
            registry,
        }
    }

    /// Counts one request of `code`.
    pub fn count_request(&self, code: i32) {
        let Some(&i) = self.code_index.get(&code) else {
            // A code outside the table: labelled with the number (rare, so the string is fine).
            self.requests.with_label_values(&[&code.to_string()]).inc();
            return;
        };
        let child = self.children[i].get_or_init(|| {
            let name = apache_name(RequestCode::ALL[i]);
            self.requests.with_label_values(&[&name])
        });
        child.inc();
    }

    /// Marks the remoting listener as serving (or no longer serving).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether the NameServer is serving its remoting listener: the one definition of ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Refreshes the scrape-time gauges from `routes` and gathers every family.
    pub fn gather(&self, routes: &RouteTable) -> Vec<MetricFamily> {
        let _one_scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.brokers.reset();
        for (cluster, n) in routes.live_brokers_by_cluster() {
            self.brokers.with_label_values(&[&cluster]).set(n as i64);
        }
        self.topics.set(routes.topic_count() as i64);
        self.ready_gauge.set(i64::from(self.is_ready()));
        self.registry.gather()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codes_are_labelled_with_apaches_names() {
        let m = NamesrvMetrics::new();
        m.count_request(RequestCode::RegisterBroker.value());
        m.count_request(RequestCode::RegisterBroker.value());
        m.count_request(RequestCode::GetRouteinfoByTopic.value());
        m.count_request(-4242);
        let value = |code: &str| m.requests.with_label_values(&[code]).get();
        assert_eq!(value("register_broker"), 2);
        assert_eq!(value("get_routeinfo_by_topic"), 1);
        assert_eq!(value("-4242"), 1);
    }
}

//! What recording one sent message costs the broker's send path: the `rocketmq_messages_in_total`,
//! `rocketmq_throughput_in_total` and `rocketmq_message_size` updates plus the
//! `rocketmq_rpc_latency` observation, on one thread and on four threads sharing a topic, with
//! metrics on (the default) and off (`metricsExporterType=DISABLE`).
//!
//!     cargo run --release -p rmq-broker --example metrics_cost

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use rmq_broker::metrics::{BrokerMetrics, MessageType, MetricsConfig};
use rmq_remoting::config::Properties;

const PER_THREAD: u64 = 5_000_000;

fn metrics(conf: &str) -> BrokerMetrics {
    let mut props = Properties::parse(conf).expect("properties");
    let config = MetricsConfig::load(&mut props, IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("config");
    BrokerMetrics::new("C", "broker-a", &config)
}

/// Nanoseconds per recorded message with `threads` threads.
fn measure(m: &BrokerMetrics, threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for i in 0..PER_THREAD {
                    m.traffic.record_put("BenchTopic", MessageType::Normal, 1, 1024 + (i & 63));
                    m.rpc.observe(10, 0, false, false, 0.3);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (PER_THREAD as f64)
}

fn main() {
    for threads in [1, 4] {
        for (mode, conf) in [("on", ""), ("off", "metricsExporterType=DISABLE")] {
            let m = metrics(conf);
            measure(&m, threads); // warm the per-topic handles and caches
            let ns = measure(&m, threads);
            println!("metrics {mode:3}, {threads} thread(s): {ns:6.1} ns of wall time per message per thread");
        }
    }
}

//! `produce`: N tasks share one producer and each sends in a loop, waiting for every answer (the
//! Java benchmark's sending threads). Reports TPS, MiB/s, failures and latency percentiles every
//! interval and for the whole measured period (after the warm-up).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use rand::distributions::{Alphanumeric, DistString};
use rmq_client::{Message, Producer};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::sleep_until;

use crate::cli::ProduceArgs;
use crate::report::Reporter;
use crate::stats::{mib_per_s, rate, Latency, LatencySummary};

/// Pause after a failed send, so a dead broker does not turn the loop into a spin.
const FAILURE_PAUSE: Duration = Duration::from_millis(10);

/// The final figures of a `produce` run.
#[derive(Debug, Clone, Serialize)]
pub struct ProduceSummary {
    /// Always `"produce"`.
    pub kind: &'static str,
    /// Topic sent to.
    pub topic: String,
    /// Concurrent senders.
    pub threads: usize,
    /// Body size in bytes.
    pub size: usize,
    /// Measured period in seconds (warm-up excluded).
    pub duration_s: f64,
    /// Successful sends in the measured period.
    pub sent: u64,
    /// Failed sends in the measured period.
    pub failed: u64,
    /// Successful sends per second.
    pub tps: f64,
    /// Body MiB per second.
    pub mib_per_s: f64,
    /// Send latency, request to answer.
    pub latency: LatencySummary,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// One sender's counters, read and reset by the reporter.
#[derive(Default)]
struct SenderStats {
    interval: Latency,
    total: Latency,
    failed_interval: u64,
    failed_total: u64,
}

struct Shared {
    stop: AtomicBool,
    /// Sends still allowed when `--messages` is given.
    budget: Option<AtomicU64>,
    senders: Vec<Mutex<SenderStats>>,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn sender(&self, i: usize) -> MutexGuard<'_, SenderStats> {
        self.senders[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one send from the budget; false once it is spent.
    fn claim(&self) -> bool {
        match &self.budget {
            None => true,
            Some(left) => left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok(),
        }
    }

    /// Merges and clears every sender's interval figures.
    fn take_interval(&self) -> (Latency, u64) {
        let mut merged = Latency::default();
        let mut failed = 0;
        for i in 0..self.senders.len() {
            let mut s = self.sender(i);
            merged.merge(&s.interval);
            failed += s.failed_interval;
            s.interval.reset();
            s.failed_interval = 0;
        }
        (merged, failed)
    }

    fn take_total(&self) -> (Latency, u64) {
        let mut merged = Latency::default();
        let mut failed = 0;
        for i in 0..self.senders.len() {
            let s = self.sender(i);
            merged.merge(&s.total);
            failed += s.failed_total;
        }
        (merged, failed)
    }

    fn reset_all(&self) {
        for i in 0..self.senders.len() {
            *self.sender(i) = SenderStats::default();
        }
    }
}

/// Runs the `produce` subcommand.
pub async fn run(args: ProduceArgs, reporter: Reporter) -> anyhow::Result<ProduceSummary> {
    anyhow::ensure!(args.threads > 0, "--threads must be at least 1");
    let producer = Producer::builder()
        .name_server(args.cluster.namesrv.clone())
        .group(args.group.clone())
        .compress_over(usize::MAX)
        .max_message_size(args.size.max(4 * 1024 * 1024))
        .build()
        .await
        .with_context(|| format!("starting a producer on NameServer {}", args.cluster.namesrv))?;
    let body = Bytes::from(Alphanumeric.sample_string(&mut rand::thread_rng(), args.size));
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        budget: args.messages.map(AtomicU64::new),
        senders: (0..args.threads).map(|_| Mutex::new(SenderStats::default())).collect(),
        first_error: Mutex::new(None),
    });
    reporter.line(format_args!(
        "producing to {} with {} senders, {} B bodies, warm-up {:?}, duration {:?}{}",
        args.topic,
        args.threads,
        args.size,
        args.warmup,
        args.duration,
        args.messages.map(|n| format!(", at most {n} messages")).unwrap_or_default()
    ));

    let mut senders = JoinSet::new();
    for i in 0..args.threads {
        senders.spawn(send_loop(i, producer.clone(), args.topic.clone(), body.clone(), Arc::clone(&shared)));
    }

    let start = Instant::now();
    let mut measure_start = start;
    let mut warmed = args.warmup.is_zero();
    let mut end = start + args.warmup + args.duration;
    let mut last_report = start;
    let mut next_report = start + args.report_interval;
    let terminated = crate::terminated();
    tokio::pin!(terminated);
    loop {
        let deadline = if warmed { next_report.min(end) } else { (start + args.warmup).min(end) };
        tokio::select! {
            _ = sleep_until(deadline.into()) => {}
            _ = &mut terminated => break,
            joined = senders.join_next() => match joined {
                None => break,
                Some(result) => { result.context("a sender panicked")?; continue; }
            },
        }
        let now = Instant::now();
        if now >= end {
            break;
        }
        if !warmed {
            shared.reset_all();
            warmed = true;
            measure_start = now;
            end = now + args.duration;
            last_report = now;
            next_report = now + args.report_interval;
            reporter.line(format_args!("warm-up over, measuring for {:?}", args.duration));
            continue;
        }
        if now >= next_report {
            let (lat, failed) = shared.take_interval();
            let tps = rate(lat.count(), now - last_report);
            reporter.line(format_args!(
                "[{:6.1}s] send TPS {:.0} | {:.1} MiB/s | failed {} | {}",
                (now - measure_start).as_secs_f64(),
                tps,
                mib_per_s(tps, args.size),
                failed,
                lat.summary()
            ));
            last_report = now;
            next_report += args.report_interval;
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    while let Some(result) = senders.join_next().await {
        result.context("a sender panicked")?;
    }
    let elapsed = Instant::now() - measure_start;
    producer.shutdown().await;

    let (total, failed) = shared.take_total();
    let tps = rate(total.count(), elapsed);
    let first_error = shared.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(ProduceSummary {
        kind: "produce",
        topic: args.topic,
        threads: args.threads,
        size: args.size,
        duration_s: elapsed.as_secs_f64(),
        sent: total.count(),
        failed,
        tps,
        mib_per_s: mib_per_s(tps, args.size),
        latency: total.summary(),
        first_error,
    })
}

/// One sender: send, wait for the answer, record, repeat until told to stop or the budget is spent.
async fn send_loop(i: usize, producer: Producer, topic: String, body: Bytes, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) && shared.claim() {
        let begin = Instant::now();
        match producer.send(Message::new(topic.clone(), body.clone())).await {
            Ok(_) => {
                let latency = begin.elapsed();
                let mut s = shared.sender(i);
                s.interval.record(latency);
                s.total.record(latency);
            }
            Err(e) => {
                {
                    let mut s = shared.sender(i);
                    s.failed_interval += 1;
                    s.failed_total += 1;
                }
                shared.first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| e.to_string());
                tokio::time::sleep(FAILURE_PAUSE).await;
            }
        }
    }
}

impl std::fmt::Display for ProduceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "[complete] topic {} | {} senders | {} B | {:.1} s | sent {} | failed {}",
            self.topic, self.threads, self.size, self.duration_s, self.sent, self.failed
        )?;
        write!(f, "send TPS {:.0} | {:.1} MiB/s | latency {}", self.tps, self.mib_per_s, self.latency)?;
        if let Some(e) = &self.first_error {
            write!(f, "\nfirst error: {e}")?;
        }
        Ok(())
    }
}

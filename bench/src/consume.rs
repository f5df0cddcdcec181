//! `consume`: one push consumer (a new group starts at the first stored message) counts what it
//! receives and records each message's end-to-end latency, consumption time minus the producer's
//! born timestamp (both millisecond wall clocks on the same host).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rmq_client::{ConsumeFrom, ConsumeStatus, PushConsumer, ReceivedMessage};
use serde::Serialize;

use crate::cli::ConsumeArgs;
use crate::report::Reporter;
use crate::stats::{rate, Latency, LatencySummary};

/// The final figures of a `consume` run.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumeSummary {
    /// Always `"consume"`.
    pub kind: &'static str,
    /// Topic consumed.
    pub topic: String,
    /// Consumer group.
    pub group: String,
    /// Seconds the consumer ran.
    pub duration_s: f64,
    /// Seconds from the first to the last message received.
    pub active_s: f64,
    /// Messages received.
    pub consumed: u64,
    /// Messages per second over the active period (first to last message).
    pub tps: f64,
    /// Born (producer clock) to consumed, in milliseconds: the broker's store and delivery path.
    pub e2e_latency: LatencySummary,
}

#[derive(Default)]
struct Counters {
    interval: Latency,
    total: Latency,
    first: Option<Instant>,
    last: Option<Instant>,
}

#[derive(Default)]
struct Shared(Mutex<Counters>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, batch: &[ReceivedMessage]) {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let now = Instant::now();
        let mut c = self.lock();
        for m in batch {
            let micros = u64::try_from(now_ms.saturating_sub(m.born_timestamp)).unwrap_or(0).saturating_mul(1000);
            c.interval.record_micros(micros);
            c.total.record_micros(micros);
        }
        c.first.get_or_insert(now);
        c.last = Some(now);
    }
}

/// Runs the `consume` subcommand.
pub async fn run(args: ConsumeArgs, reporter: Reporter) -> anyhow::Result<ConsumeSummary> {
    let shared = Arc::new(Shared::default());
    let listener = {
        let shared = Arc::clone(&shared);
        move |batch: Vec<ReceivedMessage>| {
            shared.record(&batch);
            async { ConsumeStatus::Success }
        }
    };
    let start = Instant::now();
    let consumer = PushConsumer::builder()
        .name_server(args.cluster.namesrv.clone())
        .group(args.group.clone())
        .subscribe(args.topic.clone(), "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .concurrency(args.threads.max(1))
        .start(listener)
        .await
        .with_context(|| format!("starting a consumer of {} on NameServer {}", args.topic, args.cluster.namesrv))?;
    reporter.line(format_args!(
        "consuming {} as group {} for {:?}{}",
        args.topic,
        args.group,
        args.duration,
        if args.idle_exit.is_zero() { String::new() } else { format!(" (or until idle for {:?})", args.idle_exit) }
    ));

    let end = start + args.duration;
    let mut last_report = Instant::now();
    let tick = args.report_interval.min(if args.idle_exit.is_zero() { Duration::MAX } else { args.idle_exit / 4 });
    let mut next_report = last_report + args.report_interval;
    let terminated = crate::terminated();
    tokio::pin!(terminated);
    loop {
        let wake = (Instant::now() + tick).min(next_report).min(end);
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = &mut terminated => break,
        }
        let now = Instant::now();
        if now >= end || idle(&shared, &args, now) {
            break;
        }
        if now >= next_report {
            let interval = {
                let mut c = shared.lock();
                let taken = c.interval.clone();
                c.interval.reset();
                taken
            };
            reporter.line(format_args!(
                "[{:6.1}s] consume TPS {:.0} | e2e {}",
                (now - start).as_secs_f64(),
                rate(interval.count(), now - last_report),
                interval.summary()
            ));
            last_report = now;
            next_report += args.report_interval;
        }
    }
    let duration = start.elapsed();
    consumer.shutdown().await;

    let c = shared.lock();
    let active = match (c.first, c.last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    let consumed = c.total.count();
    let tps = if active.as_millis() >= 100 { rate(consumed, active) } else { rate(consumed, duration) };
    Ok(ConsumeSummary {
        kind: "consume",
        topic: args.topic,
        group: args.group,
        duration_s: duration.as_secs_f64(),
        active_s: active.as_secs_f64(),
        consumed,
        tps,
        e2e_latency: c.total.summary(),
    })
}

/// True once `--idle-exit` is set and nothing arrived for that long since the last message.
fn idle(shared: &Shared, args: &ConsumeArgs, now: Instant) -> bool {
    !args.idle_exit.is_zero() && shared.lock().last.is_some_and(|last| now - last >= args.idle_exit)
}

impl std::fmt::Display for ConsumeSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "[complete] topic {} | group {} | {:.1} s ({:.1} s active) | consumed {}",
            self.topic, self.group, self.duration_s, self.active_s, self.consumed
        )?;
        write!(f, "consume TPS {:.0} | e2e latency {}", self.tps, self.e2e_latency)
    }
}

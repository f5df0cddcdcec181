//! `rmq-bench`: the Rust load generator of `bench/run.sh`, built on the `rmq-client` SDK, for rmq
//! and Apache RocketMQ alike. It sends and consumes like the official Java benchmark
//! (`org.apache.rocketmq.example.benchmark.Producer` / `Consumer`) and adds what that one lacks:
//! latency percentiles from an HDR histogram and a JSON summary (`--output json`).
//!
//! # Layout
//! - `cli`: arguments and duration parsing.
//! - `produce`: N concurrent senders; TPS, MiB/s, failures, send latency p50/p99/p999/max.
//! - `consume`: a push consumer; end-to-end TPS and born-to-consumed latency.
//! - `admin`: time to ready (broker registered with the NameServer), topic creation, message count.
//! - `stats`: latency histograms; `report`: where lines and summaries are printed.

mod admin;
mod cli;
mod consume;
mod produce;
mod report;
mod stats;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use report::Reporter;

// mimalloc instead of the system allocator: requests, headers and properties allocate many small
// short-lived strings, and glibc's malloc/free took ~20% of the broker's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let workers = cli.worker_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers.max(1)).enable_all().build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rmq-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmq-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM, so that `produce` and `consume` stopped early still print their
/// summary (`timeout`, Ctrl-C). Never resolves if the handlers cannot be installed.
async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let reporter = Reporter::new(cli.output);
    match cli.command {
        Command::Produce(args) => reporter.summary(&produce::run(args, reporter).await?),
        Command::Consume(args) => reporter.summary(&consume::run(args, reporter).await?),
        Command::Ready(args) => reporter.summary(&admin::ready(args).await?),
        Command::CreateTopic(args) => reporter.summary(&admin::create_topic(args).await?),
        Command::Stored(args) => reporter.summary(&admin::stored(args).await?),
    }
}

//! Command-line arguments of `rmq-bench` and the parser of durations (`60s`, `500ms`, `2m`, `60`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load generator for rmq and Apache RocketMQ: send/consume throughput and latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "rmq-bench", version)]
pub struct Cli {
    /// Tokio worker threads (default: the CPUs this process may run on, so 1 under `taskset -c 1`).
    #[arg(long, global = true)]
    pub worker_threads: Option<usize>,

    /// Format of the final summary on stdout; with `json`, periodic reports go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How the final summary is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable lines.
    Text,
    /// One JSON document.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send messages from N concurrent tasks in a loop (like the Java benchmark's threads).
    Produce(ProduceArgs),
    /// Consume a topic with a push consumer: end-to-end TPS and born-to-consumed latency.
    Consume(ConsumeArgs),
    /// Wait until a broker is listed in the NameServer's cluster info; print the time to ready.
    Ready(ReadyArgs),
    /// Create a topic on every master of a cluster and wait until its route is visible.
    CreateTopic(CreateTopicArgs),
    /// Print how many messages a topic holds (sum of its queues' max offsets).
    Stored(StoredArgs),
}

/// Connection to the cluster.
#[derive(Debug, Clone, Args)]
pub struct Cluster {
    /// NameServer address(es), `host:port[;host:port]`.
    #[arg(short = 'n', long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
}

/// `produce` options.
#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    /// The NameServer to use.
    #[command(flatten)]
    pub cluster: Cluster,
    /// Topic to send to.
    #[arg(short, long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Concurrent senders, each waiting for its previous send (Java's `-w`).
    #[arg(short = 'w', long, default_value_t = 16)]
    pub threads: usize,
    /// Body size in bytes (random alphanumeric, never compressed).
    #[arg(short, long, default_value_t = 1024)]
    pub size: usize,
    /// How long to measure, after the warm-up.
    #[arg(short, long, value_parser = parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Sending before measuring starts (not counted).
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Stop after this many sends in total (warm-up included), even before `--duration`.
    #[arg(long)]
    pub messages: Option<u64>,
    /// Producer group.
    #[arg(short, long, default_value = "rmq_bench_producer")]
    pub group: String,
    /// Interval of the periodic reports.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub report_interval: Duration,
}

/// `consume` options.
#[derive(Debug, Clone, Args)]
pub struct ConsumeArgs {
    /// The NameServer to use.
    #[command(flatten)]
    pub cluster: Cluster,
    /// Topic to consume.
    #[arg(short, long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Consumer group (a new group starts at the first stored message).
    #[arg(short, long, default_value = "rmq_bench_consumer")]
    pub group: String,
    /// Listener calls running at once (Java's consume threads, default 20 as its benchmark).
    #[arg(short = 'w', long, default_value_t = 20)]
    pub threads: usize,
    /// How long to consume.
    #[arg(short, long, value_parser = parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Stop early once no message arrived for this long after the first one (0 = never).
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub idle_exit: Duration,
    /// Interval of the periodic reports.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub report_interval: Duration,
}

/// `ready` options.
#[derive(Debug, Clone, Args)]
pub struct ReadyArgs {
    /// The NameServer to use.
    #[command(flatten)]
    pub cluster: Cluster,
    /// The broker name to wait for.
    #[arg(short, long, default_value = "broker-a")]
    pub broker_name: String,
    /// When the broker was spawned, in ns since the Unix epoch (`date +%s%N`); default: now.
    #[arg(long)]
    pub since_epoch_ns: Option<u128>,
    /// Give up after this long.
    #[arg(long, value_parser = parse_duration, default_value = "300s")]
    pub timeout: Duration,
    /// Pause between two polls.
    #[arg(long, value_parser = parse_duration, default_value = "5ms")]
    pub interval: Duration,
}

/// `create-topic` options.
#[derive(Debug, Clone, Args)]
pub struct CreateTopicArgs {
    /// The NameServer to use.
    #[command(flatten)]
    pub cluster: Cluster,
    /// Topic to create.
    #[arg(short, long)]
    pub topic: String,
    /// Cluster whose masters get the topic.
    #[arg(short = 'c', long, default_value = "DefaultCluster")]
    pub cluster_name: String,
    /// Read and write queues per broker.
    #[arg(short, long, default_value_t = 8)]
    pub queues: i32,
}

/// `stored` options.
#[derive(Debug, Clone, Args)]
pub struct StoredArgs {
    /// The NameServer to use.
    #[command(flatten)]
    pub cluster: Cluster,
    /// Topic to count.
    #[arg(short, long)]
    pub topic: String,
}

/// Parses `250ms`, `5s`, `2m`, `1h` or a bare number of seconds (fractions allowed: `1.5s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("not a duration: {s:?} (e.g. 60s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("bad duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn produce_defaults_parse() {
        let cli = Cli::try_parse_from(["rmq-bench", "produce", "-n", "127.0.0.1:9", "--threads", "64"]);
        let Ok(Cli { command: Command::Produce(p), .. }) = cli else { panic!("did not parse: {cli:?}") };
        assert_eq!(p.threads, 64);
        assert_eq!(p.size, 1024);
        assert_eq!(p.duration, Duration::from_secs(60));
        assert_eq!(p.cluster.namesrv, "127.0.0.1:9");
    }
}

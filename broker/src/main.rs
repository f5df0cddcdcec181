//! `rmq-broker`: starts a broker from an Apache-style `broker.conf`.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rmq_broker::{bind, run, Broker, BrokerConfig};
use rmq_remoting::config::Properties;

// mimalloc instead of the system allocator: requests, headers and properties allocate many small
// short-lived strings, and glibc's malloc/free took ~20% of the broker's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// RocketMQ-compatible broker. Reads Apache's broker.conf keys.
#[derive(Parser, Debug)]
#[command(name = "rmq-broker", version, about)]
struct Args {
    /// Broker config file (Java properties, Apache key names). Repeat to layer files: a later
    /// file's keys override an earlier one's (e.g. a shared broker.conf, then one per pod).
    #[arg(short = 'c', long = "configFile")]
    config_files: Vec<PathBuf>,
    /// NameServer addresses, `host:port;host:port` (overrides namesrvAddr and NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
    /// One `key=value` (Apache key names) over every file, repeatable: what only the launcher
    /// knows, e.g. `--set brokerIP1=$(POD_IP)` in a Kubernetes pod.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config: bool,
}

fn main() -> anyhow::Result<()> {
    // RMQ_LOG_FORMAT=json: one JSON object per line, for log collectors; RUST_LOG filters.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()));
    let json_logs = std::env::var("RMQ_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json_logs {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())).init();
    }
    let args = Args::parse();
    let mut props = Properties::default();
    for path in &args.config_files {
        props.overlay(Properties::load(path)?);
    }
    for pair in &args.set {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .with_context(|| format!("--set '{pair}': expected key=value"))?;
        props.set(key.trim(), value.trim().to_owned());
    }
    if let Some(addr) = &args.namesrv_addr {
        props.set("namesrvAddr", addr.clone());
    }
    let config = BrokerConfig::from_properties(props)?;
    if args.print_config {
        for (k, v) in &config.display {
            println!("{k}={v}");
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let restart = runtime.block_on(async move {
        let listeners = bind(&config).await.with_context(|| {
            format!("cannot listen on {}:{}", config.network.bind_address, config.network.listen_port)
        })?;
        let broker = Broker::open(config.clone()).context("cannot start the broker")?;
        let shutdown = rmq_remoting::rpc::signal::termination().context("cannot install signal handlers")?;
        let accepted = broker.register_once().await;
        let boot = format!(
            "The broker[{}, {}] boot success. serializeType=JSON and name server is {} (registered with {} of {})",
            config.broker_name,
            config.broker_addr(),
            config.network.namesrv_addrs.join(";"),
            accepted,
            config.network.namesrv_addrs.len()
        );
        // Apache's line, which scripts wait for; a log event when stdout carries JSON logs.
        if json_logs {
            tracing::info!("{boot}");
        } else {
            println!("{boot}");
        }
        let restart = Arc::clone(&broker);
        run(broker, listeners, shutdown).await;
        Ok::<bool, anyhow::Error>(restart.restart_requested())
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if restart? {
        // Start again in place (same pid, same arguments): the store opens with the recorded cut.
        let err = std::process::Command::new(std::env::current_exe()?).args(std::env::args_os().skip(1)).exec();
        return Err(anyhow::anyhow!("cannot restart the broker: {err}"));
    }
    Ok(())
}

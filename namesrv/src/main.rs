//! `rmq-namesrv`: reads the config file, binds `bindAddress:listenPort`, serves until SIGTERM
//! or SIGINT. Logs go to stderr, filtered by `RUST_LOG` (default `info`).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use rmq_namesrv::config::{log_unused_keys, NamesrvConfig};
use rmq_namesrv::Namesrv;
use rmq_remoting::config::Properties;
use rmq_remoting::rpc::tls::{TlsServer, TlsSettings};
use rmq_remoting::rpc::ServerConfig;
use tracing::info;
use tracing_subscriber::EnvFilter;

// mimalloc instead of the system allocator: requests, headers and properties allocate many small
// short-lived strings, and glibc's malloc/free took ~20% of the broker's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A RocketMQ-compatible NameServer.
#[derive(Debug, Parser)]
#[command(name = "rmq-namesrv", version)]
struct Args {
    /// Properties file with NameServer settings (Apache namesrv keys, e.g. listenPort=9876).
    #[arg(short = 'c', long = "config-file", value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// One `key=value` over the file, repeatable (what only the launcher knows, e.g.
    /// `--set bindAddress=$(POD_IP)`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "print-config")]
    print_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    // RMQ_LOG_FORMAT=json: one JSON object per line, for log collectors; RUST_LOG filters.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    if std::env::var("RMQ_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
    match serve(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmq-namesrv: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut props = match &args.config_file {
        Some(path) => Properties::load(path)?,
        None => Properties::default(),
    };
    for pair in &args.set {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .with_context(|| format!("--set '{pair}': expected key=value"))?;
        props.set(key.trim(), value.trim().to_owned());
    }
    let config = NamesrvConfig::from_properties(&mut props)?;
    let tls = TlsServer::new(&TlsSettings::load(&mut props)?)?;
    let server_config = ServerConfig { tls, ..ServerConfig::load(&mut props)? };
    log_unused_keys(&props);
    if args.print_config {
        print!("{}", config.to_properties_text());
        return Ok(());
    }
    let listener = async {
        let addr = tokio::net::lookup_host((config.bind_address.as_str(), config.listen_port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
        rmq_remoting::rpc::listen(addr)
    }
    .await
    .with_context(|| format!("cannot listen on {}:{}", config.bind_address, config.listen_port))?;
    let metrics_listener = rmq_namesrv::metrics::http::bind(&config).await;
    let address_listener = rmq_namesrv::address_server::bind(&config).await.with_context(|| {
        format!("cannot serve the address list on {}:{}", config.bind_address, config.address_server_port)
    })?;
    let addresses = address_listener.map(|l| rmq_namesrv::address_server::spawn(l, &config));
    let namesrv = Arc::new(Namesrv::new(config)?);
    info!(kv = %namesrv.config().kv_config_path.display(), "KV config loaded");
    let local = listener.local_addr()?;
    let shutdown = rmq_remoting::rpc::signal::termination().context("cannot install signal handlers")?;
    println!("The Name Server boot success. listening on {local}");
    let http = metrics_listener.map(|l| rmq_namesrv::metrics::http::spawn(l, Arc::clone(&namesrv)));
    rmq_namesrv::serve(listener, namesrv, server_config, shutdown).await;
    for task in http.into_iter().chain(addresses) {
        task.abort();
    }
    info!("The Name Server shut down");
    Ok(())
}

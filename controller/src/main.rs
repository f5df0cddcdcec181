//! `rmq-controller`: watches the broker groups given with `--group`, serves the controller's
//! gRPC API on `--listen`, and elects among the replicas given with `--peer`. Stops on SIGTERM
//! or SIGINT. Logs go to stderr, filtered by `RUST_LOG` (default `info`); `RMQ_LOG_FORMAT=json`
//! writes one JSON object per line.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use rmq_admin_api::v1::failover_controller_server::FailoverControllerServer;
use rmq_controller::config::{ControllerConfig, GroupConfig};
use rmq_controller::service::Service;
use rmq_controller::Controller;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tracing::info;
use tracing_subscriber::EnvFilter;

/// rmq's failover controller for master/slave broker groups.
#[derive(Debug, Parser)]
#[command(name = "rmq-controller", version)]
struct Args {
    /// Where the controller's gRPC API listens.
    #[arg(long, env = "RMQ_CONTROLLER_LISTEN", default_value = "0.0.0.0:9880")]
    listen: String,
    /// This replica's id; the lowest id among the live replicas acts.
    #[arg(long, env = "RMQ_CONTROLLER_ID", default_value_t = 0)]
    id: u32,
    /// Another replica's gRPC address (repeat, or separate with commas).
    #[arg(long = "peer", env = "RMQ_CONTROLLER_PEERS", value_delimiter = ',')]
    peers: Vec<String>,
    /// A group to watch: `<brokerName>=<admin addr>,<admin addr>,...`, the members' gRPC admin
    /// addresses (`grpcAdminPort`). Repeat for more groups.
    #[arg(long = "group", required = true)]
    groups: Vec<GroupConfig>,
    /// Milliseconds a group may have no reachable master before a failover.
    #[arg(long, env = "RMQ_CONTROLLER_FAILOVER_AFTER_MS", default_value_t = 2_000)]
    failover_after_ms: u64,
    /// The brokers' `fencingLease` in milliseconds (must be shorter than the failover timeout).
    #[arg(long, env = "RMQ_CONTROLLER_FENCING_LEASE_MS", default_value_t = 1_000)]
    fencing_lease_ms: u64,
    /// Milliseconds between two polls of a group.
    #[arg(long, default_value_t = 250)]
    tick_ms: u64,
    /// Milliseconds a switchover waits for the slave to catch up.
    #[arg(long, default_value_t = 10_000)]
    catch_up_timeout_ms: u64,
    #[command(flatten)]
    admin_tls: rmq_admin_api::connect::ClientTlsArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
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
            eprintln!("rmq-controller: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = ControllerConfig {
        id: args.id,
        peers: args.peers.into_iter().filter(|p| !p.trim().is_empty()).collect(),
        groups: args.groups,
        failover_after: Duration::from_millis(args.failover_after_ms),
        fencing_lease: Duration::from_millis(args.fencing_lease_ms),
        tick: Duration::from_millis(args.tick_ms.max(10)),
        catch_up_timeout: Duration::from_millis(args.catch_up_timeout_ms),
        admin_tls: args.admin_tls.into_client_tls().map_err(anyhow::Error::msg)?,
        ..ControllerConfig::default()
    };
    let controller = Arc::new(Controller::new(config).map_err(anyhow::Error::msg)?);
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let shutdown = rmq_remoting::rpc::signal::termination().context("cannot install signal handlers")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(Arc::clone(&controller).run(stop_rx.clone()));
    let mut stopped = stop_rx.clone();
    let server = tonic::transport::Server::builder()
        .add_service(FailoverControllerServer::new(Service::new(Arc::clone(&controller))))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
    let server = tokio::spawn(server);
    let groups: Vec<&str> = controller.groups().iter().map(|g| g.name.as_str()).collect();
    info!(%local, id = controller.election().id(), ?groups, "controller started");
    println!("The controller boot success. listening on {local}");
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = running.await;
    server.await.context("server task")?.context("gRPC server")?;
    info!("the controller shut down");
    Ok(())
}

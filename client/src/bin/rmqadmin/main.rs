//! `rmqadmin`: the admin CLI of rmq and Apache RocketMQ (what `mqadmin` does, with JSON output).
//! Thin: argument parsing here, one file per command family, all work in `rmq_client::admin`.

mod cluster;
mod consumer;
mod message;
mod output;
mod replication;
mod time;
mod topic;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rmq_client::admin::{Admin, AdminError, ErrorKind};
use rmq_client::ClientError;

use output::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the server refused the request, or the operation failed
  2  usage error (bad arguments, no NameServer address)
  3  not found (cluster, topic, consumer group or message)
  4  cannot reach the NameServer or broker (connection refused, timeout)

Logs go to stderr, only when RUST_LOG is set (e.g. RUST_LOG=debug).";

/// Administers a RocketMQ cluster (rmq or Apache RocketMQ 4.x/5.x) over the remoting protocol.
#[derive(Debug, Parser)]
#[command(name = "rmqadmin", version, after_help = EXIT_CODES)]
struct Cli {
    /// NameServer address(es), `host:port[;host:port]`.
    #[arg(short = 'n', long = "namesrv", global = true, env = "NAMESRV_ADDR")]
    namesrv: Option<String>,
    /// Timeout of each request, in ms (or with a unit: 500ms, 3s).
    #[arg(long, global = true, default_value = "3000", value_parser = time::parse_timeout)]
    timeout: Duration,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// ACL access key: requests are signed as the Java client's `AclClientRPCHook` signs them.
    #[arg(long, global = true, env = "RMQ_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,
    /// ACL secret key of `--access-key`.
    #[arg(long, global = true, env = "RMQ_SECRET_KEY", hide_env_values = true, requires = "access_key")]
    secret_key: Option<String>,
    /// Talk to NameServers and brokers over TLS, accepting any server certificate (the Java
    /// client's default test mode); with --tls-ca, verify them.
    #[arg(long, global = true, env = "RMQ_TLS")]
    tls: bool,
    /// Verify that servers' TLS certificates chain to this CA (PEM), not their names: brokers
    /// are reached at the addresses they register, often IPs (Apache's
    /// `tls.client.authServer`); implies --tls.
    #[arg(long, global = true, env = "RMQ_TLS_CA")]
    tls_ca: Option<std::path::PathBuf>,
    #[command(flatten)]
    admin_tls: rmq_admin_api::connect::ClientTlsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Clusters and their brokers.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Topics: create, update, delete, list, route, status.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// One broker's runtime statistics or configuration.
    #[command(subcommand)]
    Broker(cluster::BrokerCommand),
    /// Consumer groups: progress and connections.
    #[command(subcommand)]
    Consumer(consumer::ConsumerCommand),
    /// Messages: query, send, consume.
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// Consumer offsets.
    #[command(subcommand)]
    Offset(consumer::OffsetCommand),
    /// Replication and failover over gRPC: a broker's status, promote, follow, fence; a failover
    /// controller's groups and switchover.
    #[command(subcommand)]
    Replication(replication::ReplicationCommand),
}

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

/// Exit code: the server refused or the operation failed.
const EXIT_FAILED: u8 = 1;
/// Exit code: usage error.
const EXIT_USAGE: u8 = 2;
/// Exit code: not found.
const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: NameServer or broker unreachable.
const EXIT_UNREACHABLE: u8 = 4;

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure { code: EXIT_USAGE, message: message.into() }
    }

    /// A failed operation (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Failure { code: EXIT_FAILED, message: message.into() }
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        let code = match e.kind() {
            ErrorKind::Invalid => EXIT_USAGE,
            ErrorKind::NotFound => EXIT_NOT_FOUND,
            ErrorKind::Unreachable => EXIT_UNREACHABLE,
            ErrorKind::Refused => EXIT_FAILED,
        };
        Failure { code, message: e.to_string() }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        AdminError::from(e).into()
    }
}

/// What every command gets: the parsed global options.
pub struct Context {
    namesrv: String,
    timeout: Duration,
    output: Format,
    credentials: Option<rmq_client::Credentials>,
    /// TLS towards NameServers and brokers.
    tls: Option<rmq_client::ClientTls>,
    /// Mutual TLS towards brokers' gRPC admin ports.
    admin_tls: Option<rmq_admin_api::connect::ClientTls>,
}

impl Context {
    /// An admin client for the NameServers.
    pub async fn admin(&self) -> Result<Admin, Failure> {
        let builder = Admin::builder().name_server(self.namesrv.clone()).timeout(self.timeout);
        let builder = match &self.credentials {
            Some(credentials) => builder.credentials(credentials.clone()),
            None => builder,
        };
        let builder = match &self.tls {
            Some(tls) => builder.tls(tls.clone()),
            None => builder,
        };
        Ok(builder.build().await?)
    }

    /// Prints a result in the chosen format.
    pub fn emit<T: output::Render + ?Sized>(&self, value: &T) {
        output::emit(self.output, value);
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Replication(c) = cli.command {
        let admin_tls = cli.admin_tls.into_client_tls().map_err(Failure::usage)?;
        let ctx = Context {
            namesrv: String::new(),
            timeout: cli.timeout,
            output: cli.output,
            credentials: None,
            tls: None,
            admin_tls,
        };
        return replication::run(&ctx, c).await;
    }
    let namesrv = cli
        .namesrv
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Failure::usage("no NameServer address: pass -n host:port (or set NAMESRV_ADDR)"))?;
    let credentials = cli.access_key.zip(cli.secret_key).map(|(ak, sk)| rmq_client::Credentials::new(ak, sk));
    let admin_tls = cli.admin_tls.into_client_tls().map_err(Failure::usage)?;
    let tls = match (&cli.tls_ca, cli.tls) {
        (Some(ca), _) => {
            let pem = std::fs::read(ca).map_err(|e| Failure::usage(format!("--tls-ca {}: {e}", ca.display())))?;
            Some(rmq_client::ClientTls::trusting_ca_only(&pem).map_err(|e| Failure::usage(e.to_string()))?)
        }
        (None, true) => Some(rmq_client::ClientTls::insecure()),
        (None, false) => None,
    };
    let ctx = Context { namesrv, timeout: cli.timeout, output: cli.output, credentials, tls, admin_tls };
    match cli.command {
        Command::Cluster(c) => cluster::run_cluster(&ctx, c).await,
        Command::Topic(c) => topic::run(&ctx, c).await,
        Command::Broker(c) => cluster::run_broker(&ctx, c).await,
        Command::Consumer(c) => consumer::run_consumer(&ctx, c).await,
        Command::Message(c) => message::run(&ctx, c).await,
        Command::Offset(c) => consumer::run_offset(&ctx, c).await,
        Command::Replication(c) => replication::run(&ctx, c).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rmqadmin: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("rmqadmin: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("3  not found"), "{help}");
        assert!(help.contains("4  cannot reach"), "{help}");
    }

    #[test]
    fn errors_map_to_exit_codes() {
        assert_eq!(Failure::from(AdminError::NotFound("x".into())).code, EXIT_NOT_FOUND);
        let unreachable = ClientError::NameServerUnreachable { addrs: "a:1".into(), last_error: "refused".into() };
        assert_eq!(Failure::from(unreachable).code, EXIT_UNREACHABLE);
        assert_eq!(Failure::from(ClientError::TopicNotFound("t".into())).code, EXIT_NOT_FOUND);
        let refused = ClientError::Broker {
            addr: "b:1".into(),
            code: rmq_remoting::ResponseCode::SystemError,
            remark: "no".into(),
        };
        assert_eq!(Failure::from(refused).code, EXIT_FAILED);
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli =
            Cli::try_parse_from(["rmqadmin", "topic", "list", "-n", "h:1", "--output", "json", "--timeout", "2s"])
                .expect("parses");
        assert_eq!(cli.namesrv.as_deref(), Some("h:1"));
        assert_eq!(cli.output, Format::Json);
        assert_eq!(cli.timeout, Duration::from_secs(2));
    }
}

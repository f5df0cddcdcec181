//! `replication …`: a broker's gRPC admin API (`grpcAdminPort`: status, promote, follow,
//! fence) and the failover controller's (`rmq-controller`: groups, switchover). No NameServer
//! is needed; each command names the address it calls.

use clap::Subcommand;
use rmq_admin_api::v1::failover_controller_client::FailoverControllerClient;
use rmq_admin_api::v1::replication_admin_client::ReplicationAdminClient;
use rmq_admin_api::v1::{FenceRequest, FollowRequest, GroupsRequest, PromoteRequest, StatusRequest, SwitchoverRequest};
use serde::Serialize;
use std::time::Duration;

use rmq_admin_api::connect::ClientTls;
use tonic::transport::Channel;
use tonic::Code;

use crate::output::{fields, Render, Table};
use crate::{Context, Failure, EXIT_FAILED, EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_USAGE};

/// `rmqadmin replication …`
#[derive(Debug, Subcommand)]
pub enum ReplicationCommand {
    /// A broker's role, BrokerId, epoch, CommitLog offsets and, on a master, each slave's lag.
    Status {
        /// The broker's gRPC admin address (`host:grpcAdminPort`).
        #[arg(short = 'a', long)]
        admin: String,
    },
    /// Makes a slave the master under a higher epoch.
    Promote {
        /// The slave's gRPC admin address.
        #[arg(short = 'a', long)]
        admin: String,
        /// The new epoch (above the one the broker knows, or the one a fence gave it).
        #[arg(long)]
        epoch: u64,
        /// The highest acknowledged offset of the group: a slave ending before it is refused.
        #[arg(long, default_value_t = 0)]
        min_offset: i64,
        /// Promote a lagging slave anyway, losing what it lacks.
        #[arg(long)]
        force: bool,
    },
    /// Makes a broker a slave of another master.
    Follow {
        /// The broker's gRPC admin address.
        #[arg(short = 'a', long)]
        admin: String,
        /// The master's epoch.
        #[arg(long)]
        epoch: u64,
        /// The BrokerId to take (> 0).
        #[arg(long)]
        broker_id: i64,
        /// The master's remoting address.
        #[arg(long)]
        master_addr: String,
        /// The master's HA address.
        #[arg(long)]
        master_ha_addr: String,
        /// Where the master's epoch starts in its CommitLog.
        #[arg(long, default_value_t = 0)]
        master_start_offset: i64,
    },
    /// Makes a broker accept a higher epoch: it confirms no older master, and a master stops writing.
    Fence {
        /// The broker's gRPC admin address.
        #[arg(short = 'a', long)]
        admin: String,
        /// The new epoch.
        #[arg(long)]
        epoch: u64,
    },
    /// The groups a failover controller watches.
    Groups {
        /// The controller's gRPC address.
        #[arg(long)]
        controller: String,
    },
    /// Hands a group's mastership to a slave with nothing acknowledged lost.
    Switchover {
        /// The controller's gRPC address (its leader).
        #[arg(long)]
        controller: String,
        /// The group (`brokerName`).
        #[arg(short = 'g', long)]
        group: String,
        /// The slave to promote; -1 picks the most caught-up one.
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        broker_id: i64,
    },
}

/// The longest a switchover call may take, far above any controller's catch-up timeout.
const SWITCHOVER_CALL_LIMIT: Duration = Duration::from_secs(600);

/// A channel to a broker's admin port (over mutual TLS with `--admin-tls-*`) or, without
/// `tls`, to a controller.
fn channel(addr: &str, tls: Option<&ClientTls>, timeout: Duration) -> Result<Channel, Failure> {
    rmq_admin_api::connect::channel(addr, tls, timeout).map_err(Failure::usage)
}

/// A gRPC status as an exit code and message.
fn failure(addr: &str, status: &tonic::Status) -> Failure {
    let code = match status.code() {
        Code::NotFound => EXIT_NOT_FOUND,
        Code::InvalidArgument => EXIT_USAGE,
        Code::Unavailable => EXIT_UNREACHABLE,
        _ => EXIT_FAILED,
    };
    Failure { code, message: format!("{addr}: {} ({:?})", status.message(), status.code()) }
}

/// Runs a `replication` command.
pub async fn run(ctx: &Context, command: ReplicationCommand) -> Result<(), Failure> {
    let timeout = ctx.timeout;
    match command {
        ReplicationCommand::Status { admin } => {
            let mut client = ReplicationAdminClient::new(channel(&admin, ctx.admin_tls.as_ref(), timeout)?);
            let call = tokio::time::timeout(timeout, client.status(StatusRequest {}));
            let s = call.await.map_err(|_| unreachable(&admin))?.map_err(|e| failure(&admin, &e))?.into_inner();
            let slaves = s
                .slaves
                .into_iter()
                .map(|l| SlaveView {
                    addr: l.addr,
                    acked_offset: l.acked_offset,
                    lag_bytes: l.lag_bytes,
                    in_sync: l.in_sync,
                    last_report_ms_ago: l.last_report_ms_ago,
                })
                .collect();
            ctx.emit(&StatusView {
                broker_name: s.broker_name,
                broker_id: s.broker_id,
                role: s.role,
                epoch: s.epoch,
                addr: s.addr,
                min_offset: s.min_offset,
                max_offset: s.max_offset,
                writable: s.writable,
                fenced: s.fenced,
                in_sync_replicas: s.in_sync_replicas,
                master_addr: s.master_addr,
                receiving: s.receiving,
                slaves,
            });
        }
        ReplicationCommand::Promote { admin, epoch, min_offset, force } => {
            let mut client = ReplicationAdminClient::new(channel(&admin, ctx.admin_tls.as_ref(), timeout)?);
            let call = tokio::time::timeout(timeout, client.promote(PromoteRequest { epoch, min_offset, force }));
            let r = call.await.map_err(|_| unreachable(&admin))?.map_err(|e| failure(&admin, &e))?.into_inner();
            ctx.emit(&Outcome(vec![
                ("promoted", admin),
                ("epoch", r.epoch.to_string()),
                ("role", r.role),
                ("maxOffset", r.max_offset.to_string()),
            ]));
        }
        ReplicationCommand::Follow { admin, epoch, broker_id, master_addr, master_ha_addr, master_start_offset } => {
            let mut client = ReplicationAdminClient::new(channel(&admin, ctx.admin_tls.as_ref(), timeout)?);
            let request = FollowRequest { epoch, broker_id, master_addr, master_ha_addr, master_start_offset };
            let call = tokio::time::timeout(timeout, client.follow(request));
            let r = call.await.map_err(|_| unreachable(&admin))?.map_err(|e| failure(&admin, &e))?.into_inner();
            ctx.emit(&Outcome(vec![("following", admin), ("restarting", r.restarting.to_string())]));
        }
        ReplicationCommand::Fence { admin, epoch } => {
            let mut client = ReplicationAdminClient::new(channel(&admin, ctx.admin_tls.as_ref(), timeout)?);
            let call = tokio::time::timeout(timeout, client.fence(FenceRequest { epoch }));
            let r = call.await.map_err(|_| unreachable(&admin))?.map_err(|e| failure(&admin, &e))?.into_inner();
            ctx.emit(&Outcome(vec![
                ("fenced", admin),
                ("epoch", r.epoch.to_string()),
                ("role", r.role),
                ("maxOffset", r.max_offset.to_string()),
            ]));
        }
        ReplicationCommand::Groups { controller } => {
            let mut client = FailoverControllerClient::new(channel(&controller, None, timeout)?);
            let call = tokio::time::timeout(timeout, client.groups(GroupsRequest {}));
            let r = call.await.map_err(|_| unreachable(&controller))?.map_err(|e| failure(&controller, &e))?;
            let groups = r.into_inner().groups;
            let rows = groups
                .into_iter()
                .flat_map(|g| {
                    let (name, master) = (g.name, g.master);
                    g.members.into_iter().map(move |m| MemberView {
                        group: name.clone(),
                        master: m.admin_addr == master,
                        admin: m.admin_addr,
                        reachable: m.reachable,
                        role: m.role,
                        broker_id: m.broker_id,
                        epoch: m.epoch,
                        max_offset: m.max_offset,
                    })
                })
                .collect::<Vec<_>>();
            ctx.emit(&rows);
        }
        ReplicationCommand::Switchover { controller, group, broker_id } => {
            // The switchover waits for the slave to catch up (the controller's own limit): the
            // call gets far longer than --timeout, which would cut it off while it goes on.
            let mut client = FailoverControllerClient::new(channel(&controller, None, SWITCHOVER_CALL_LIMIT)?);
            let r = client
                .switchover(SwitchoverRequest { group: group.clone(), broker_id })
                .await
                .map_err(|e| failure(&controller, &e))?
                .into_inner();
            ctx.emit(&Outcome(vec![("group", group), ("epoch", r.epoch.to_string()), ("master", r.master)]));
        }
    }
    Ok(())
}

fn unreachable(addr: &str) -> Failure {
    Failure { code: EXIT_UNREACHABLE, message: format!("{addr}: no answer in time") }
}

/// Named values of one outcome (a JSON object in field order).
struct Outcome(Vec<(&'static str, String)>);

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Render for Outcome {
    fn table(&self) -> String {
        fields(self.0.iter().map(|(k, v)| (*k, v.clone())))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusView {
    broker_name: String,
    broker_id: i64,
    role: String,
    epoch: u64,
    addr: String,
    min_offset: i64,
    max_offset: i64,
    writable: bool,
    fenced: bool,
    in_sync_replicas: u32,
    master_addr: String,
    receiving: bool,
    slaves: Vec<SlaveView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SlaveView {
    addr: String,
    acked_offset: i64,
    lag_bytes: i64,
    in_sync: bool,
    last_report_ms_ago: u64,
}

impl Render for StatusView {
    fn table(&self) -> String {
        let mut out = fields([
            ("broker", format!("{} (BrokerId {})", self.broker_name, self.broker_id)),
            ("role", self.role.clone()),
            ("epoch", self.epoch.to_string()),
            ("addr", self.addr.clone()),
            ("offsets", format!("{}..{}", self.min_offset, self.max_offset)),
            ("writable", self.writable.to_string()),
            ("fenced", self.fenced.to_string()),
        ]);
        if self.role == "SLAVE" {
            out += &fields([("master", self.master_addr.clone()), ("receiving", self.receiving.to_string())]);
        } else {
            out += &fields([("in-sync replicas", self.in_sync_replicas.to_string())]);
            let mut t = Table::new(["SLAVE", "ACKED", "LAG BYTES", "IN SYNC", "LAST REPORT MS"]);
            for s in &self.slaves {
                t.row([
                    s.addr.clone(),
                    s.acked_offset.to_string(),
                    s.lag_bytes.to_string(),
                    s.in_sync.to_string(),
                    s.last_report_ms_ago.to_string(),
                ]);
            }
            out += &t.render();
        }
        out
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
    group: String,
    admin: String,
    reachable: bool,
    master: bool,
    role: String,
    broker_id: i64,
    epoch: u64,
    max_offset: i64,
}

impl Render for Vec<MemberView> {
    fn table(&self) -> String {
        let mut t = Table::new(["GROUP", "ADMIN ADDR", "REACHABLE", "MASTER", "ROLE", "ID", "EPOCH", "MAX OFFSET"]);
        for m in self {
            t.row([
                m.group.clone(),
                m.admin.clone(),
                m.reachable.to_string(),
                m.master.to_string(),
                m.role.clone(),
                m.broker_id.to_string(),
                m.epoch.to_string(),
                m.max_offset.to_string(),
            ]);
        }
        t.render()
    }
}

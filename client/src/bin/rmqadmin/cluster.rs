//! `cluster list`, `broker status` and `broker config`.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use rmq_client::admin::ClusterBroker;
use serde::Serialize;

use crate::output::{Render, Table};
use crate::{Context, Failure};

/// `rmqadmin cluster …`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Lists every broker of every cluster (or of one), with version and TPS.
    List {
        /// Only this cluster.
        #[arg(short = 'c', long)]
        cluster: Option<String>,
    },
}

/// `rmqadmin broker …`
#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Runtime statistics of a broker (or of every broker of a cluster).
    Status(BrokerSelector),
    /// Configuration of a broker (or of every master of a cluster).
    Config(BrokerSelector),
}

/// Which brokers a `broker` command asks.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct BrokerSelector {
    /// Broker address, `ip:port`.
    #[arg(short = 'b', long)]
    broker: Option<String>,
    /// Every broker of this cluster (`status`) / every master (`config`).
    #[arg(short = 'c', long)]
    cluster: Option<String>,
}

pub async fn run_cluster(ctx: &Context, cmd: ClusterCommand) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    match cmd {
        ClusterCommand::List { cluster } => ctx.emit(&admin.cluster_list(cluster.as_deref()).await?),
    }
    Ok(())
}

pub async fn run_broker(ctx: &Context, cmd: BrokerCommand) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    let (selector, config) = match cmd {
        BrokerCommand::Status(s) => (s, false),
        BrokerCommand::Config(s) => (s, true),
    };
    let addrs = match (selector.broker, selector.cluster) {
        (Some(b), _) => vec![b],
        (None, Some(c)) if config => admin.cluster_master_addrs(&c).await?,
        (None, Some(c)) => admin.cluster_list(Some(&c)).await?.into_iter().map(|b| b.addr).collect(),
        (None, None) => return Err(Failure::usage("pass --broker or --cluster")),
    };
    let mut result = BrokerTables(BTreeMap::new());
    for addr in addrs {
        let table = if config { admin.broker_config(&addr).await? } else { admin.broker_status(&addr).await? };
        result.0.insert(addr, table);
    }
    if result.0.len() == 1 {
        // One broker: a flat `key: value` document.
        let only = result.0.into_values().next().unwrap_or_default();
        ctx.emit(&KeyValues(only));
    } else {
        ctx.emit(&result);
    }
    Ok(())
}

impl Render for Vec<ClusterBroker> {
    fn table(&self) -> String {
        let mut t = Table::new(["CLUSTER", "BROKER", "ID", "ADDR", "VERSION", "IN TPS", "OUT TPS", "ACTIVE"]);
        for b in self {
            let tps = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
            let version = match (&b.version, &b.error) {
                (Some(v), _) => v.clone(),
                (None, Some(_)) => "unavailable".to_owned(),
                (None, None) => String::new(),
            };
            let active = b.active.map(|a| a.to_string()).unwrap_or_default();
            t.row([
                b.cluster.clone(),
                b.broker_name.clone(),
                b.broker_id.to_string(),
                b.addr.clone(),
                version,
                tps(b.in_tps),
                tps(b.out_tps),
                active,
            ]);
        }
        t.render()
    }
}

/// One broker's statistics or configuration.
#[derive(Serialize)]
#[serde(transparent)]
struct KeyValues(BTreeMap<String, String>);

impl Render for KeyValues {
    fn table(&self) -> String {
        let width = self.0.keys().map(String::len).max().unwrap_or(0);
        self.0.iter().map(|(k, v)| format!("{k:<width$} = {v}\n")).collect()
    }
}

/// Several brokers' tables, by address.
#[derive(Serialize)]
#[serde(transparent)]
struct BrokerTables(BTreeMap<String, BTreeMap<String, String>>);

impl Render for BrokerTables {
    fn table(&self) -> String {
        let mut t = Table::new(["BROKER", "KEY", "VALUE"]);
        for (addr, table) in &self.0 {
            for (k, v) in table {
                t.row([addr.as_str(), k.as_str(), v.as_str()]);
            }
        }
        t.render()
    }
}

//! `topic create|update|delete|list|route|status`.

use clap::{Args, Subcommand};
use rmq_client::admin::{QueueStatus, TopicDeletion, TopicSpec, TopicTarget};
use rmq_remoting::protocol::body::TopicRouteData;
use serde::Serialize;

use crate::output::{fields, Render, Table};
use crate::time::format_ms;
use crate::{Context, Failure};

/// `rmqadmin topic …`
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Creates a topic on every master of a cluster, or on one broker.
    Create(TopicArgs),
    /// Changes an existing topic; options not given keep their current value.
    Update(TopicArgs),
    /// Deletes a topic from the brokers and the NameServers.
    Delete {
        /// Topic.
        #[arg(short = 't', long)]
        topic: String,
        /// Delete from every master of this cluster (default: the brokers of the topic's route).
        #[arg(short = 'c', long)]
        cluster: Option<String>,
    },
    /// Lists every topic the NameServers know.
    List,
    /// Shows a topic's route: brokers, addresses and queues.
    Route {
        /// Topic.
        #[arg(short = 't', long)]
        topic: String,
    },
    /// Shows each queue's min and max offset and last update time.
    Status {
        /// Topic.
        #[arg(short = 't', long)]
        topic: String,
    },
}

/// Options of `topic create` / `topic update`.
#[derive(Debug, Args)]
pub struct TopicArgs {
    /// Topic.
    #[arg(short = 't', long)]
    topic: String,
    /// Every master of this cluster.
    #[arg(short = 'c', long, required_unless_present = "broker", conflicts_with = "broker")]
    cluster: Option<String>,
    /// The broker at this address (`ip:port`).
    #[arg(short = 'b', long)]
    broker: Option<String>,
    /// Read and write queues per broker (default 8 on create).
    #[arg(short = 'q', long)]
    queues: Option<i32>,
    /// Read queues per broker (overrides --queues).
    #[arg(short = 'r', long)]
    read_queues: Option<i32>,
    /// Write queues per broker (overrides --queues).
    #[arg(short = 'w', long)]
    write_queues: Option<i32>,
    /// Permission: 2 write-only, 4 read-only, 6 read-write (default 6 on create).
    #[arg(short = 'p', long, value_parser = clap::value_parser!(i32).range(0..=7))]
    perm: Option<i32>,
    /// Ordered topic.
    #[arg(short = 'o', long)]
    order: Option<bool>,
}

/// What `topic create|update` changed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicChange {
    #[serde(flatten)]
    spec: TopicSpec,
    brokers: Vec<String>,
}

pub async fn run(ctx: &Context, cmd: TopicCommand) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    match cmd {
        TopicCommand::Create(args) => {
            let spec = apply(TopicSpec::new(&args.topic), &args)?;
            let brokers = admin.create_topic(&spec, &target(&args)).await?;
            ctx.emit(&TopicChange { spec, brokers });
        }
        TopicCommand::Update(args) => {
            let spec = apply(admin.topic_spec(&args.topic).await?, &args)?;
            let brokers = admin.create_topic(&spec, &target(&args)).await?;
            ctx.emit(&TopicChange { spec, brokers });
        }
        TopicCommand::Delete { topic, cluster } => ctx.emit(&admin.delete_topic(&topic, cluster.as_deref()).await?),
        TopicCommand::List => ctx.emit(&TopicNames(admin.topic_list().await?)),
        TopicCommand::Route { topic } => ctx.emit(&Route(admin.topic_route(&topic).await?)),
        TopicCommand::Status { topic } => ctx.emit(&admin.topic_status(&topic).await?),
    }
    Ok(())
}

fn target(args: &TopicArgs) -> TopicTarget {
    match (&args.broker, &args.cluster) {
        (Some(b), _) => TopicTarget::Broker(b.clone()),
        (None, c) => TopicTarget::Cluster(c.clone().unwrap_or_default()),
    }
}

/// `spec` with the options given on the command line applied.
fn apply(mut spec: TopicSpec, args: &TopicArgs) -> Result<TopicSpec, Failure> {
    if let Some(q) = args.queues {
        spec.read_queues = q;
        spec.write_queues = q;
    }
    spec.read_queues = args.read_queues.unwrap_or(spec.read_queues);
    spec.write_queues = args.write_queues.unwrap_or(spec.write_queues);
    spec.perm = args.perm.unwrap_or(spec.perm);
    spec.order = args.order.unwrap_or(spec.order);
    if spec.read_queues <= 0 || spec.write_queues <= 0 {
        return Err(Failure::usage("queue counts must be positive"));
    }
    Ok(spec)
}

impl Render for TopicChange {
    fn table(&self) -> String {
        fields([
            ("Topic", self.spec.topic.clone()),
            ("Read queues", self.spec.read_queues.to_string()),
            ("Write queues", self.spec.write_queues.to_string()),
            ("Perm", self.spec.perm.to_string()),
            ("Order", self.spec.order.to_string()),
            ("Brokers", self.brokers.join(", ")),
        ])
    }
}

impl Render for TopicDeletion {
    fn table(&self) -> String {
        fields([
            ("Deleted topic", self.topic.clone()),
            ("Brokers", self.brokers.join(", ")),
            ("NameServers", self.name_servers.join(", ")),
        ])
    }
}

/// Topic names, one per line.
#[derive(Serialize)]
#[serde(transparent)]
struct TopicNames(Vec<String>);

impl Render for TopicNames {
    fn table(&self) -> String {
        self.0.iter().map(|t| format!("{t}\n")).collect()
    }
}

/// A route: the NameServer's JSON as is, or two tables.
#[derive(Serialize)]
#[serde(transparent)]
struct Route(TopicRouteData);

impl Render for Route {
    fn table(&self) -> String {
        let mut brokers = Table::new(["BROKER", "CLUSTER", "ID", "ADDR"]);
        let mut datas = self.0.broker_datas.clone();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for b in &datas {
            for (id, addr) in &b.broker_addrs {
                brokers.row([b.broker_name.clone(), b.cluster.clone(), id.to_string(), addr.clone()]);
            }
        }
        let mut queues = Table::new(["BROKER", "READ QUEUES", "WRITE QUEUES", "PERM"]);
        let mut qs = self.0.queue_datas.clone();
        qs.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for q in &qs {
            queues.row([
                q.broker_name.clone(),
                q.read_queue_nums.to_string(),
                q.write_queue_nums.to_string(),
                q.perm.to_string(),
            ]);
        }
        let mut out = brokers.render();
        out.push('\n');
        out.push_str(&queues.render());
        if let Some(conf) = self.0.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            out.push_str(&format!("\nOrder config: {conf}\n"));
        }
        out
    }
}

impl Render for Vec<QueueStatus> {
    fn table(&self) -> String {
        let mut t = Table::new(["BROKER", "QUEUE", "MIN OFFSET", "MAX OFFSET", "LAST UPDATED"]);
        for q in self {
            t.row([
                q.broker_name.clone(),
                q.queue_id.to_string(),
                q.min_offset.to_string(),
                q.max_offset.to_string(),
                format_ms(q.last_update_timestamp),
            ]);
        }
        t.render()
    }
}

//! `consumer progress|connections` and `offset reset-by-time`.

use clap::Subcommand;
use rmq_client::admin::{ConsumerConnections, ConsumerProgress, OffsetReset};

use crate::output::{fields, Render, Table};
use crate::time::{format_ms, parse_timestamp};
use crate::{Context, Failure};

/// `rmqadmin consumer …`
#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// Per-queue broker offset, consumer offset and diff of a group, with totals.
    Progress {
        /// Consumer group.
        #[arg(short = 'g', long)]
        group: String,
        /// Only this topic.
        #[arg(short = 't', long)]
        topic: Option<String>,
    },
    /// The online clients of a group and their subscriptions.
    Connections {
        /// Consumer group.
        #[arg(short = 'g', long)]
        group: String,
    },
}

/// `rmqadmin offset …`
#[derive(Debug, Subcommand)]
pub enum OffsetCommand {
    /// Moves a group's offsets on a topic to a point in time (online consumers follow at once).
    ResetByTime {
        /// Consumer group.
        #[arg(short = 'g', long)]
        group: String,
        /// Topic.
        #[arg(short = 't', long)]
        topic: String,
        /// `now`, ms since the epoch (-1 = end of each queue), or local yyyy-MM-dd#HH:mm:ss:SSS.
        #[arg(short = 's', long, value_parser = parse_timestamp, allow_hyphen_values = true)]
        timestamp: i64,
        /// Also move offsets forward (default); `--force false` only moves them back.
        #[arg(short = 'f', long, default_value_t = true, action = clap::ArgAction::Set)]
        force: bool,
    },
}

pub async fn run_consumer(ctx: &Context, cmd: ConsumerCommand) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    match cmd {
        ConsumerCommand::Progress { group, topic } => {
            ctx.emit(&admin.consumer_progress(&group, topic.as_deref()).await?)
        }
        ConsumerCommand::Connections { group } => ctx.emit(&admin.consumer_connections(&group).await?),
    }
    Ok(())
}

pub async fn run_offset(ctx: &Context, cmd: OffsetCommand) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    match cmd {
        OffsetCommand::ResetByTime { group, topic, timestamp, force } => {
            ctx.emit(&admin.reset_offset_by_time(&group, &topic, timestamp, force).await?)
        }
    }
    Ok(())
}

impl Render for ConsumerProgress {
    fn table(&self) -> String {
        let mut t = Table::new([
            "TOPIC",
            "BROKER",
            "QUEUE",
            "BROKER OFFSET",
            "CONSUMER OFFSET",
            "DIFF",
            "INFLIGHT",
            "LAST TIME",
        ]);
        for q in &self.queues {
            t.row([
                q.topic.clone(),
                q.broker_name.clone(),
                q.queue_id.to_string(),
                q.broker_offset.to_string(),
                q.consumer_offset.to_string(),
                q.diff.to_string(),
                q.inflight.to_string(),
                format_ms(q.last_timestamp),
            ]);
        }
        let mut out = t.render();
        out.push('\n');
        out.push_str(&fields([
            ("Consume TPS", format!("{:.2}", self.consume_tps)),
            ("Diff total", self.diff_total.to_string()),
            ("Inflight total", self.inflight_total.to_string()),
        ]));
        out
    }
}

impl Render for ConsumerConnections {
    fn table(&self) -> String {
        let mut clients = Table::new(["CLIENT ID", "CLIENT ADDR", "LANGUAGE", "VERSION"]);
        for c in &self.connections {
            clients.row([c.client_id.clone(), c.client_addr.clone(), c.language.clone(), c.version.to_string()]);
        }
        let mut subs = Table::new(["TOPIC", "EXPRESSION", "TYPE"]);
        for s in &self.subscriptions {
            subs.row([s.topic.clone(), s.expression.clone(), s.expression_type.clone()]);
        }
        let mut out = clients.render();
        out.push('\n');
        out.push_str(&subs.render());
        out.push('\n');
        out.push_str(&fields([
            ("Consume type", self.consume_type.clone()),
            ("Message model", self.message_model.clone()),
            ("Consume from", self.consume_from_where.clone()),
        ]));
        out
    }
}

impl Render for OffsetReset {
    fn table(&self) -> String {
        let how = if self.applied_by_broker {
            "by the brokers (online consumers follow)"
        } else {
            "the group is offline: its committed offsets were rewritten"
        };
        let mut out = fields([
            ("Group", self.group.clone()),
            ("Topic", self.topic.clone()),
            (
                "Timestamp",
                match format_ms(self.timestamp) {
                    local if local.is_empty() => self.timestamp.to_string(),
                    local => format!("{} ({local})", self.timestamp),
                },
            ),
            ("Applied", how.to_owned()),
        ]);
        out.push('\n');
        let mut t = Table::new(["BROKER", "QUEUE", "OFFSET"]);
        for q in &self.queues {
            t.row([q.broker_name.clone(), q.queue_id.to_string(), q.offset.to_string()]);
        }
        out.push_str(&t.render());
        out
    }
}

//! `message query|send|consume`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use rmq_client::admin::{MessageView, PullStatus};
use rmq_client::{Message, MessageQueue, Producer, SendStatus};
use serde::Serialize;

use crate::output::{fields, Render, Table};
use crate::time::{format_ms, parse_timestamp};
use crate::{Context, Failure};

/// Messages one pull asks for.
const PULL_BATCH: i32 = 32;

/// `rmqadmin message …`
#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Finds messages by id, by key, or by queue offset.
    Query(QueryArgs),
    /// Sends one message.
    Send(SendArgs),
    /// Reads messages from a topic's queues without committing anything.
    Consume(ConsumeArgs),
}

/// Options of `message query`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("by").required(true).args(["id", "key", "offset"])))]
pub struct QueryArgs {
    /// Topic.
    #[arg(short = 't', long)]
    topic: String,
    /// Message id: the offset id or the producer's unique id.
    #[arg(short = 'i', long)]
    id: Option<String>,
    /// Business key.
    #[arg(short = 'k', long)]
    key: Option<String>,
    /// Queue offset (with --broker and --queue).
    #[arg(short = 'o', long, requires_all = ["broker", "queue"])]
    offset: Option<i64>,
    /// Broker name (with --offset).
    #[arg(short = 'b', long)]
    broker: Option<String>,
    /// Queue id (with --offset).
    #[arg(short = 'q', long)]
    queue: Option<i32>,
    /// Most messages per broker (with --key).
    #[arg(short = 'm', long, default_value_t = 64)]
    max: i32,
    /// Stored at or after (with --key): ms, now, or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(long, value_parser = parse_timestamp, default_value = "0")]
    begin: i64,
    /// Stored at or before (with --key).
    #[arg(long, value_parser = parse_timestamp)]
    end: Option<i64>,
}

/// Options of `message send`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("content").required(true).args(["body", "body_file"])))]
pub struct SendArgs {
    /// Topic.
    #[arg(short = 't', long)]
    topic: String,
    /// Body text.
    #[arg(long)]
    body: Option<String>,
    /// Read the body from this file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Tag.
    #[arg(long)]
    tags: Option<String>,
    /// Keys (repeat the option, or separate with spaces).
    #[arg(long)]
    keys: Vec<String>,
    /// A user property `name=value` (repeatable).
    #[arg(short = 'p', long = "property", value_parser = parse_property)]
    properties: Vec<(String, String)>,
    /// Producer group.
    #[arg(short = 'g', long, default_value = "RMQADMIN_PRODUCER")]
    group: String,
}

/// Options of `message consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topic.
    #[arg(short = 't', long)]
    topic: String,
    /// Only this broker (name).
    #[arg(short = 'b', long)]
    broker: Option<String>,
    /// Only this queue id.
    #[arg(short = 'q', long)]
    queue: Option<i32>,
    /// First offset of each queue (default: its min offset).
    #[arg(short = 'o', long)]
    offset: Option<i64>,
    /// Stop before this offset of each queue (default: its max offset).
    #[arg(short = 'e', long)]
    end_offset: Option<i64>,
    /// Most messages in all.
    #[arg(short = 'c', long, default_value_t = 32)]
    count: usize,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("invalid property '{s}': expected name=value")),
    }
}

pub async fn run(ctx: &Context, cmd: MessageCommand) -> Result<(), Failure> {
    match cmd {
        MessageCommand::Query(args) => query(ctx, args).await,
        MessageCommand::Send(args) => send(ctx, args).await,
        MessageCommand::Consume(args) => consume(ctx, args).await,
    }
}

async fn query(ctx: &Context, args: QueryArgs) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    if let Some(id) = &args.id {
        ctx.emit(&Detail(admin.query_by_id(&args.topic, id).await?));
    } else if let Some(key) = &args.key {
        let end = args.end.unwrap_or(i64::MAX);
        ctx.emit(&Listing(admin.query_by_key(&args.topic, key, args.max, args.begin, end).await?));
    } else if let (Some(offset), Some(broker), Some(queue)) = (args.offset, args.broker, args.queue) {
        let mq = MessageQueue { topic: args.topic.clone(), broker_name: broker, queue_id: queue };
        ctx.emit(&Detail(admin.query_by_offset(&mq, offset).await?));
    } else {
        return Err(Failure::usage("pass --id, --key, or --offset with --broker and --queue"));
    }
    Ok(())
}

/// What `message send` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    status: &'static str,
    msg_id: String,
    offset_msg_id: String,
    topic: String,
    broker_name: String,
    queue_id: i32,
    queue_offset: i64,
}

async fn send(ctx: &Context, args: SendArgs) -> Result<(), Failure> {
    let body = match (args.body, args.body_file) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(path)) => std::fs::read(&path)
            .map_err(|e| Failure::usage(format!("cannot read the body file {}: {e}", path.display())))?,
        (None, None) => return Err(Failure::usage("pass --body or --body-file")),
    };
    let mut msg = Message::new(args.topic, body);
    if let Some(tags) = args.tags {
        msg = msg.with_tags(tags);
    }
    let keys: Vec<&str> = args.keys.iter().flat_map(|k| k.split_whitespace()).collect();
    if !keys.is_empty() {
        msg = msg.with_keys(keys);
    }
    for (k, v) in args.properties {
        msg = msg.with_property(k, v);
    }
    let producer = Producer::builder()
        .name_server(ctx.namesrv.clone())
        .send_timeout(ctx.timeout)
        .group(args.group)
        .build()
        .await?;
    let result = producer.send(msg).await;
    producer.shutdown().await;
    let r = result?;
    let status = match r.status {
        SendStatus::SendOk => "SEND_OK",
        SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
    };
    ctx.emit(&Sent {
        status,
        msg_id: r.msg_id,
        offset_msg_id: r.offset_msg_id,
        topic: r.queue.topic,
        broker_name: r.queue.broker_name,
        queue_id: r.queue.queue_id,
        queue_offset: r.queue_offset,
    });
    Ok(())
}

async fn consume(ctx: &Context, args: ConsumeArgs) -> Result<(), Failure> {
    let admin = ctx.admin().await?;
    let queues: Vec<_> = admin
        .topic_status(&args.topic)
        .await?
        .into_iter()
        .filter(|q| args.broker.as_deref().is_none_or(|b| b == q.broker_name))
        .filter(|q| args.queue.is_none_or(|id| id == q.queue_id))
        .collect();
    if queues.is_empty() {
        return Err(Failure::from(rmq_client::admin::AdminError::NotFound(format!(
            "topic {} has no such queue",
            args.topic
        ))));
    }
    let mut out = Vec::new();
    'queues: for q in queues {
        let mq = MessageQueue { topic: args.topic.clone(), broker_name: q.broker_name.clone(), queue_id: q.queue_id };
        let end = args.end_offset.map_or(q.max_offset, |e| e.min(q.max_offset));
        let mut next = args.offset.map_or(q.min_offset, |o| o.max(q.min_offset));
        while next < end {
            if out.len() >= args.count {
                break 'queues;
            }
            let want = (args.count - out.len()).min(PULL_BATCH as usize).min(usize::try_from(end - next).unwrap_or(0));
            let batch = admin.pull(&mq, next, i32::try_from(want).unwrap_or(PULL_BATCH)).await?;
            out.extend(batch.messages.into_iter().filter(|m| m.queue_offset < end));
            match batch.status {
                PullStatus::Found | PullStatus::NoMatchedMessage if batch.next_begin_offset > next => {
                    next = batch.next_begin_offset
                }
                PullStatus::OffsetIllegal if batch.next_begin_offset > next => next = batch.next_begin_offset,
                _ => break,
            }
        }
    }
    out.truncate(args.count);
    ctx.emit(&Messages(out));
    Ok(())
}

/// One message, in full.
#[derive(Serialize)]
#[serde(transparent)]
struct Detail(MessageView);

impl Render for Detail {
    fn table(&self) -> String {
        describe(&self.0)
    }
}

fn describe(m: &MessageView) -> String {
    let mut out = fields([
        ("Topic", m.topic.clone()),
        ("Msg ID", m.msg_id.clone()),
        ("Offset Msg ID", m.offset_msg_id.clone()),
        ("Tags", m.tags.clone().unwrap_or_default()),
        ("Keys", m.keys.join(" ")),
        ("Broker", m.broker_name.clone()),
        ("Queue ID", m.queue_id.to_string()),
        ("Queue Offset", m.queue_offset.to_string()),
        ("CommitLog Offset", m.commit_log_offset.to_string()),
        ("Reconsume Times", m.reconsume_times.to_string()),
        ("Born Timestamp", format_ms(m.born_timestamp)),
        ("Store Timestamp", format_ms(m.store_timestamp)),
        ("Born Host", m.born_host.to_string()),
        ("Store Host", m.store_host.to_string()),
        ("Body Size", m.body_size.to_string()),
    ]);
    out.push_str("Properties:\n");
    for (k, v) in &m.properties {
        out.push_str(&format!("  {k}={v}\n"));
    }
    out.push_str("Body:\n");
    out.push_str(&String::from_utf8_lossy(&m.body));
    out.push('\n');
    out
}

/// Messages found by key: one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct Listing(Vec<MessageView>);

impl Render for Listing {
    fn table(&self) -> String {
        let mut t = Table::new(["MSG ID", "OFFSET MSG ID", "BROKER", "QUEUE", "OFFSET", "STORED", "TAGS", "KEYS"]);
        for m in &self.0 {
            t.row([
                m.msg_id.clone(),
                m.offset_msg_id.clone(),
                m.broker_name.clone(),
                m.queue_id.to_string(),
                m.queue_offset.to_string(),
                format_ms(m.store_timestamp),
                m.tags.clone().unwrap_or_default(),
                m.keys.join(" "),
            ]);
        }
        t.render()
    }
}

/// Consumed messages, each in full.
#[derive(Serialize)]
#[serde(transparent)]
struct Messages(Vec<MessageView>);

impl Render for Messages {
    fn table(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.0.iter().enumerate() {
            out.push_str(&format!("--- message {} of {} ---\n", i + 1, self.0.len()));
            out.push_str(&describe(m));
        }
        if self.0.is_empty() {
            out.push_str("no messages\n");
        }
        out
    }
}

impl Render for Sent {
    fn table(&self) -> String {
        fields([
            ("Status", self.status.to_owned()),
            ("Msg ID", self.msg_id.clone()),
            ("Offset Msg ID", self.offset_msg_id.clone()),
            ("Topic", self.topic.clone()),
            ("Broker", self.broker_name.clone()),
            ("Queue ID", self.queue_id.to_string()),
            ("Queue Offset", self.queue_offset.to_string()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_name_value_pairs() {
        assert_eq!(parse_property("a=b=c"), Ok(("a".to_owned(), "b=c".to_owned())));
        assert_eq!(parse_property("k="), Ok(("k".to_owned(), String::new())));
        assert!(parse_property("novalue").is_err());
        assert!(parse_property("=v").is_err());
    }
}

//! Consumes a topic with a push consumer and prints one JSON line per message; stops after
//! `count` messages (or on Ctrl-C), committing offsets on the way out.
//!
//! ```text
//! cargo run -p rmq-client --example consumer -- 127.0.0.1:9876 MyTopic my_group 10
//! cargo run -p rmq-client --example consumer -- 127.0.0.1:9876 MyTopic my_group 10 --trace   # traced
//! ```
//! The group starts from the first stored message the first time it runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rmq_client::{ConsumeFrom, ConsumeStatus, PushConsumer, ReceivedMessage};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(namesrv), Some(topic), Some(group)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: consumer <namesrv host:port> <topic> <group> [count] [--trace]");
        std::process::exit(2);
    };
    let limit: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(usize::MAX);
    let trace = args.iter().any(|a| a == "--trace");

    let seen = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    let (seen2, done2) = (Arc::clone(&seen), Arc::clone(&done));
    let mut builder = PushConsumer::builder()
        .name_server(namesrv)
        .group(group)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset);
    if trace {
        builder = builder.enable_trace();
    }
    let consumer = builder
        .start(move |batch: Vec<ReceivedMessage>| {
            for m in &batch {
                println!("{}", to_json(m));
                if seen2.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
                    done2.notify_one();
                }
            }
            std::future::ready(ConsumeStatus::Success)
        })
        .await?;
    tokio::select! {
        _ = done.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    consumer.shutdown().await;
    Ok(())
}

/// The message as JSON: id, tags, keys, user properties and the body as text.
fn to_json(m: &ReceivedMessage) -> serde_json::Value {
    let user_props: serde_json::Map<String, serde_json::Value> =
        m.user_properties().map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned()))).collect();
    serde_json::json!({
        "msgId": m.msg_id,
        "topic": m.topic,
        "tags": m.tags(),
        "keys": m.keys(),
        "properties": user_props,
        "body": String::from_utf8_lossy(&m.body),
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "reconsumeTimes": m.reconsume_times,
    })
}

//! Answers request messages (sent with `Producer::request`, or Java's `DefaultMQProducer.request`)
//! with `re:<request body>` and prints one JSON line per reply; stops after `count` replies.
//!
//! ```text
//! cargo run -p rmq-client --example replier -- 127.0.0.1:9876 MyTopic my_group 1
//! ```
//! Messages without a `CORRELATION_ID` (not requests) are consumed without an answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rmq_client::{ConsumeFrom, ConsumeStatus, Producer, PushConsumer, ReceivedMessage};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(namesrv), Some(topic), Some(group)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: replier <namesrv host:port> <topic> <group> [count]");
        std::process::exit(2);
    };
    let limit: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(usize::MAX);

    let producer = Producer::builder().name_server(namesrv).group(format!("{group}_replies")).build().await?;
    let replies = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(Notify::new());
    let (p, replies2, done2) = (producer.clone(), Arc::clone(&replies), Arc::clone(&done));
    let consumer = PushConsumer::builder()
        .name_server(namesrv)
        .group(group)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start(move |batch: Vec<ReceivedMessage>| {
            let (p, replies, done) = (p.clone(), Arc::clone(&replies2), Arc::clone(&done2));
            async move {
                for m in batch.iter().filter(|m| m.property("CORRELATION_ID").is_some()) {
                    let body = format!("re:{}", String::from_utf8_lossy(&m.body));
                    match p.reply_to(m, body).await {
                        Ok(sent) => {
                            let line = serde_json::json!({
                                "requestId": m.msg_id,
                                "correlationId": m.property("CORRELATION_ID"),
                                "replyId": sent.msg_id,
                            });
                            println!("{line}");
                            if replies.fetch_add(1, Ordering::SeqCst) + 1 >= limit {
                                done.notify_one();
                            }
                        }
                        Err(e) => {
                            eprintln!("reply to {} failed: {e}", m.msg_id);
                            return ConsumeStatus::ReconsumeLater;
                        }
                    }
                }
                ConsumeStatus::Success
            }
        })
        .await?;
    tokio::select! {
        _ = done.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    Ok(())
}

//! Consumes a topic in order: each queue's messages one at a time, in queue-offset order, while
//! this member holds the queue's lock on the broker. Prints `queue offset body` per message.
//!
//! ```text
//! cargo run -p rmq-client --example orderly_consumer -- 127.0.0.1:9876 MyOrderedTopic my_group
//! ```
//! Pair it with a producer that uses `Producer::send_ordered(msg, key)`, so that all messages of
//! a key share one queue.

use rmq_client::{ConsumeFrom, OrderlyStatus, PushConsumer, ReceivedMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(namesrv), Some(topic), Some(group)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: orderly_consumer <namesrv host:port> <topic> <group>");
        std::process::exit(2);
    };
    let consumer = PushConsumer::builder()
        .name_server(namesrv)
        .group(group)
        .subscribe(topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start_orderly(|batch: Vec<ReceivedMessage>| async move {
            for m in &batch {
                println!("{}:{} {} {}", m.broker_name, m.queue_id, m.queue_offset, String::from_utf8_lossy(&m.body));
            }
            OrderlyStatus::Success
        })
        .await?;
    tokio::signal::ctrl_c().await?;
    consumer.shutdown().await;
    Ok(())
}

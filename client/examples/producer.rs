//! Sends messages and prints one JSON line per send result.
//!
//! ```text
//! cargo run -p rmq-client --example producer -- 127.0.0.1:9876 MyTopic 10
//! cargo run -p rmq-client --example producer -- 127.0.0.1:9876 MyTopic 3 --big   # 8 KiB bodies, compressed
//! cargo run -p rmq-client --example producer -- 127.0.0.1:9876 MyTopic 3 --trace # traced (RMQ_SYS_TRACE_TOPIC)
//! ```
//! Every message gets tag `TagA`, key `key-<i>` and the property `index=<i>`.

use rmq_client::{Message, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(namesrv), Some(topic)) = (args.first(), args.get(1)) else {
        eprintln!("usage: producer <namesrv host:port> <topic> [count] [--big] [--trace]");
        std::process::exit(2);
    };
    let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(10);
    let big = args.iter().any(|a| a == "--big");
    let trace = args.iter().any(|a| a == "--trace");

    let mut builder = Producer::builder().name_server(namesrv).group("example_producer");
    if trace {
        builder = builder.enable_trace();
    }
    let producer = builder.build().await?;
    for i in 0..count {
        let body =
            if big { format!("{i}:").repeat(8192 / 3 + 1).into_bytes() } else { format!("hello {i}").into_bytes() };
        let msg = Message::new(topic, body)
            .with_tags("TagA")
            .with_keys([format!("key-{i}")])
            .with_property("index", i.to_string());
        let sent = producer.send(msg).await?;
        let line = serde_json::json!({
            "msgId": sent.msg_id,
            "broker": sent.queue.broker_name,
            "queueId": sent.queue.queue_id,
            "queueOffset": sent.queue_offset,
            "index": i,
        });
        println!("{line}");
    }
    producer.shutdown().await;
    Ok(())
}

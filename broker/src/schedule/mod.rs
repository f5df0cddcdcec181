//! Time-shifted delivery: delay levels (`SCHEDULE_TOPIC_XXXX`), RocketMQ 5 timer messages
//! (`rmq_sys_wheel_timer`), and moving a due message back to its real topic.

pub mod delay;
pub mod timer;

use rmq_remoting::message::{encode_properties, keys, tags_code, StoredMessage};
use rmq_store::NewMessage;

use crate::runtime::Broker;

/// Re-puts a parked message to the topic and queue in its `REAL_TOPIC`/`REAL_QID`, without the
/// parking properties in `strip`. Half messages are never released this way.
fn redeliver(broker: &Broker, msg: &StoredMessage, strip: &[&str]) -> Result<(), rmq_store::StoreError> {
    let mut props = msg.properties.clone();
    for key in strip {
        props.remove(*key);
    }
    let topic = props.get(keys::REAL_TOPIC).cloned().unwrap_or_default();
    let queue_id = props.get(keys::REAL_QID).and_then(|q| q.parse().ok()).unwrap_or(0);
    if topic.is_empty() || topic == "RMQ_SYS_TRANS_HALF_TOPIC" {
        return Ok(());
    }
    let tags = tags_code(props.get(keys::TAGS).map(String::as_str));
    broker.store.put(NewMessage {
        topic,
        queue_id,
        flag: msg.flag,
        body: msg.body.clone(),
        properties: encode_properties(&props),
        tags_code: tags,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        reconsume_times: msg.reconsume_times,
        prepared_transaction_offset: 0,
    })?;
    Ok(())
}
